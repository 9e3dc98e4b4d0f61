"""Builds HQ's bookings register from `appointments.booking.*` events (docs/sync.md,
"Registers"). Registered with sync by `appointments.apps.AppointmentsConfig.ready`.

Called by HQ's apply inside the transaction that applies a bundle, once per batch of one
mission's events, in seq order. A batch costs a fixed number of statements whatever its length:
the mission's time zone, the bookings it names (locked), one upsert of the bookings that
changed, one or two statements each for the day and the month sums, and one insert of the
events it had to skip.

Why the result does not depend on the order (or repetition) of events: each fact of a booking
(its status; its service, time and day) is taken from the event with the highest seq that
carries it, so a late event changes nothing its successors already said, and an event applied
twice finds nothing to change. The day sums are not incremented per event: each booking adds
its current state to one `BookingDay` row, and a batch adds, per row, (state after) - (state
before) of every booking it touched. So the sums are always the sum over the registered
bookings, however the events came.

An event whose payload breaks its topic's contract (a missing field, a count that is not an
integer, a version this code does not know) cannot be projected: it is recorded in
`SkippedBookingEvent` with the reason and left out, and the rest of the batch is applied. It
stays in sync's central event log, so a corrected projector can be run over it again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

from appointments.events import AppointmentTopic
from missions.models import Mission
from sync.hq.models import CentralEvent, MissionLink
from sync.registry import Event, ProjectionBatch

from .models import (
    REFERENCE_LENGTH,
    SERVICE_CODE_LENGTH,
    BookingDay,
    BookingMonth,
    RegisteredBooking,
    RegisteredStatus,
    SkippedBookingEvent,
)

NAME = "appointments.bookings"

# The status a booking is in right after each topic's event. `called` keeps it checked in;
# a move is made only to a held booking.
STATUS_AFTER: dict[str, RegisteredStatus] = {
    AppointmentTopic.BOOKING_CREATED: RegisteredStatus.BOOKED,
    AppointmentTopic.BOOKING_RESCHEDULED: RegisteredStatus.BOOKED,
    AppointmentTopic.BOOKING_CANCELLED: RegisteredStatus.CANCELLED,
    AppointmentTopic.BOOKING_CANCELLED_BY_MISSION: RegisteredStatus.CANCELLED_BY_MISSION,
    AppointmentTopic.BOOKING_CHECKED_IN: RegisteredStatus.CHECKED_IN,
    AppointmentTopic.BOOKING_CALLED: RegisteredStatus.CHECKED_IN,
    AppointmentTopic.BOOKING_SERVED: RegisteredStatus.SERVED,
    AppointmentTopic.BOOKING_NO_SHOW: RegisteredStatus.NO_SHOW,
}
TOPICS = frozenset(str(topic) for topic in STATUS_AFTER)
# The payload versions this projector reads (docs/events.md); any other is skipped.
VERSIONS: dict[str, frozenset[int]] = {
    str(topic): frozenset({1, 2} if topic == AppointmentTopic.BOOKING_RESCHEDULED else {1})
    for topic in STATUS_AFTER
}
MAX_PERSONS = 1000
MIN_YEAR, MAX_YEAR = 1970, 2999
# The counters of a `BookingDay` row, in the order of `Contribution.counts`.
DAY_COUNTERS = (
    "booked",
    "persons",
    "cancelled",
    "cancelled_by_mission",
    "checked_in",
    "served",
    "no_show",
    "lead_days",
)
STATUS_COUNTER = {
    RegisteredStatus.CANCELLED: "cancelled",
    RegisteredStatus.CANCELLED_BY_MISSION: "cancelled_by_mission",
    RegisteredStatus.CHECKED_IN: "checked_in",
    RegisteredStatus.SERVED: "served",
    RegisteredStatus.NO_SHOW: "no_show",
}
BOOKING_FIELDS = (
    "reference",
    "service",
    "starts_at",
    "day",
    "persons",
    "status",
    "booked_at",
    "booked_day",
    "created_seq",
    "starts_seq",
    "status_seq",
    "last_seq",
)

EVENT_FIELDS = (
    "seq",
    "topic",
    "aggregate_type",
    "aggregate_id",
    "payload",
    "version",
    "actor_id",
    "occurred_at",
)
WIRE_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class Unprojectable(ValueError):
    """The event breaks its topic's contract; the message says how."""


@dataclasses.dataclass(frozen=True)
class Fact:
    """What one valid event says about its booking."""

    seq: int
    booking_id: str
    reference: str
    status: RegisteredStatus
    service: str | None = None  # with starts_at: created, rescheduled v2
    starts_at: dt.datetime | None = None
    persons: int | None = None  # created only
    booked_at: dt.datetime | None = None  # created only


