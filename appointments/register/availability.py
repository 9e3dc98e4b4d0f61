"""HQ's availability register (`ServiceAvailability`), from the availability reports missions
send (`appointments.services.availability`; docs/sync.md, "Registers")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection

from sync.hq.projection import (
    RegisterRebuild,
    Unprojectable,
    checked_integer,
    checked_moment,
    checked_text,
    envelope_read,
    events_read,
)
from sync.registry import Event, ProjectionBatch

from .models import SERVICE_CODE_LENGTH, ServiceAvailability

NAME = "appointments.availability"
TOPICS = frozenset({"appointments.service.availability_reported"})
RELEASE_MODES = frozenset({"open", "scheduled", "lottery"})

_UPSERT = """
INSERT INTO appointments_register_serviceavailability AS current
    (mission, service, release_mode, next_bookable_at, next_release_at, lottery_closes_at,
     free_places_30d, reported_at, last_seq)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (mission, service) DO UPDATE SET
    release_mode = EXCLUDED.release_mode, next_bookable_at = EXCLUDED.next_bookable_at,
    next_release_at = EXCLUDED.next_release_at, lottery_closes_at = EXCLUDED.lottery_closes_at,
    free_places_30d = EXCLUDED.free_places_30d, reported_at = EXCLUDED.reported_at,
    last_seq = EXCLUDED.last_seq
WHERE current.last_seq < EXCLUDED.last_seq
"""


def _moment_or_none(payload: dict[str, Any], name: str) -> dt.datetime | None:
    value = payload.get(name)
    return None if value is None else checked_moment(value, name)


def _read(event: Event) -> tuple[Any, ...]:
    seq, _, payload = envelope_read(event, versions=frozenset({1}))
    mode = checked_text(payload, "release_mode", 20)
    if mode not in RELEASE_MODES:
        raise Unprojectable(f"release_mode {mode!r} is not one HQ knows")
    return (
        checked_text(payload, "service", SERVICE_CODE_LENGTH),
        mode,
        _moment_or_none(payload, "next_bookable"),
        _moment_or_none(payload, "next_release"),
        _moment_or_none(payload, "lottery_closes"),
        checked_integer(payload.get("free_places_30d"), "free_places_30d", 0, 10**9),
        checked_moment(event.get("occurred_at"), "occurred_at"),
        seq,
    )


def availability_project(batch: ProjectionBatch) -> None:
    """The latest report per service wins (by seq): a late or repeated one changes nothing."""
    latest: dict[str, tuple[Any, ...]] = {}
    for row in events_read(batch, _read, projector=NAME):
        if row[0] not in latest or latest[row[0]][-1] < row[-1]:
            latest[row[0]] = row
    if latest:
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT, [(batch.mission, *row) for row in latest.values()])


availability_rebuild = RegisterRebuild(
    projector=NAME, topics=TOPICS, tables=(ServiceAvailability,), project=availability_project
)
