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

from django.db import connection

from .models import Booking, LotteryRound, MissionRules, Slot, WaitlistEntry

# pg_advisory_xact_lock key for handing out queue tickets (per schema: the schema's own lock
# space is not separate, so the key mixes in the schema name).
_QUEUE_LOCK = 0x0A770000


def lottery_round_lock(*, pk: int) -> LotteryRound:
    return LotteryRound.objects.select_for_update(of=("self",)).select_related("service").get(pk=pk)


def waitlist_entry_lock(*, pk: int) -> WaitlistEntry:
    return (
        WaitlistEntry.objects.select_for_update(of=("self",))
        .select_related("service", "slot__service")
        .get(pk=pk)
    )


def booking_lock(*, pk: int) -> Booking:
    """The booking with its slot and service. A booking moved to another slot while this waited
    for its lock is not found by the first statement: PostgreSQL re-checks the locked row's
    join against the slot row it read before the wait (EvalPlanQual), and the old slot no
    longer matches. Read again, it is found at its new slot, locked (two admins moving it at
    once: the second then sees where the first put it)."""
    booked = Booking.objects.select_for_update(of=("self",)).select_related("slot", "service")
    booking = booked.filter(pk=pk).first()
    return booking if booking is not None else booked.get(pk=pk)


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
