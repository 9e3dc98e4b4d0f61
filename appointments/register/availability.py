"""HQ's availability register (`ServiceAvailability`), from the availability reports missions
send (`appointments.services.availability`; docs/sync.md, "Registers")."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection

from sync.hq.projection import (
    RegisterRebuild,
    Unprojectable,
    array_literal,
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
     free_places_30d, names, offered, reported_at, last_seq)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)
ON CONFLICT (mission, service) DO UPDATE SET
    release_mode = EXCLUDED.release_mode, next_bookable_at = EXCLUDED.next_bookable_at,
    next_release_at = EXCLUDED.next_release_at, lottery_closes_at = EXCLUDED.lottery_closes_at,
    free_places_30d = EXCLUDED.free_places_30d, names = EXCLUDED.names,
    offered = EXCLUDED.offered,
    reported_at = EXCLUDED.reported_at, last_seq = EXCLUDED.last_seq
WHERE current.last_seq < EXCLUDED.last_seq
"""
# The latest time a report had free places: the greatest wins, so it is the same whatever the
# order (a late report of free places moves it only if it is later than what is known).
_FREE_SEEN = """
UPDATE appointments_register_serviceavailability AS current
SET free_reported_at = seen.at
FROM unnest(%s::text[], %s::timestamptz[]) AS seen(service, at)
WHERE current.mission = %s AND current.service = seen.service
  AND (current.free_reported_at IS NULL OR current.free_reported_at < seen.at)
"""
MAX_LANGUAGES = 20
MAX_NAME_LENGTH = 200


def _moment_or_none(payload: dict[str, Any], name: str) -> dt.datetime | None:
    value = payload.get(name)
    return None if value is None else checked_moment(value, name)


def _names_read(payload: dict[str, Any]) -> str:
    """`names` as JSON text: {language code: name}; missing (an older event) reads as {}."""
    names = payload.get("names", {})
    if names is None:
        names = {}
    if not isinstance(names, dict) or len(names) > MAX_LANGUAGES:
        raise Unprojectable("names is not an object of names by language")
    for language, name in names.items():
        if not 0 < len(language) <= 10 or "\x00" in language:
            raise Unprojectable("names has a key that is not a language code")
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH or "\x00" in name:
            raise Unprojectable(f"names has no text of at most {MAX_NAME_LENGTH} characters")
    return json.dumps(names, ensure_ascii=False, sort_keys=True)


def _offered_read(payload: dict[str, Any]) -> bool:
    """`offered`: false when the mission no longer offers the service; missing (an older
    event) reads as true."""
    offered = payload.get("offered", True)
    if type(offered) is not bool:
        raise Unprojectable("offered is not true or false")
    return offered


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
        _names_read(payload),
        _offered_read(payload),
        checked_moment(event.get("occurred_at"), "occurred_at"),
        seq,
    )


def availability_project(batch: ProjectionBatch) -> None:
    """The latest report per service wins (by seq): a late or repeated one changes nothing.
    Two statements whatever the batch: the upsert of the latest reports, and the time each
    service last had free places (`free_reported_at`), the greatest known."""
    latest: dict[str, tuple[Any, ...]] = {}
    free_seen: dict[str, dt.datetime] = {}
    for row in events_read(batch, _read, projector=NAME):
        service, free, reported_at = row[0], row[5], row[8]
        if service not in latest or latest[service][-1] < row[-1]:
            latest[service] = row
        if free > 0 and (service not in free_seen or free_seen[service] < reported_at):
            free_seen[service] = reported_at
    if latest:
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT, [(batch.mission, *row) for row in latest.values()])
            if free_seen:
                services = sorted(free_seen)
                cursor.execute(
                    _FREE_SEEN,
                    [
                        array_literal(services),
                        array_literal([free_seen[s] for s in services]),
                        batch.mission,
                    ],
                )


availability_rebuild = RegisterRebuild(
    projector=NAME, topics=TOPICS, tables=(ServiceAvailability,), project=availability_project
)
