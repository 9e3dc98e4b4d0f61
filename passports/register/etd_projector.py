"""Builds HQ's register of issued travel documents (`IssuedTravelDocument`) from the missions'
`passports.etd.issued` and `passports.etd.revoked` events (docs/events.md), so that HQ's
verifier answers REVOKED for an emergency travel document its mission revoked. Registered with
sync by `passports.apps.PassportsConfig.ready`.

Payloads, version 1:

    passports.etd.issued   {"number", "valid_until": "YYYY-MM-DD", "issued_on": "YYYY-MM-DD",
                            "signer_serial": upper-case hex}
    passports.etd.revoked  {"number", "reason"}

The number is kept only as its blind index under HQ's key (purpose `travel_document`, as the
lost and stolen register): a typed number or a seal's MRZ finds its row, a dump of the table
shows no number.

One row per document. The first issue of a number is the row: an issue event applied twice,
or after a rebuild, changes nothing, and a second issue of a number already in the register
(another mission's, or a second event of one mission) is skipped with its reason: numbers come
from HQ's blocks, so two issues of one are a fault to look at, not a document to overwrite. A
revocation applies to its own mission's document only; the earliest (by seq) is kept, so a
replay changes nothing. A revocation of a number the mission never issued is skipped with its
reason. Events come in seq order per mission (HQ holds a gap), so a document's issue is
projected before its revocation. A batch costs at most five statements whatever its length.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from django.db import connection
from django.utils import timezone

from consulate.kernel.crypto.blind_index import blind_index
from passports.events import PassportTopic
from sync.hq.models import SkippedEvent
from sync.hq.projection import (
    RegisterRebuild,
    Unprojectable,
    array_literal,
    checked_date,
    checked_moment,
    envelope_read,
    events_read,
)
from sync.registry import Event, ProjectionBatch

from .seals import IssuedTravelDocument, TravelDocumentKind

NAME = "passports.issued_documents"
TOPICS = frozenset({str(PassportTopic.ETD_ISSUED), str(PassportTopic.ETD_REVOKED)})
VERSIONS = frozenset({1})
NUMBER = re.compile(r"[A-Z0-9]{1,9}")  # an MRZ's document number field, without fillers
SERIAL = re.compile(r"[1-9A-F][0-9A-F]{0,39}")
REASON_MAX_LENGTH = 300
# An ETD is for one journey home: valid for weeks, a year at the very most.
MAX_VALIDITY = dt.timedelta(days=366)

_INSERT = """
INSERT INTO passports_register_issuedtraveldocument
    (document_index, kind, mission, seq, signer_serial, issued_on, issued_at, valid_until,
     revocation_reason)
SELECT r.document_index, %s, %s, r.seq, r.signer_serial, r.issued_on, r.issued_at,
       r.valid_until, ''
FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::date[], %s::timestamptz[], %s::date[])
    AS r(document_index, seq, signer_serial, issued_on, issued_at, valid_until)
ORDER BY r.document_index
ON CONFLICT DO NOTHING
"""

_REVOKE = """
UPDATE passports_register_issuedtraveldocument AS d
SET revoked_at = r.revoked_at, revoked_seq = r.seq, revocation_reason = r.reason
FROM unnest(%s::text[], %s::bigint[], %s::timestamptz[], %s::text[])
    AS r(document_index, seq, revoked_at, reason)
WHERE d.document_index = r.document_index AND d.mission = %s AND d.seq < r.seq
    AND (d.revoked_seq IS NULL OR d.revoked_seq > r.seq)
"""


def document_index_of(number: str) -> str:
    """A document number's blind index as this register keeps it."""
    return blind_index(number, schema_name="public", purpose="travel_document")


@dataclasses.dataclass(frozen=True)
class Issue:
    seq: int
    number: str
    valid_until: dt.date
    issued_on: dt.date
    issued_at: dt.datetime
    signer_serial: str


@dataclasses.dataclass(frozen=True)
class Revocation:
    seq: int
    number: str
    reason: str
    revoked_at: dt.datetime


def _number_read(payload: dict[str, object]) -> str:
    number = payload.get("number")
    if not isinstance(number, str) or not NUMBER.fullmatch(number):
        raise Unprojectable("number is not 1 to 9 capital letters and digits")
    return number


def _occurred_at(event: Event) -> dt.datetime:
    return checked_moment(event.get("occurred_at"), "occurred_at")


