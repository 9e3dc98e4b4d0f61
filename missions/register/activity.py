"""HQ's staff activity register (`StaffActivityDay`): which of a mission's staff acted there on
a day, from the events of topics only staff perform, each app naming its own in its
`AppConfig.ready()` with one call, which builds the projector (`activity_projector`) and
registers it (`sync.registry.projector_register`):

    activity_register(name="fees.activity", topics=[...], accepts=...)

An event counts when it has an `actor_id` (a user's id: the platform acting on its own records
none) and, if the app gives `accepts`, when `accepts(event)` says so (a card payment confirmed
by a provider's webhook has no actor; one taken at the counter has). The day is the event's
`occurred_at` in the mission's time zone. A row per (mission, day, actor), inserted once
(ON CONFLICT DO NOTHING), so order and replays change nothing. An event whose actor or time is
not what the contract says is recorded as skipped.

The apps share one table, so a rebuild builds the mission's whole activity again from every
activity projector registered (running it once per projector, as `registers_rebuild` does,
gives the same rows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import NamedTuple

from django.db import connection, transaction

from sync.export import EVENT_FIELDS, event_wire
from sync.hq.models import CentralEvent, MissionLink, SkippedEvent
from sync.hq.projection import MAX_SEQ, Unprojectable, array_literal, checked_moment, events_read
from sync.registry import Event, ProjectionBatch, projector_register

from .models import StaffActivityDay
from .projection import mission_zone

MAX_ACTOR_ID = 2**63 - 1


# the payload versions of the sources' topics this register reads (docs/events.md); a topic
# whose payload changes meaning gets a new version, skipped here until the register reads it
VERSIONS = frozenset({1})


class ActivitySource(NamedTuple):
    name: str
    topics: frozenset[str]
    accepts: Callable[[Event], bool] | None


class ActivityProjector(NamedTuple):
    apply: Callable[[ProjectionBatch], None]
    rebuild: Callable[..., int]
    topics: frozenset[str]


_sources: dict[str, ActivitySource] = {}


def _read(source: ActivitySource) -> Callable[[Event], tuple[int, dt.datetime] | None]:
    def read(event: Event) -> tuple[int, dt.datetime] | None:
        seq = event.get("seq")
        if type(seq) is not int or not 0 < seq <= MAX_SEQ:
            raise Unprojectable("seq is not a positive integer")
        version = event.get("version", 1)
        if type(version) is not int or version not in VERSIONS:  # True == 1 in Python
            raise Unprojectable(f"version {version!r} is not one this register reads")
        actor = event.get("actor_id")
        if actor is None:
            return None  # the platform acted, no person: not staff activity
        if type(actor) is not int or not 0 < actor <= MAX_ACTOR_ID:
            raise Unprojectable("actor_id is not a user's id")
        at = checked_moment(event.get("occurred_at"), "occurred_at")
        if source.accepts is not None and not source.accepts(event):
            return None
        return actor, at

    return read


def _project(source: ActivitySource, batch: ProjectionBatch) -> None:
    acted = [a for a in events_read(batch, _read(source), projector=source.name) if a]
    if not acted:
        return
    zone = mission_zone(batch.mission)
    rows = sorted({(at.astimezone(zone).date(), actor) for actor, at in acted})
    table = StaffActivityDay._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (mission, day, actor_id)"  # noqa: S608 (names are ours)
            " SELECT %s, * FROM unnest(%s::date[], %s::bigint[]) ON CONFLICT DO NOTHING",
            [
                batch.mission,
                array_literal([day for day, _ in rows]),
                array_literal([a for _, a in rows]),
            ],
        )


def activity_rebuild(*, mission: str, batch_size: int = 10_000) -> int:
    """Build a mission's staff activity again from HQ's central event log, from every activity
    projector registered; one transaction; returns the events read."""
    sources = list(_sources.values())
    topics = frozenset().union(*(s.topics for s in sources)) if sources else frozenset()
    with transaction.atomic():
        MissionLink.objects.select_for_update().filter(mission=mission).first()
        StaffActivityDay.objects.filter(mission=mission).delete()
        SkippedEvent.objects.filter(projector__in=list(_sources), mission=mission).delete()
        last, count = 0, 0
        while True:
            rows = list(
                CentralEvent.objects.filter(mission=mission, seq__gt=last, topic__in=topics)
                .order_by("seq")
                .only(*EVENT_FIELDS)[:batch_size]
            )
            if not rows:
                return count
            events = [event_wire(row) for row in rows]
            for source in sources:
                mine = [e for e in events if e["topic"] in source.topics]
                if mine:
                    _project(source, ProjectionBatch(mission=mission, events=mine))
            last, count = rows[-1].seq, count + len(rows)


def activity_projector(
    *,
    name: str,
    topics: Iterable[str],
    accepts: Callable[[Event], bool] | None = None,
) -> ActivityProjector:
    """The projector counting the staff who act through `topics` (see the module's doc)."""
    source = ActivitySource(name=name, topics=frozenset(str(t) for t in topics), accepts=accepts)
    _sources[name] = source

    def apply(batch: ProjectionBatch) -> None:
        _project(source, batch)

    return ActivityProjector(apply=apply, rebuild=activity_rebuild, topics=source.topics)


def activity_register(
    *,
    name: str,
    topics: Iterable[str],
    accepts: Callable[[Event], bool] | None = None,
) -> ActivityProjector:
    """An app's staff activity projector (`activity_projector`), registered with sync."""
    activity = activity_projector(name=name, topics=topics, accepts=accepts)
    projector_register(
        name=name, topics=activity.topics, apply=activity.apply, rebuild=activity.rebuild
    )
    return activity
