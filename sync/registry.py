"""Where apps plug into sync; sync imports no app (DESIGN.md, "Sync between missions and HQ").

- Projectors (HQ): an app registers, in its `AppConfig.ready()`, a function that builds its HQ
  registers from the events of its topics. HQ calls it inside the transaction that applies a
  bundle, once per bundle, with only the events applied for the first time (never a
  duplicate), in `seq` order. A projector must be idempotent per event anyway (a register row
  keyed by mission and seq, or an upsert), since reconciliation may hand it a missing event late.
  What projectors share (skipping an event that breaks its contract, the payload checks, the
  array literal, rebuilding from HQ's central log) is in `sync.hq.projection`. A projector may
  give a `rebuild(*, mission) -> int` that builds its registers of one mission again from HQ's
  central event log (`sync.hq.projection.RegisterRebuild`); `registers_rebuild` runs them all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import DatabaseError, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# An event as it travels in a bundle (`sync.bundle`): seq, topic, aggregate_type, aggregate_id,
# payload, version, actor_id, occurred_at ("2026-12-03T07:56:00.123456Z", UTC).
Event = dict[str, Any]


@dataclass(frozen=True)
class ProjectionBatch:
    mission: str  # the mission's code
    events: list[Event]  # of the projector's topics only, in seq order


class Rebuild(Protocol):
    def __call__(self, *, mission: str) -> int: ...


@dataclass(frozen=True)
class Projector:
    name: str
    topics: frozenset[str]
    apply: Callable[[ProjectionBatch], None]
    rebuild: Rebuild | None = None  # builds one mission's registers again; returns events read


_projectors: dict[str, Projector] = {}


def projector_register(
    *,
    name: str,
    topics: Iterable[str],
    apply: Callable[[ProjectionBatch], None],
    rebuild: Rebuild | None = None,
) -> None:
    """Register (or, by the same name, replace) a projector for `topics` (topic values)."""
    _projectors[name] = Projector(
        name=name, topics=frozenset(str(t) for t in topics), apply=apply, rebuild=rebuild
    )


def projectors() -> list[Projector]:
    return sorted(_projectors.values(), key=lambda projector: projector.name)


def events_project(*, mission: str, events: list[Event]) -> None:
    """Hand each projector the events of its topics (HQ's apply calls this). Each projector
    runs in a savepoint: should the database refuse what it writes (a value a check let
    through), its batch is recorded as skipped events (`sync.hq.models.SkippedEvent`, reason
    "the database refused: <class>"), the other projectors and the bundle are applied, and the
    mission's chain goes on; never a server error, never a chain blocked for good. A projector
    that fails in Python instead (a payload shape its reading did not foresee) is treated the
    same way, its traceback logged: the events stay in HQ's central log for a corrected
    projector's rebuild."""
    for projector in projectors():
        mine = [event for event in events if event["topic"] in projector.topics]
        if not mine:
            continue
        try:
            with transaction.atomic():
                projector.apply(ProjectionBatch(mission=mission, events=mine))
        except DatabaseError as error:
            _batch_skip(projector.name, mission, mine, type(error).__name__)
        except Exception as error:  # a projector's bug must not block the mission's chain
            logger.exception("projector %s failed on a batch of %s", projector.name, mission)
            _batch_skip(projector.name, mission, mine, type(error).__name__, by="the projector")


def _batch_skip(
    projector: str, mission: str, events: list[Event], error: str, *, by: str = "the database"
) -> None:
    from sync.hq.models import SkippedEvent  # HQ's table; imported where HQ runs this

    logger.warning("projector %s: %s refused a batch of %s: %s", projector, by, mission, error)
    now = timezone.now()
    SkippedEvent.objects.bulk_create(
        [
            SkippedEvent(
                mission=mission,
                seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else 0,
                topic=str(event.get("topic"))[:100],
                projector=projector[:100],
                reason=f"{by} refused: {error}"[:300],
                skipped_at=now,
            )
            for event in events
            for seq in [event.get("seq")]
        ],
        ignore_conflicts=True,  # once per projector, mission and seq
    )


def registers_rebuild(*, mission: str) -> dict[str, int]:
    """Build every register of one mission again from HQ's central event log (each projector
    that has a `rebuild`, in its own transaction); returns the events read, per projector."""
    return {
        projector.name: projector.rebuild(mission=mission)
        for projector in projectors()
        if projector.rebuild is not None
    }


# - Down sets (HQ to one mission): data HQ writes and a mission keeps a copy of, per mission
#   (the mission's own profile, its staff's accounts, roles and second factors). HQ builds the
#   set for a mission; the answer to a push carries it, signed, when its hash differs from the
#   one the mission reported; the mission applies it to its copy. Unlike reference data (the
#   same for every mission, `sync.reference`), a down set may hold secrets (password hashes,
#   second-factor seeds), so it travels only over HTTPS, never in a file for the bag.


@dataclass(frozen=True)
class DownSet:
    name: str
    build: Callable[[str], dict[str, Any]]  # at HQ: the set's content for a mission's code
    apply: Callable[[str, dict[str, Any]], None]  # at the mission: its code, HQ's content


_down_sets: dict[str, DownSet] = {}


def down_set_register(
    *,
    name: str,
    build: Callable[[str], dict[str, Any]],
    apply: Callable[[str, dict[str, Any]], None],
) -> None:
    _down_sets[name] = DownSet(name=name, build=build, apply=apply)


def down_sets() -> list[DownSet]:
    return sorted(_down_sets.values(), key=lambda down_set: down_set.name)
