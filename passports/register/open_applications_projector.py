"""HQ's register of the passport applications open at every mission (`OpenApplication`), from
the missions' events (docs/events.md). Registered with sync by
`passports.apps.PassportsConfig.ready`.

- `passports.application.submitted` (v1) opens a case: `reference`, `submitted_at` and
  `holder_index`, the person's national ID's blind index under HQ's key (an event recorded
  before the field existed has none: the case is kept with an empty index, which matches no
  one, so "unknown" never reads as "the same person").
- `passports.application.withdrawn` (v1, `was_draft` false), `.refused` and `.collected`
  (v1) close it. A draft discarded (`was_draft` true) never opened one.

One row per (mission, application id); the opening and the closing write different columns
(`INSERT … ON CONFLICT DO UPDATE` of their own), so either may come first, a replay writes the
same values again, and any order or split into batches ends in the same rows: two statements
a batch. An event that breaks its contract is skipped with the reason (`sync.hq.projection`).
"""

from __future__ import annotations

import re
from typing import Any

from passports.events import PassportTopic
from sync.hq.projection import (
    RegisterRebuild,
    Unprojectable,
    checked_moment,
    envelope_read,
    events_read,
)
from sync.registry import Event, ProjectionBatch

from .models import OpenApplication

NAME = "passports.open_applications"
OPENING = str(PassportTopic.APPLICATION_SUBMITTED)
CLOSING = frozenset(
    str(topic)
    for topic in (
        PassportTopic.APPLICATION_WITHDRAWN,
        PassportTopic.APPLICATION_REFUSED,
        PassportTopic.APPLICATION_COLLECTED,
    )
)
TOPICS = frozenset({OPENING, *CLOSING})
VERSIONS = frozenset({1})
REFERENCE = re.compile(r"P[A-Z0-9]{9}")
INDEX = re.compile(r"[0-9a-f]{64}")


def _reference(payload: dict[str, Any]) -> str:
    reference = payload.get("reference")
    if not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
        raise Unprojectable("reference is not a passport application's")
    return reference


def _read(event: Event, mission: str) -> OpenApplication | None:
    seq, application_id, payload = envelope_read(event, versions=VERSIONS)
    reference = _reference(payload)
    if event.get("topic") != OPENING:
        if payload.get("was_draft") is True:
            return None  # a draft discarded: nothing was open
        return OpenApplication(
            mission=mission, application_id=application_id, reference=reference, closed_seq=seq
        )
    holder = payload.get("holder_index")
    if holder is not None and (not isinstance(holder, str) or not INDEX.fullmatch(holder)):
        raise Unprojectable("holder_index is not 64 lowercase hexadecimal digits")
    return OpenApplication(
        mission=mission,
        application_id=application_id,
        reference=reference,
        holder_index=holder or "",
        opened_seq=seq,
        submitted_at=checked_moment(payload.get("submitted_at"), "submitted_at"),
    )


def open_applications_project(batch: ProjectionBatch) -> None:
    rows = [
        row
        for row in events_read(batch, lambda event: _read(event, batch.mission), projector=NAME)
        if row is not None
    ]
    # one row per application in each statement (ON CONFLICT DO UPDATE may touch a row once);
    # a case opens once and closes once, so a second one in a batch is a replay
    opened = {row.application_id: row for row in rows if row.opened_seq is not None}
    closed = {row.application_id: row for row in rows if row.closed_seq is not None}
    if opened:
        OpenApplication.objects.bulk_create(
            opened.values(),
            update_conflicts=True,
            unique_fields=["mission", "application_id"],
            update_fields=["reference", "holder_index", "opened_seq", "submitted_at"],
        )
    if closed:
        OpenApplication.objects.bulk_create(
            closed.values(),
            update_conflicts=True,
            unique_fields=["mission", "application_id"],
            update_fields=["closed_seq"],
        )


open_applications_rebuild = RegisterRebuild(
    projector=NAME,
    topics=TOPICS,
    tables=(OpenApplication,),
    project=open_applications_project,
)
