"""Puts the visas the missions issue into HQ's register of issued travel documents
(`passports.register.seals.IssuedTravelDocument`, kind "visa"), from `visas.application.issued`,
`visas.visa.annulled` and `visas.visa.revoked` (docs/events.md, "visas"), so that HQ's verifier
answers REVOKED for a visa its mission annulled or revoked, EXPIRED after its last day, and
knows a typed visa number. The register's rules are the ETDs' (`passports.register.etd_projector.
issued_register_apply`): the first issue of a number is its row, an annulment or revocation
applies to its own mission's visa, the first one stays, replays change nothing.

Payloads, version 1 (the fields read here; the events carry more):

    visas.application.issued   {"visa_number_index": 64 hex, "valid_until": "YYYY-MM-DD",
                                "issued_on": "YYYY-MM-DD" (else the date of "decided_at", else
                                of the event), "signer_serial": capital hex or ""}
    visas.visa.annulled        {"visa_number_index", "grounds": [codes]}
    visas.visa.revoked         {"visa_number_index", "grounds": [codes]}

A visa's number travels only as its blind index under HQ's key (purpose `travel_document`, the
register's own), never in clear. `register()` adds the projector to sync's registry; the visas
app's `ready()` calls it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo

from missions.selectors import mission_by_code
from passports.register.etd_projector import (
    IssuedRow,
    RevokedRow,
    issued_register_apply,
    issued_rows_of,
)
from passports.register.seals import TravelDocumentKind
from sync.hq.projection import (
    RegisterRebuild,
    Unprojectable,
    checked_date,
    checked_moment,
    envelope_read,
    events_read,
)
from sync.registry import Event, ProjectionBatch, projector_register
from visas.events import VisaTopic

NAME = "visas.issued_documents"
TOPICS = frozenset(
    {str(VisaTopic.APPLICATION_ISSUED), str(VisaTopic.VISA_ANNULLED), str(VisaTopic.VISA_REVOKED)}
)
VERSIONS = frozenset({1})
INDEX = re.compile(r"[0-9a-f]{64}")
SERIAL = re.compile(r"([1-9A-F][0-9A-F]{0,39})?")  # "": issued while the mission had no key
REASON_MAX_LENGTH = 300
# A multiple-entry visa is valid five years at most; a little room for the calendar.
MAX_VALIDITY = dt.timedelta(days=5 * 366 + 31)
UTC = zoneinfo.ZoneInfo("UTC")
_ENDINGS = {str(VisaTopic.VISA_ANNULLED): "annulled", str(VisaTopic.VISA_REVOKED): "revoked"}


def _index_read(payload: dict[str, object]) -> str:
    index = payload.get("visa_number_index")
    if not isinstance(index, str) or not INDEX.fullmatch(index):
        raise Unprojectable("visa_number_index is not a blind index (64 lower-case hex)")
    return index


def _issued_on(
    payload: dict[str, object], occurred_at: dt.datetime, zone: zoneinfo.ZoneInfo
) -> dt.date:
    """The mission's local date of issue: the payload's, else that of the decision's time (or
    the event's) in the mission's zone."""
    if payload.get("issued_on") is not None:
        return checked_date(payload.get("issued_on"), "issued_on")
    if payload.get("decided_at") is not None:
        return checked_moment(payload.get("decided_at"), "decided_at").astimezone(zone).date()
    return occurred_at.astimezone(zone).date()


def event_read(event: Event, *, zone: zoneinfo.ZoneInfo = UTC) -> IssuedRow | RevokedRow:
    """The event's issue or ending, or `Unprojectable` when it breaks its contract; `zone`
    is the mission's."""
    seq, _aggregate_id, payload = envelope_read(event, versions=VERSIONS)
    index = _index_read(payload)
    occurred_at = checked_moment(event.get("occurred_at"), "occurred_at")
    ending = _ENDINGS.get(str(event.get("topic")))
    if ending is not None:
        # an ended visa counts whatever its grounds look like: it must never read VALID at HQ
        raw = payload.get("grounds")
        grounds = [g for g in raw if isinstance(g, str)] if isinstance(raw, list) else []
        reason = f"{ending}: {', '.join(grounds)}".replace("\x00", "")[:REASON_MAX_LENGTH]
        return RevokedRow(index=index, seq=seq, revoked_at=occurred_at, reason=reason)
    valid_until = checked_date(payload.get("valid_until"), "valid_until")
    issued_on = _issued_on(payload, occurred_at, zone)
    if not issued_on <= valid_until <= issued_on + MAX_VALIDITY:
        raise Unprojectable("valid_until is not within five years after issued_on")
    serial = payload.get("signer_serial") or ""
    if not isinstance(serial, str) or not SERIAL.fullmatch(serial):
        raise Unprojectable("signer_serial is not a certificate serial number in capital hex")
    return IssuedRow(
        index=index, seq=seq, signer_serial=serial, issued_on=issued_on, issued_at=occurred_at,
        valid_until=valid_until,
    )  # fmt: skip


def issued_visas_project(batch: ProjectionBatch) -> None:
    """Apply one batch of a mission's visa events to the register (see the module's doc)."""
    mission = mission_by_code(code=batch.mission)
    zone = mission.zone if mission is not None else UTC
    issued_register_apply(
        projector=NAME,
        mission=batch.mission,
        kind=TravelDocumentKind.VISA,
        rows=events_read(batch, functools.partial(event_read, zone=zone), projector=NAME),
        issued_topic=VisaTopic.APPLICATION_ISSUED,
        revoked_topic=VisaTopic.VISA_REVOKED,
    )


issued_visas_rebuild = RegisterRebuild(
    projector=NAME,
    topics=TOPICS,
    tables=(issued_rows_of(TravelDocumentKind.VISA),),  # the ETDs' rows are the ETDs' own
    project=issued_visas_project,
)


def register() -> None:
    """Add the projector to sync's registry (the visas app's `ready()`)."""
    projector_register(
        name=NAME, topics=TOPICS, apply=issued_visas_project, rebuild=issued_visas_rebuild
    )
