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
`sync_hq.SkippedEvent` with the reason and left out, and the rest of the batch is applied. It
stays in sync's central event log, so a corrected projector can be run over it again
(`bookings_rebuild`). What every register does so is in `sync.hq.projection`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection

from appointments.events import AppointmentTopic
from missions.register.projection import mission_zone
from sync.hq.projection import (
    RegisterRebuild,
    SumTables,
    array_literal,
    checked_integer,
    checked_moment,
    checked_text,
    envelope_read,
    events_read,
    sums_add,
)
from sync.registry import Event, ProjectionBatch

from .models import (
    BOOKING_SUMS,
    REFERENCE_LENGTH,
    SERVICE_CODE_LENGTH,
    BookingChannel,
    BookingDay,
    BookingMonth,
    RegisteredBooking,
    RegisteredStatus,
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
# the `kind` of a mission's cancellation that a case's early visit made
VISIT_RECORDED = "visit_recorded"
# The payload versions this projector reads (docs/events.md); any other is skipped.
VERSIONS: dict[str, frozenset[int]] = {
    str(topic): frozenset({1, 2} if topic == AppointmentTopic.BOOKING_RESCHEDULED else {1})
    for topic in STATUS_AFTER
}
MAX_PERSONS = 1000
# the sum each known channel counts in
CHANNEL_COUNTER = {BookingChannel.ONLINE.value: "online", BookingChannel.COUNTER.value: "counter"}
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
    "channel",
    "created_seq",
    "starts_seq",
    "status_seq",
    "last_seq",
)


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
    channel: str = ""  # created only: "online", "counter", or "" when it did not say


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
    channel: str = ""
    created_seq: int | None = None
    starts_seq: int = 0
    status_seq: int = 0
    last_seq: int = 0

    def contribution(self) -> tuple[tuple[str, dt.date], list[int]] | None:
        """What this booking adds to its `BookingDay` row: nothing before its `created`."""
        if self.created_seq is None or self.day is None or self.booked_day is None:
            return None
        counts = dict.fromkeys(BOOKING_SUMS, 0)
        counts["booked"] = 1
        counts["persons"] = self.persons or 0
        counts["lead_days"] = (self.day - self.booked_day).days
        if self.channel in CHANNEL_COUNTER:
            counts[CHANNEL_COUNTER[self.channel]] = 1
        counter = STATUS_COUNTER.get(RegisteredStatus(self.status)) if self.status else None
        if counter:
            counts[counter] = 1
        return (self.service, self.day), [counts[name] for name in BOOKING_SUMS]

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
            self.channel = fact.channel
            self.service = self.service or (fact.service or "")
        self.last_seq = max(self.last_seq, fact.seq)


def _channel_read(payload: dict[str, Any]) -> str:
    """The created event's `channel`: missing or null (an event from before it was sent) reads
    as "" (unknown), and so does a value this code does not know yet (the field is additive:
    a new channel must not stop its bookings from counting); anything not a text is refused."""
    channel = checked_text(payload, "channel", 20, blank=True)
    return channel if channel in CHANNEL_COUNTER else ""


def fact_read(event: Event) -> Fact:
    """The event's facts, or `Unprojectable` when it breaks its topic's contract."""
    topic = str(event.get("topic"))
    seq, booking_id, payload = envelope_read(event, versions=VERSIONS.get(topic, frozenset()))
    fact = Fact(
        seq=seq,
        booking_id=booking_id,
        reference=checked_text(payload, "reference", REFERENCE_LENGTH),
        status=STATUS_AFTER[topic],
    )
    if topic == AppointmentTopic.BOOKING_CREATED:
        return dataclasses.replace(
            fact,
            service=checked_text(payload, "service", SERVICE_CODE_LENGTH),
            starts_at=checked_moment(payload.get("starts_at"), "starts_at"),
            persons=checked_integer(payload.get("persons"), "persons", 1, MAX_PERSONS),
            booked_at=checked_moment(event.get("occurred_at"), "occurred_at"),
            channel=_channel_read(payload),
        )
    if (
        topic == AppointmentTopic.BOOKING_CANCELLED_BY_MISSION
        and payload.get("kind") == VISIT_RECORDED
    ):
        # the person's case recorded the visit before the appointment's day: they were
        # served, early, and the mission did not turn them away (booking_visit_record)
        return dataclasses.replace(fact, status=RegisteredStatus.SERVED)
    if topic == AppointmentTopic.BOOKING_RESCHEDULED and event.get("version", 1) == 2:
        # v1 (a move made a new booking: `created` of the new one and `cancelled` of the old
        # one were recorded too) carries no time; v2 moves this booking to `starts_at`.
        return dataclasses.replace(
            fact,
            service=checked_text(payload, "service", SERVICE_CODE_LENGTH),
            starts_at=checked_moment(payload.get("starts_at"), "starts_at"),
        )
    return fact


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
        "channel": "text",
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
            [mission, array_literal(ids), *map(array_literal, columns.values())],
        )


def _valid_as_row(counts: list[int]) -> bool:
    """Whether these deltas, as a new row, pass the table's check (`BookingDay.Meta`)."""
    c = dict(zip(BOOKING_SUMS, counts, strict=True))
    held = ("cancelled", "cancelled_by_mission", "checked_in", "served", "no_show")
    return (
        all(c[name] >= 0 for name in held)
        and c["persons"] >= c["booked"]
        and c["booked"] >= sum(c[name] for name in held)
        and c["online"] >= 0
        and c["counter"] >= 0
        and c["booked"] >= c["online"] + c["counter"]
    )


SUM_TABLES = SumTables(
    day=BookingDay,
    month=BookingMonth,
    keys=(("service", "text"), ("day", "date")),
    date_column="day",
    sums=tuple((name, "bigint" if name == "lead_days" else "int") for name in BOOKING_SUMS),
    can_insert=_valid_as_row,
)


def bookings_project(batch: ProjectionBatch) -> None:
    """Apply one batch of a mission's booking events to the register (see the module's doc)."""
    facts = events_read(batch, fact_read, projector=NAME)
    if not facts:
        return
    zone = mission_zone(batch.mission)
    states = _states_locked(batch.mission, {fact.booking_id for fact in facts})
    before = {booking_id: dataclasses.replace(state) for booking_id, state in states.items()}
    for fact in sorted(facts, key=lambda fact: fact.seq):
        states.setdefault(fact.booking_id, BookingState()).take(fact, zone)
    changed = {i: state for i, state in states.items() if before.get(i) != state}
    deltas: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0] * len(BOOKING_SUMS))
    for booking_id, state in changed.items():
        old = before[booking_id].contribution() if booking_id in before else None
        new = state.contribution()
        if old == new:
            continue
        for sign, part in ((-1, old), (1, new)):
            if part is not None:
                key, counts = part
                deltas[key] = [a + sign * b for a, b in zip(deltas[key], counts, strict=True)]
    _bookings_write(batch.mission, changed)
    sums_add(mission=batch.mission, deltas=deltas, tables=SUM_TABLES)


# Builds a mission's register again from HQ's central event log (`RegisterRebuild`).
bookings_rebuild = RegisterRebuild(
    projector=NAME,
    topics=TOPICS,
    tables=(RegisteredBooking, BookingDay, BookingMonth),
    project=bookings_project,
)