@dataclasses.dataclass
class BookingState:
    reference: str = ""
    service: str = ""
    starts_at: dt.datetime | None = None
    day: dt.date | None = None
    persons: int | None = None
    status: str = ""
    booked_at: dt.datetime | None = None
    booked_day: dt.date | None = None
    created_seq: int | None = None
    starts_seq: int = 0
    status_seq: int = 0
    last_seq: int = 0

    def contribution(self) -> tuple[tuple[str, dt.date], list[int]] | None:
        """What this booking adds to its `BookingDay` row: nothing before its `created`."""
        if self.created_seq is None or self.day is None or self.booked_day is None:
            return None
        counts = dict.fromkeys(DAY_COUNTERS, 0)
        counts["booked"] = 1
        counts["persons"] = self.persons or 0
        counts["lead_days"] = (self.day - self.booked_day).days
        counter = STATUS_COUNTER.get(RegisteredStatus(self.status)) if self.status else None
        if counter:
            counts[counter] = 1
        return (self.service, self.day), [counts[name] for name in DAY_COUNTERS]

    def take(self, fact: Fact, zone: zoneinfo.ZoneInfo) -> None:
        """Apply one event: each fact from the event with the highest seq that carries it."""
        if fact.reference and not self.reference:
            self.reference = fact.reference
        if fact.seq > self.status_seq:
            self.status, self.status_seq = str(fact.status), fact.seq
        if fact.starts_at is not None and fact.seq > self.starts_seq:
            self.starts_at, self.starts_seq = fact.starts_at, fact.seq
            self.service = fact.service or self.service
            self.day = fact.starts_at.astimezone(zone).date()
        if fact.booked_at is not None and self.created_seq is None:
            self.created_seq = fact.seq
            self.booked_at = fact.booked_at
            self.booked_day = fact.booked_at.astimezone(zone).date()
            self.persons = fact.persons
            self.service = self.service or (fact.service or "")
        self.last_seq = max(self.last_seq, fact.seq)


def _text(payload: dict[str, Any], name: str, max_length: int) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length or "\x00" in value:
        raise Unprojectable(f"{name} is not a text of 1 to {max_length} characters")
    return value


