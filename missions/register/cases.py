"""HQ's case register, built from the events that open and close each app's cases (docs/sync.md,
"Registers"). Generic: an app names its case types (`CaseType`: a code, a label, a target in
days, the topics that open a case and those that close it with an outcome) and registers, in
its `AppConfig.ready()`, the projector `case_projector` makes, and its types with
`case_type_register` (so monitoring knows each type's label and target):

    projector = case_projector(name="fees.cases", case_types=FEE_CASE_TYPES)
    projector_register(name="fees.cases", topics=projector.topics, apply=projector.apply,
                       rebuild=projector.rebuild)
    for case_type in FEE_CASE_TYPES:
        case_type_register(case_type)

A case is the events' aggregate (its `aggregate_id`). Why the result does not depend on the
order or repetition of events: the opening is taken from the opening event with the lowest seq,
the closing (and its outcome) from the closing event with the highest seq, so a late event
changes nothing its successors already said and an event applied twice finds nothing to change.
The day sums are not incremented per event: each case adds its current state to at most two
`CaseDay` rows (opened on its opening day; closed, with its outcome and its days to decide, on
its closing day), and a batch adds, per row, (state after) - (state before) of every case it
touched. A case closed before HQ has seen its opening counts nowhere until the opening comes.

A batch costs a fixed number of statements whatever its length: the mission's zone, the cases
it names (locked), one upsert, at most two statements each for the day and the month sums, and
one insert of the events it had to skip (`sync.hq.projection.events_read`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils.functional import Promise

from sync.export import EVENT_FIELDS, event_wire
from sync.hq.models import CentralEvent, MissionLink, SkippedEvent
from sync.hq.projection import (
    SumTables,
    array_literal,
    checked_moment,
    envelope_read,
    events_read,
    sums_add,
)
from sync.registry import Event, ProjectionBatch

from .models import CASE_SUMS, CASE_TYPE_LENGTH, CaseDay, CaseMonth, CaseOutcome, RegisteredCase
from .projection import mission_zone

OPEN = "open"  # what an opening topic does, beside the outcomes a closing topic gives


@dataclasses.dataclass(frozen=True)
class CaseType:
    """A kind of case an app keeps: `code` ("fees.waiver"), the `label` people read (plural:
    "Fee waiver requests"), the service-level target in days (a case open longer is overdue),
    the topics whose event opens a case, and the topics whose event closes it, each with the
    outcome it gives ("granted", "refused", "withdrawn")."""

    code: str
    label: str | Promise
    target_days: int
    opened_topics: frozenset[str]
    closed_topics: Mapping[str, str]
    versions: frozenset[int] = frozenset({1})  # the payload versions read (docs/events.md)

    def __post_init__(self) -> None:
        if not 0 < len(self.code) <= CASE_TYPE_LENGTH:
            raise ValueError(f"case type code {self.code!r}")
        if self.target_days <= 0:
            raise ValueError(f"{self.code}: the target is a positive number of days")
        outcomes = {str(o) for o in CaseOutcome if o != CaseOutcome.OPEN}
        if not set(self.closed_topics.values()) <= outcomes:
            raise ValueError(f"{self.code}: an outcome is one of {sorted(outcomes)}")
        if set(self.opened_topics) & set(self.closed_topics):
            raise ValueError(f"{self.code}: a topic both opens and closes a case")


_case_types: dict[str, CaseType] = {}


def case_type_register(case_type: CaseType) -> None:
    """Make a case type known to monitoring (or replace it, by the same code)."""
    _case_types[case_type.code] = case_type


def case_types() -> list[CaseType]:
    """The registered case types, in registration order."""
    return list(_case_types.values())


@dataclasses.dataclass(frozen=True)
class Fact:
    seq: int
    case_type: str
    case_id: str
    does: str  # OPEN or an outcome
    at: dt.datetime  # the event's occurred_at, UTC


@dataclasses.dataclass
class CaseState:
    opened_at: dt.datetime | None = None
    opened_day: dt.date | None = None
    opened_seq: int | None = None
    closed_at: dt.datetime | None = None
    closed_day: dt.date | None = None
    outcome: str = ""
    closed_seq: int = 0
    last_seq: int = 0

    def take(self, fact: Fact, zone: Any) -> None:
        if fact.does == OPEN:
            if self.opened_seq is None or fact.seq < self.opened_seq:
                self.opened_at, self.opened_seq = fact.at, fact.seq
                self.opened_day = fact.at.astimezone(zone).date()
        elif fact.seq > self.closed_seq:
            self.closed_at, self.closed_seq, self.outcome = fact.at, fact.seq, fact.does
            self.closed_day = fact.at.astimezone(zone).date()
        self.last_seq = max(self.last_seq, fact.seq)

    def contribution(self, case_type: str) -> list[tuple[tuple[str, dt.date], list[int]]]:
        """What this case adds to the day sums: nothing before its opening is known."""
        if self.opened_seq is None or self.opened_day is None:
            return []
        parts = [((case_type, self.opened_day), [1, 0, 0, 0, 0, 0])]
        if self.closed_seq and self.closed_day is not None:
            counts = dict.fromkeys(CASE_SUMS, 0)
            counts["closed"] = 1
            counts[self.outcome] = 1
            # a mission's clock may put a closing before its opening: never a negative time
            counts["decision_days"] = max(0, (self.closed_day - self.opened_day).days)
            parts.append(((case_type, self.closed_day), [counts[name] for name in CASE_SUMS]))
        return parts


CASE_FIELDS = (
    "opened_at",
    "opened_day",
    "opened_seq",
    "closed_at",
    "closed_day",
    "outcome",
    "closed_seq",
    "last_seq",
)
CASE_FIELD_TYPES = {
    "opened_at": "timestamptz",
    "opened_day": "date",
    "opened_seq": "bigint",
    "closed_at": "timestamptz",
    "closed_day": "date",
    "outcome": "text",
    "closed_seq": "bigint",
    "last_seq": "bigint",
}

SUM_TABLES = SumTables(
    day=CaseDay,
    month=CaseMonth,
    keys=(("case_type", "text"), ("day", "date")),
    date_column="day",
    sums=tuple((name, "bigint" if name == "decision_days" else "int") for name in CASE_SUMS),
    # a delta is always closed = granted + refused + withdrawn; one taking something away
    # (a case closed again later, or opened earlier than first thought) updates existing rows
    can_insert=lambda delta: min(delta) >= 0,
)


def _states_locked(
    mission: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], CaseState]:
    keys = set(keys)
    rows = (
        RegisteredCase.objects.select_for_update()
        .filter(
            mission=mission,
            case_type__in=sorted({t for t, _ in keys}),
            case_id__in=sorted({i for _, i in keys}),
        )
        .order_by("case_type", "case_id")
        .values_list("case_type", "case_id", *CASE_FIELDS)
    )
    return {(row[0], row[1]): CaseState(*row[2:]) for row in rows if (row[0], row[1]) in keys}


def _cases_write(mission: str, changed: dict[tuple[str, str], CaseState]) -> None:
    if not changed:
        return
    keys = sorted(changed)
    table = RegisteredCase._meta.db_table
    names = ", ".join(CASE_FIELDS)
    arrays = ", ".join(f"%s::{CASE_FIELD_TYPES[name]}[]" for name in CASE_FIELDS)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in CASE_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (mission, case_type, case_id, {names})"  # noqa: S608
            f" SELECT %s, * FROM unnest(%s::text[], %s::text[], {arrays})"
            f" ON CONFLICT (mission, case_type, case_id) DO UPDATE SET {updates}",
            [
                mission,
                array_literal([k[0] for k in keys]),
                array_literal([k[1] for k in keys]),
                *(array_literal([getattr(changed[k], n) for k in keys]) for n in CASE_FIELDS),
            ],
        )


class CaseProjector(NamedTuple):
    """What `sync.registry.projector_register` takes: `apply(batch)`, `rebuild(*, mission)`
    and the `topics` read."""

    apply: Any
    rebuild: Any
    topics: frozenset[str]


def case_projector(*, name: str, case_types: Iterable[CaseType]) -> CaseProjector:
    """The projector of these case types' events, named `name` (its skipped events are
    recorded under it). A topic opens or closes cases of one type only."""
    types = list(case_types)
    does: dict[str, tuple[CaseType, str]] = {}
    for case_type in types:
        for topic in case_type.opened_topics:
            does.setdefault(str(topic), (case_type, OPEN))
        for topic, outcome in case_type.closed_topics.items():
            does.setdefault(str(topic), (case_type, str(outcome)))
    if len(does) != sum(len(t.opened_topics) + len(t.closed_topics) for t in types):
        raise ValueError(f"{name}: a topic belongs to more than one case type")
    codes = [t.code for t in types]
    topics = frozenset(does)

    def read(event: Event) -> Fact:
        case_type, what = does[str(event.get("topic"))]
        seq, case_id, _payload = envelope_read(event, versions=case_type.versions)
        at = checked_moment(event.get("occurred_at"), "occurred_at")
        return Fact(seq=seq, case_type=case_type.code, case_id=case_id, does=what, at=at)

    def apply(batch: ProjectionBatch) -> None:
        facts = events_read(batch, read, projector=name)
        if not facts:
            return
        zone = mission_zone(batch.mission)
        states = _states_locked(batch.mission, {(f.case_type, f.case_id) for f in facts})
        before = {key: dataclasses.replace(state) for key, state in states.items()}
        for fact in sorted(facts, key=lambda fact: fact.seq):
            states.setdefault((fact.case_type, fact.case_id), CaseState()).take(fact, zone)
        changed = {key: state for key, state in states.items() if before.get(key) != state}
        deltas: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0] * len(CASE_SUMS))
        for key, state in changed.items():
            old = before[key].contribution(key[0]) if key in before else []
            for sign, parts in ((-1, old), (1, state.contribution(key[0]))):
                for row, counts in parts:
                    deltas[row] = [a + sign * b for a, b in zip(deltas[row], counts, strict=True)]
        _cases_write(batch.mission, changed)
        sums_add(mission=batch.mission, deltas=deltas, tables=SUM_TABLES)

    def rebuild(*, mission: str, batch_size: int = 10_000) -> int:
        """Build this projector's cases of one mission again from HQ's central event log
        (other apps' case types are left alone); one transaction; returns the events read."""
        with transaction.atomic():
            MissionLink.objects.select_for_update().filter(mission=mission).first()
            for table in (RegisteredCase, CaseDay, CaseMonth):
                table._default_manager.filter(mission=mission, case_type__in=codes).delete()
            SkippedEvent.objects.filter(projector=name, mission=mission).delete()
            last, count = 0, 0
            while True:
                rows = list(
                    CentralEvent.objects.filter(mission=mission, seq__gt=last, topic__in=topics)
                    .order_by("seq")
                    .only(*EVENT_FIELDS)[:batch_size]
                )
                if not rows:
                    return count
                apply(ProjectionBatch(mission=mission, events=[event_wire(r) for r in rows]))
                last, count = rows[-1].seq, count + len(rows)

    return CaseProjector(apply=apply, rebuild=rebuild, topics=topics)
