"""Locks of the appointments app: one helper per entity, `<entity>_lock(*, pk)`, returning the
row locked FOR UPDATE until the transaction ends (with what the caller reads next).

Order, so that two transactions never wait on each other: a lottery round, then a waitlist
entry, then bookings (several in pk order), then slots (the place-taking UPDATE in
`services/places.py`; several in pk order, `slots_lock`), then the day's queue, and last the
mission's outbox counter, which every event takes (`outbox_event_record`) until COMMIT. A
transaction that records an event and then touches another booking or slot (a draw booking
its winners, a closure cancelling a day) locks them first: `bookings_lock`, then `slots_lock`.
Picks of "the next row nobody holds" (call next, the first person waiting, due reminders and
expired offers) use `skip_locked` and never wait, so they may come later in a transaction.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connection
from django.db.models import ForeignKey, Model, QuerySet

from .models import Booking, LotteryRound, MissionRules, Slot, WaitlistEntry

# pg_advisory_xact_lock key for handing out queue tickets (per schema: the schema's own lock
# space is not separate, so the key mixes in the schema name).
_QUEUE_LOCK = 0x0A770000

RowT = TypeVar("RowT", bound=Model)


def lottery_round_lock(*, pk: int) -> LotteryRound:
    return LotteryRound.objects.select_for_update(of=("self",)).select_related("service").get(pk=pk)


def _row_lock(rows: QuerySet[RowT], *, pk: int) -> RowT:
    """The row `pk` of `rows`, locked, with the rows `rows` selects with it (one statement).

    When another transaction changed one of those relations while this waited for the lock,
    PostgreSQL re-checks the joins of the row it waited for against the related rows it read
    before the wait (EvalPlanQual): through an inner join the row then matches nothing (a
    booking moved to another slot is not found), and through an outer join it comes without
    the related row (a waitlist entry offered a slot meanwhile reads as holding none). Such a
    row is read again, locked now, whole (two admins moving one booking: the second sees where
    the first put it)."""
    locked = rows.select_for_update(of=("self",))
    row = locked.filter(pk=pk).first()
    if row is None or _relation_lost(row, rows.query.select_related):
        return locked.get(pk=pk)  # held by this transaction now: read without a wait
    return row


def _relation_lost(row: Model, selected: Any) -> bool:
    """Whether a relation selected with `row` names a row that did not come with it."""
    if not isinstance(selected, dict):
        return False
    for name in selected:
        field = row._meta.get_field(name)  # select_related follows foreign keys
        if not isinstance(field, ForeignKey) or getattr(row, field.attname) is None:
            continue
        if getattr(row, name) is None:
            return True
    return False


def waitlist_entry_lock(*, pk: int) -> WaitlistEntry:
    return _row_lock(WaitlistEntry.objects.select_related("service", "slot__service"), pk=pk)


def booking_lock(*, pk: int) -> Booking:
    """The booking with its slot and service (`_row_lock`: read again at its new slot when it
    was moved while this waited)."""
    return _row_lock(Booking.objects.select_related("slot", "service"), pk=pk)


def bookings_lock(*, pks: list[int]) -> None:
    """Lock these bookings' rows, in pk order (before their slots, and before any event)."""
    list(
        Booking.objects.select_for_update(of=("self",))
        .filter(pk__in=pks)
        .order_by("pk")
        .values_list("pk")
    )


def slots_lock(*, pks: list[int]) -> None:
    """Lock these slots' rows, in pk order, before the transaction records its first event."""
    list(Slot.objects.select_for_update().filter(pk__in=pks).order_by("pk").values_list("pk"))


def mission_rules_lock(*, pk: int) -> MissionRules:
    return MissionRules.objects.select_for_update().get(pk=pk)


def queue_lock() -> None:
    """The day's queue tickets: not a row, so an advisory lock for the transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            [_QUEUE_LOCK, str(getattr(connection, "schema_name", ""))],
        )