def _moment(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise Unprojectable(f"{name} is not a time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Unprojectable(f"{name} is not a time") from None
    if moment.tzinfo is None:
        raise Unprojectable(f"{name} has no time zone")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:  # and far from datetime's ends, where
        raise Unprojectable(f"{name} is out of range")  # a time zone's shift overflows
    return moment


def _integer(value: Any, name: str, low: int, high: int) -> int:
    # bool is an int in Python and 2.0 compares equal to 2: neither is a count
    if type(value) is not int or not low <= value <= high:
        raise Unprojectable(f"{name} is not an integer from {low} to {high}")
    return value


def fact_read(event: Event) -> Fact:
    """The event's facts, or Unprojectable when it breaks its topic's contract."""
    topic = event.get("topic")
    version = event.get("version", 1)
    if type(version) is not int or version not in VERSIONS.get(str(topic), frozenset()):
        raise Unprojectable(f"version {version!r} of {topic} is not one this register reads")
    payload = event.get("payload")
    if not isinstance(payload, dict):
        raise Unprojectable("the payload is not an object")
    booking_id = event.get("aggregate_id")
    if not isinstance(booking_id, str) or not 0 < len(booking_id) <= 100 or "\x00" in booking_id:
        raise Unprojectable("aggregate_id is not a booking's id")
    seq = _integer(event.get("seq"), "seq", 1, 2**63 - 1)
    fact = Fact(
        seq=seq,
        booking_id=booking_id,
        reference=_text(payload, "reference", REFERENCE_LENGTH),
        status=STATUS_AFTER[str(topic)],
    )
    if topic == AppointmentTopic.BOOKING_CREATED:
        return dataclasses.replace(
            fact,
            service=_text(payload, "service", SERVICE_CODE_LENGTH),
            starts_at=_moment(payload.get("starts_at"), "starts_at"),
            persons=_integer(payload.get("persons"), "persons", 1, MAX_PERSONS),
            booked_at=_moment(event.get("occurred_at"), "occurred_at"),
        )
    if topic == AppointmentTopic.BOOKING_RESCHEDULED and version == 2:
        # v1 (a move made a new booking: `created` of the new one and `cancelled` of the old
        # one were recorded too) carries no time; v2 moves this booking to `starts_at`.
        return dataclasses.replace(
            fact,
            service=_text(payload, "service", SERVICE_CODE_LENGTH),
            starts_at=_moment(payload.get("starts_at"), "starts_at"),
        )
    return fact


def _array(values: list[Any]) -> str:
    """A PostgreSQL array literal of `values` (None, bool, int, str, date, aware datetime), to
    pass as one text parameter cast to the column's array type: ten times faster than letting
    the driver quote a list element by element, which is most of a batch's time. Texts are
    quoted and escaped (they hold no NUL: `fact_read`/`posting_read` refuse it)."""
    out = []
    for value in values:
        kind = type(value)
        if kind is int:
            out.append(str(value))
        elif isinstance(value, str):
            out.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif value is None:
            out.append("NULL")
        elif kind is bool:
            out.append("t" if value else "f")
        else:  # date, aware datetime
            out.append(value.isoformat())
    return "{" + ",".join(out) + "}"


def _mission_zone(code: str) -> zoneinfo.ZoneInfo:
    """The mission's time zone as HQ knows it (its Mission row); UTC for a code HQ has no row
    for, so its events still count (on UTC days)."""
    name = Mission.objects.filter(code=code).values_list("timezone", flat=True).first()
    try:
        return zoneinfo.ZoneInfo(name) if name else zoneinfo.ZoneInfo("UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _states_locked(mission: str, booking_ids: Iterable[str]) -> dict[str, BookingState]:
    rows = (
        RegisteredBooking.objects.select_for_update()
        .filter(mission=mission, booking_id__in=list(booking_ids))
        .order_by("booking_id")
        .values_list("booking_id", *BOOKING_FIELDS)
    )
    return {row[0]: BookingState(*row[1:]) for row in rows}


def _bookings_write(mission: str, changed: dict[str, BookingState]) -> None:
    if not changed:
        return
    ids = sorted(changed)
    columns = {name: [getattr(changed[i], name) for i in ids] for name in BOOKING_FIELDS}
    types = {
        "reference": "text",
        "service": "text",
        "starts_at": "timestamptz",
        "day": "date",
        "persons": "smallint",
        "status": "text",
        "booked_at": "timestamptz",
        "booked_day": "date",
        "created_seq": "bigint",
        "starts_seq": "bigint",
        "status_seq": "bigint",
        "last_seq": "bigint",
    }
    table = RegisteredBooking._meta.db_table
    names = ", ".join(BOOKING_FIELDS)
    arrays = ", ".join(f"%s::{types[name]}[]" for name in BOOKING_FIELDS)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in BOOKING_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (mission, booking_id, {names})"  # noqa: S608 (names are ours)
            f" SELECT %s, * FROM unnest(%s::text[], {arrays})"
            f" ON CONFLICT (mission, booking_id) DO UPDATE SET {updates}",
            [mission, _array(ids), *map(_array, columns.values())],
        )


def _valid_as_row(counts: list[int]) -> bool:
    """Whether these deltas, as a new row, pass the table's check (`BookingDay.Meta`)."""
    c = dict(zip(DAY_COUNTERS, counts, strict=True))
    held = ("cancelled", "cancelled_by_mission", "checked_in", "served", "no_show")
    return (
        all(c[name] >= 0 for name in held)
        and c["persons"] >= c["booked"]
        and c["booked"] >= sum(c[name] for name in held)
    )


def _sums_add(
    mission: str,
    deltas: dict[tuple[str, dt.date], list[int]],
    *,
    model: type[BookingDay | BookingMonth],
    date_column: str,
) -> None:
    """Add each (service, date)'s deltas to its row of `model`, keys in order.

    PostgreSQL checks an INSERT's row against the table's CHECK before it finds the conflict
    that turns it into an UPDATE, so deltas that could not be a row of their own (a booking
    leaving a day, or changing status: a count going down) are added by an UPDATE of the rows
    they must already be in; the others by an upsert. At most two statements."""
    keys = sorted(key for key, counts in deltas.items() if any(counts))
    fresh = [key for key in keys if _valid_as_row(deltas[key])]
    existing = [key for key in keys if not _valid_as_row(deltas[key])]
    table = model._meta.db_table
    counters = ", ".join(DAY_COUNTERS)
    arrays = ", ".join(
        "%s::bigint[]" if name == "lead_days" else "%s::int[]" for name in DAY_COUNTERS
    )

    def params(chosen: list[tuple[str, dt.date]]) -> list[Any]:
        columns = [[deltas[key][i] for key in chosen] for i in range(len(DAY_COUNTERS))]
        return [
            _array([k[0] for k in chosen]),
            _array([k[1] for k in chosen]),
            *map(_array, columns),
        ]

    with connection.cursor() as cursor:
        if existing:
            sets = ", ".join(f"{name} = {table}.{name} + d.{name}" for name in DAY_COUNTERS)
            cursor.execute(
                f"UPDATE {table} SET {sets}"  # noqa: S608 (names are ours)
                f" FROM unnest(%s::text[], %s::date[], {arrays})"
                f" AS d(service, {date_column}, {counters})"
                f" WHERE {table}.mission = %s AND {table}.service = d.service"
                f" AND {table}.{date_column} = d.{date_column}",
                [*params(existing), mission],
            )
            if cursor.rowcount != len(existing):
                # a booking left a day it was never added to: the register is not what its
                # bookings say; refuse rather than write sums that hide it
                raise RuntimeError(f"bookings register of {mission}: {table} out of step")
        if fresh:
            updates = ", ".join(
                f"{name} = {table}.{name} + EXCLUDED.{name}" for name in DAY_COUNTERS
            )
            cursor.execute(
                f"INSERT INTO {table} (mission, service, {date_column}, {counters})"  # noqa: S608
                f" SELECT %s, * FROM unnest(%s::text[], %s::date[], {arrays})"
                f" ON CONFLICT (mission, service, {date_column}) DO UPDATE SET {updates}",
                [mission, *params(fresh)],
            )


def bookings_project(batch: ProjectionBatch) -> None:
    """Apply one batch of a mission's booking events to the register (see the module's doc)."""
    facts: list[Fact] = []
    skipped: list[SkippedBookingEvent] = []
    for event in batch.events:
        try:
            facts.append(fact_read(event))
        except Unprojectable as error:
            seq = event.get("seq")
            skipped.append(
                SkippedBookingEvent(
                    mission=batch.mission,
                    seq=seq if type(seq) is int and 0 < seq < 2**63 else 0,
                    topic=str(event.get("topic", "")).replace("\x00", "")[:100],
                    reason=str(error)[:300],
                )
            )
    if skipped:
        SkippedBookingEvent.objects.bulk_create(skipped, ignore_conflicts=True)
    if not facts:
        return
    zone = _mission_zone(batch.mission)
    states = _states_locked(batch.mission, {fact.booking_id for fact in facts})
    before = {booking_id: dataclasses.replace(state) for booking_id, state in states.items()}
    for fact in sorted(facts, key=lambda fact: fact.seq):
        states.setdefault(fact.booking_id, BookingState()).take(fact, zone)
    changed = {i: state for i, state in states.items() if before.get(i) != state}
    deltas: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0] * len(DAY_COUNTERS))
    for booking_id, state in changed.items():
        old = before[booking_id].contribution() if booking_id in before else None
        new = state.contribution()
        if old == new:
            continue
        for sign, part in ((-1, old), (1, new)):
            if part is not None:
                key, counts = part
                deltas[key] = [a + sign * b for a, b in zip(deltas[key], counts, strict=True)]
    months: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0] * len(DAY_COUNTERS))
    for (service, day), counts in deltas.items():
        key = (service, day.replace(day=1))
        months[key] = [a + b for a, b in zip(months[key], counts, strict=True)]
    _bookings_write(batch.mission, changed)
    _sums_add(batch.mission, deltas, model=BookingDay, date_column="day")
    _sums_add(batch.mission, months, model=BookingMonth, date_column="month")


def _wire(row: dict[str, Any]) -> Event:
    """A central log row as the event it arrived as."""
    return {**row, "occurred_at": row["occurred_at"].astimezone(dt.UTC).strftime(WIRE_TIME)}


def bookings_rebuild(*, mission: str, batch_size: int = 10_000) -> int:
    """Build the mission's bookings register again from HQ's central event log: after a
    corrected projector, or to take in events skipped before. Holds the mission's sync link
    (the lock HQ's apply takes), empties the register's rows of the mission and projects its
    events again in seq order, in batches; one transaction. Returns the events read."""
    with transaction.atomic():
        MissionLink.objects.select_for_update().filter(mission=mission).first()
        for model in (RegisteredBooking, BookingDay, BookingMonth, SkippedBookingEvent):
            model.objects.filter(mission=mission).delete()
        last, count = 0, 0
        while True:
            rows = list(
                CentralEvent.objects.filter(mission=mission, seq__gt=last, topic__in=TOPICS)
                .order_by("seq")
                .values(*EVENT_FIELDS)[:batch_size]
            )
            if not rows:
                return count
            bookings_project(ProjectionBatch(mission=mission, events=[_wire(row) for row in rows]))
            last, count = rows[-1]["seq"], count + len(rows)
