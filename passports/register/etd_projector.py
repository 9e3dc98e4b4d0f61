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
from typing import cast

from django.db import connection, models
from django.db.models import QuerySet
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
    rows: list[IssuedRow | RevokedRow] = [
        IssuedRow(
            index=document_index_of(item.number), seq=item.seq, signer_serial=item.signer_serial,
            issued_on=item.issued_on, issued_at=item.issued_at, valid_until=item.valid_until,
        )
        if isinstance(item, Issue)
        else RevokedRow(
            index=document_index_of(item.number), seq=item.seq, revoked_at=item.revoked_at,
            reason=item.reason,
        )
        for item in read
    ]  # fmt: skip
    issued_register_apply(
        projector=NAME,
        mission=batch.mission,
        kind=TravelDocumentKind.ETD,
        rows=rows,
        issued_topic=PassportTopic.ETD_ISSUED,
        revoked_topic=PassportTopic.ETD_REVOKED,
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class IssuedRow:
    """A document's issue as the register keeps it, whatever its kind."""

    index: str  # the number's blind index (`document_index_of`)
    seq: int
    signer_serial: str
    issued_on: dt.date
    issued_at: dt.datetime
    valid_until: dt.date


@dataclasses.dataclass(frozen=True, kw_only=True)
class RevokedRow:
    """A document's revocation (or a visa's annulment) as the register keeps it."""

    index: str
    seq: int
    revoked_at: dt.datetime
    reason: str


def issued_register_apply(
    *,
    projector: str,
    mission: str,
    kind: str,
    rows: list[IssuedRow | RevokedRow],
    issued_topic: str,
    revoked_topic: str,
) -> None:
    """Write one batch of a mission's issues and revocations (in seq order) of documents of
    `kind` into the register, by the rules of the module's doc: the first issue of a number is
    its row, a revocation applies to its own mission's earlier issue, the earliest revocation
    stays; what does not take is recorded as skipped by `projector`. At most five statements.
    One way for every kind: ETDs here, visas in `visas/register/issued_projector.py`."""
    issues: dict[str, IssuedRow] = {}
    revocations: dict[str, RevokedRow] = {}
    skipped: list[tuple[int, str, str]] = []  # seq, topic, reason
    for item in rows:  # in seq order: the first of each number wins
        if isinstance(item, IssuedRow):
            if item.index in issues:
                skipped.append((item.seq, issued_topic, "the number was issued before"))
            else:
                issues[item.index] = item
        elif item.index not in revocations:
            revocations[item.index] = item
    indexes = sorted({*issues, *revocations})
    if not indexes:
        _skipped_record(mission, skipped, projector=projector)
        return
    with connection.cursor() as cursor:
        if issues:
            issued = [issues[index] for index in sorted(issues)]
            cursor.execute(
                _INSERT,
                [
                    kind,
                    mission,
                    array_literal([row.index for row in issued]),
                    array_literal([row.seq for row in issued]),
                    array_literal([row.signer_serial for row in issued]),
                    array_literal([row.issued_on for row in issued]),
                    array_literal([row.issued_at for row in issued]),
                    array_literal([row.valid_until for row in issued]),
                ],
            )
        if revocations:
            revoked = [revocations[index] for index in sorted(revocations)]
            cursor.execute(
                _REVOKE,
                [
                    array_literal([row.index for row in revoked]),
                    array_literal([row.seq for row in revoked]),
                    array_literal([row.revoked_at for row in revoked]),
                    array_literal([row.reason for row in revoked]),
                    mission,
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
    for index, issue in issues.items():
        if held.get(index) != (mission, issue.seq):
            skipped.append((issue.seq, issued_topic, "the number is in the register"
                            " already, from another issue"))  # fmt: skip
    for index, revocation in revocations.items():
        source = held.get(index)
        if source is None or source[0] != mission or source[1] >= revocation.seq:
            skipped.append((revocation.seq, revoked_topic, "the mission issued no"
                            " document with this number before"))  # fmt: skip
    _skipped_record(mission, skipped, projector=projector)


def _skipped_record(
    mission: str, skipped: list[tuple[int, str, str]], *, projector: str = NAME
) -> None:
    if not skipped:
        return
    now = timezone.now()
    SkippedEvent.objects.bulk_create(
        [
            SkippedEvent(
                mission=mission, seq=seq, topic=str(topic), projector=projector, reason=reason,
                skipped_at=now,
            )
            for seq, topic, reason in skipped
        ],
        ignore_conflicts=True,
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class _KindRows:
    kind: str

    def filter(self, **lookups: object) -> QuerySet[IssuedTravelDocument]:
        return IssuedTravelDocument.objects.filter(kind=self.kind, **lookups)


def issued_rows_of(kind: str) -> type[models.Model]:
    """The register's rows of one kind, as a `RegisterRebuild` table: the ETDs' and the visas'
    projectors share the register, and each rebuild empties only its own kind's rows (the
    rebuild reads `table._default_manager.filter(mission=...)`)."""
    table = type(f"IssuedTravelDocument_{kind}", (), {"_default_manager": _KindRows(kind)})
    return cast(type[models.Model], table)


issued_documents_rebuild = RegisterRebuild(
    projector=NAME,
    topics=TOPICS,
    tables=(issued_rows_of(TravelDocumentKind.ETD),),
    project=issued_documents_project,
)