def event_read(event: Event) -> Issue | Revocation:
    """The event's issue or revocation, or `Unprojectable` when it breaks its contract."""
    seq, _aggregate_id, payload = envelope_read(event, versions=VERSIONS)
    number = _number_read(payload)
    if event.get("topic") == PassportTopic.ETD_REVOKED:
        # A revocation counts whatever its reason looks like: a document revoked at its mission
        # must never read VALID at HQ because the words did not fit. The reason is kept cut to
        # the register's length, "" when it is no text at all.
        raw = payload.get("reason")
        reason = raw.replace("\x00", "")[:REASON_MAX_LENGTH] if isinstance(raw, str) else ""
        return Revocation(seq=seq, number=number, reason=reason, revoked_at=_occurred_at(event))
    valid_until = checked_date(payload.get("valid_until"), "valid_until")
    issued_on = checked_date(payload.get("issued_on"), "issued_on")
    if not issued_on <= valid_until <= issued_on + MAX_VALIDITY:
        raise Unprojectable("valid_until is not within a year after issued_on")
    serial = payload.get("signer_serial")
    if not isinstance(serial, str) or not SERIAL.fullmatch(serial):
        raise Unprojectable("signer_serial is not a certificate serial number in capital hex")
    return Issue(
        seq=seq,
        number=number,
        valid_until=valid_until,
        issued_on=issued_on,
        issued_at=_occurred_at(event),
        signer_serial=serial,
    )


def issued_documents_project(batch: ProjectionBatch) -> None:
    """Apply one batch of a mission's ETD events to the register (see the module's doc)."""
    read = events_read(batch, event_read, projector=NAME)
    issues: dict[str, tuple[str, Issue]] = {}
    revocations: dict[str, tuple[str, Revocation]] = {}
    skipped: list[tuple[int, str, str]] = []  # seq, topic, reason
    for item in read:  # in seq order: the first of each number wins
        index = document_index_of(item.number)
        if isinstance(item, Issue):
            if index in issues:
                skipped.append((item.seq, PassportTopic.ETD_ISSUED, "the number was issued before"))
            else:
                issues[index] = (index, item)
        elif index not in revocations:
            revocations[index] = (index, item)
    indexes = sorted({*issues, *revocations})
    if not indexes:
        _skipped_record(batch.mission, skipped)
        return
    with connection.cursor() as cursor:
        if issues:
            rows = [issues[index] for index in sorted(issues)]
            cursor.execute(
                _INSERT,
                [
                    TravelDocumentKind.ETD,
                    batch.mission,
                    array_literal([index for index, _issue in rows]),
                    array_literal([issue.seq for _index, issue in rows]),
                    array_literal([issue.signer_serial for _index, issue in rows]),
                    array_literal([issue.issued_on for _index, issue in rows]),
                    array_literal([issue.issued_at for _index, issue in rows]),
                    array_literal([issue.valid_until for _index, issue in rows]),
                ],
            )
        if revocations:
            rows_r = [revocations[index] for index in sorted(revocations)]
            cursor.execute(
                _REVOKE,
                [
                    array_literal([index for index, _r in rows_r]),
                    array_literal([r.seq for _index, r in rows_r]),
                    array_literal([r.revoked_at for _index, r in rows_r]),
                    array_literal([r.reason for _index, r in rows_r]),
                    batch.mission,
                ],
            )
    # what the register holds now says which events took: an issue whose row is another
    # event's, a revocation of a document this mission did not issue before it
    held = {
        row[0]: row[1:]
        for row in IssuedTravelDocument.objects.filter(document_index__in=indexes).values_list(
            "document_index", "mission", "seq"
        )
    }
    for index, issue in issues.values():
        if held.get(index) != (batch.mission, issue.seq):
            skipped.append((issue.seq, PassportTopic.ETD_ISSUED, "the number is in the register"
                            " already, from another issue"))  # fmt: skip
    for index, revocation in revocations.values():
        source = held.get(index)
        if source is None or source[0] != batch.mission or source[1] >= revocation.seq:
            skipped.append((revocation.seq, PassportTopic.ETD_REVOKED, "the mission issued no"
                            " document with this number before"))  # fmt: skip
    _skipped_record(batch.mission, skipped)


def _skipped_record(mission: str, skipped: list[tuple[int, str, str]]) -> None:
    if not skipped:
        return
    now = timezone.now()
    SkippedEvent.objects.bulk_create(
        [
            SkippedEvent(
                mission=mission, seq=seq, topic=str(topic), projector=NAME, reason=reason,
                skipped_at=now,
            )
            for seq, topic, reason in skipped
        ],
        ignore_conflicts=True,
    )  # fmt: skip


issued_documents_rebuild = RegisterRebuild(
    projector=NAME,
    topics=TOPICS,
    tables=(IssuedTravelDocument,),
    project=issued_documents_project,
)
