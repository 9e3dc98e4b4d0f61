"""A booking's rows as one SQL statement (data-modifying CTEs): the place taken in the slot, the
booking, its people, the history row of each (what django-simple-history's post_save would
write), its created event (`sync.services.outbox_event_new`'s row, with the booking's id) and,
when its confirmation e-mail is to be sent, its `ConfirmationDue` row.

One statement is one transaction: run in autocommit it commits everything or nothing, and the
slot's row lock and the mission's outbox counter (the event's `seq` trigger) are held for the
statement alone, not for the round trips of a transaction around it. The booking's rows are
inserted from the place's UPDATE: a full slot inserts nothing.

Written through the ORM they were six statements, eight round trips with BEGIN and COMMIT, and
about 10 ms of CPU per booking composing them, most of it in simple-history's
`create_historical_record` and the insert compiler (docs/benchmarks.md). Here each value is still
what the ORM would send: every column comes from the models' own fields (`pre_save`, then
`get_db_prep_save`: the encrypted fields encrypt, the blind index is computed), and the history
rows' columns are the historical models' own, with simple-history's list of tracked fields, so a
field added to a model goes into the statement and its history without anyone listing it. A
history column this module does not know how to fill stops the statement from being built
(`HistoryColumnsUnknown`) rather than being left empty. `tests/appointments/
test_booking_statement.py` compares the rows field by field with what the ORM, simple-history and
`outbox_event_record` write.

Only the SQL text is cached (per number of people, with or without the place): it names
tables, not schemas, so it runs on whichever mission's search path the connection has.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

from django.db import connection, models
from django.db.models.fields import Field
from django.utils import timezone

from consulate.kernel.crypto.fields import EncryptedField
from sync.models import OutboxEvent

from ..models import Booking, BookingPerson, ConfirmationDue, Slot

# The columns of a history row that are simple-history's own, not copies of the model's, and
# how each is filled for a creation ("+"); `history_id` is the table's serial.
HISTORY_OWN = ("history_user_id", "history_date", "history_change_reason", "history_type")


class HistoryColumnsUnknown(RuntimeError):
    """A history table has a column this module does not fill: extend HISTORY_OWN first."""


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _placeholder(field: Field[Any, Any]) -> str:
    # Typed: a NULL or a text literal in an INSERT … SELECT would otherwise be taken as text.
    # Text without its length: CAST(… AS varchar(8)) would cut a longer value silently, where
    # the column's own limit refuses it (as the ORM's INSERT is refused).
    db_type = str(field.db_type(connection))
    if db_type.startswith("varchar("):
        db_type = "varchar"
    return f"CAST(%s AS {db_type})"


def _history_model(model: type[models.Model]) -> Any:
    # Once per process: simple-history's descriptor builds a new manager class on each access.
    return getattr(model, model._meta.simple_history_manager_attribute).model  # type: ignore[attr-defined]


def _inserted_fields(model: type[models.Model]) -> list[Field[Any, Any]]:
    """What the ORM's INSERT names: every concrete field but the serial key and the columns
    the database assigns."""
    return [
        field
        for field in model._meta.local_concrete_fields
        if field is not model._meta.pk and not getattr(field, "db_returning", False)
    ]


@dataclasses.dataclass(frozen=True)
class _History:
    """One history table: its columns, and for each, where its value comes from."""

    table: str
    columns: list[str]
    # per column: ("row", column of the inserted row), ("encrypt", historical field) or ("own",
    # name in HISTORY_OWN)
    sources: list[tuple[str, Any]]

    @classmethod
    def of(cls, model: type[models.Model]) -> _History:
        history = _history_model(model)
        tracked = {field.attname for field in history.tracked_fields}
        columns, sources = [], []
        for field in history._meta.concrete_fields:
            if field is history._meta.pk:
                continue
            columns.append(field.column)
            if field.attname in HISTORY_OWN:
                sources.append(("own", field))
            elif field.attname not in tracked:
                raise HistoryColumnsUnknown(f"{history._meta.label}.{field.attname}")
            elif isinstance(field, EncryptedField):
                # its own context (the Historical model's label): encrypted again, as simple-
                # history's save of the historical instance does
                sources.append(("encrypt", field))
            else:
                base = model._meta.get_field(field.name)
                sources.append(("row", base.column))  # type: ignore[union-attr]
        return cls(table=history._meta.db_table, columns=columns, sources=sources)

    def select(self, source: str) -> str:
        parts = []
        for kind, value in self.sources:
            parts.append(f"{source}.{_q(value)}" if kind == "row" else _placeholder(value))
        return (
            f"INSERT INTO {_q(self.table)} ({', '.join(map(_q, self.columns))}) "  # noqa: S608 (names are ours)
            f"SELECT {', '.join(parts)} FROM {source}"
        )

    def params(self, instance: models.Model, own: dict[str, Any]) -> list[Any]:
        values = []
        for kind, value in self.sources:
            if kind == "encrypt":
                values.append(value.get_db_prep_save(getattr(instance, value.attname), connection))
            elif kind == "own":
                values.append(value.get_db_prep_save(own[value.attname], connection))
        return values


@functools.cache
def _parts() -> dict[str, Any]:
    return {
        "booking": _inserted_fields(Booking),
        "person": [f for f in _inserted_fields(BookingPerson) if f.attname != "booking_id"],
        "booking_history": _History.of(Booking),
        "person_history": _History.of(BookingPerson),
        "event": _inserted_fields(OutboxEvent),
    }


@functools.cache
def _statement(persons: int, take_place: bool, confirm: bool) -> str:
    parts = _parts()
    booking_fields = parts["booking"]
    booking_values = ", ".join(_placeholder(f) for f in booking_fields)
    ctes = []
    # The place first: its UPDATE locks the slot's row (and re-reads it once a concurrent
    # booking's lock is gone, as READ COMMITTED does) and returns a row only if a place was
    # free; the booking is inserted from that row, so a full slot writes nothing. Every other
    # row is inserted from the booking's, so the slot's lock is taken before the outbox
    # counter's (the event's trigger), the order cancel and move lock them in too.
    if take_place:
        slot = _q(Slot._meta.db_table)
        ctes.append(
            f"place AS (UPDATE {slot} SET booked = booked + 1 "  # noqa: S608 (names are ours)
            "WHERE id = %s AND booked < capacity RETURNING booked >= capacity AS last)"
        )
        booking_source = f"SELECT {booking_values} FROM place"  # noqa: S608 (names are ours)
        taken = "(SELECT count(*) FROM place), (SELECT coalesce(bool_or(last), false) FROM place)"
    else:
        booking_source = f"VALUES ({booking_values})"
        taken = "1, false"
    ctes += [
        f"b AS (INSERT INTO {_q(Booking._meta.db_table)} "
        f"({', '.join(_q(f.column) for f in booking_fields)}) {booking_source} RETURNING *)",
        f"hb AS ({parts['booking_history'].select('b')})",
    ]
    person_fields = parts["person"]
    for n in range(persons):
        ctes.append(
            f"p{n} AS (INSERT INTO {_q(BookingPerson._meta.db_table)} "  # noqa: S608 (names are ours)
            f"({_q('booking_id')}, {', '.join(_q(f.column) for f in person_fields)}) "
            f"SELECT b.{_q('id')}, {', '.join(_placeholder(f) for f in person_fields)} FROM b "
            "RETURNING *)"
        )
        ctes.append(f"hp{n} AS ({parts['person_history'].select(f'p{n}')})")
    event_values = [
        f"CAST(b.{_q('id')} AS text)" if f.attname == "aggregate_id" else _placeholder(f)
        for f in parts["event"]
    ]
    ctes.append(
        f"ev AS (INSERT INTO {_q(OutboxEvent._meta.db_table)} "  # noqa: S608 (names are ours)
        f"({', '.join(_q(f.column) for f in parts['event'])}) "
        f"SELECT {', '.join(event_values)} FROM b)"
    )
    if confirm:
        ctes.append(
            f"cd AS (INSERT INTO {_q(ConfirmationDue._meta.db_table)} ({_q('booking_id')}) "  # noqa: S608 (names are ours)
            f"SELECT b.{_q('id')} FROM b)"
        )
    return f"WITH {', '.join(ctes)} SELECT (SELECT {_q('id')} FROM b), {taken}"  # noqa: S608 (names are ours)


class Place(NamedTuple):
    taken: bool  # a place was taken (False: the slot was full)
    last: bool  # it was the slot's last free place


def _insert_values(fields: list[Field[Any, Any]], instance: models.Model) -> list[Any]:
    # as the ORM's insert compiler: pre_save (auto_now, the blind index), then the database's
    # form (the encrypted fields encrypt here)
    return [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]


def booking_rows_insert(
    *,
    booking: Booking,
    persons: list[BookingPerson],
    event: OutboxEvent,
    history_user_id: int | None,
    take_place: bool,
    confirm: bool = False,
) -> Place:
    """Write `booking` (unsaved), its `persons` (unsaved, `booking` not set), each one's
    history row ("+", `history_user_id`) and `event` (unsaved, from `outbox_event_new`; its
    `aggregate_id` becomes the booking's id) in one statement: in the caller's transaction if
    there is one, else as its own. With `take_place`, only if a place in the booking's slot is
    free, taking it. With `confirm`, its confirmation e-mail is due (`ConfirmationDue`).

    Sets the primary key of `booking` (and the event's `aggregate_id`) when written. Returns
    whether a place was taken (if not, the slot was full and nothing was written) and whether it
    was the last. Raises IntegrityError as the inserts would (nothing is written then)."""
    parts = _parts()
    history_date = timezone.now()  # as simple-history's
    own = {
        "history_user_id": history_user_id,
        "history_date": history_date,
        "history_change_reason": None,
        "history_type": "+",
    }
    params: list[Any] = [booking.slot_id] if take_place else []
    params += _insert_values(parts["booking"], booking)
    params += parts["booking_history"].params(booking, own)
    for person in persons:
        params += _insert_values(parts["person"], person)
        params += parts["person_history"].params(person, own)
    params += _insert_values([f for f in parts["event"] if f.attname != "aggregate_id"], event)
    with connection.cursor() as cursor:
        cursor.execute(_statement(len(persons), take_place, confirm), params)
        pk, taken, last = cursor.fetchone()
    if pk is None:
        return Place(False, False)
    booking.pk = pk
    booking._state.adding = False
    booking._state.db = connection.alias
    event.aggregate_id = str(pk)
    return Place(bool(taken), bool(last))
