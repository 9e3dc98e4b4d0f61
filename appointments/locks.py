"""Locks of the appointments app: one helper per entity, `<entity>_lock(*, pk)`, returning the
row locked FOR UPDATE until the transaction ends (with what the caller reads next).

Order, so that two transactions never wait on each other: a lottery round, then a waitlist
entry, then bookings (several in pk order), then slots (the place-taking UPDATE in
`services/places.py`), then the day's queue. Picks of "the next row nobody holds" (call next,
the first person waiting, due reminders and expired offers) use `skip_locked` and never wait,
so they may come later in a transaction.
"""

from __future__ import annotations

from django.db import connection

from .models import Booking, LotteryRound, MissionRules, WaitlistEntry

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
    return (
        Booking.objects.select_for_update(of=("self",)).select_related("slot", "service").get(pk=pk)
    )


def mission_rules_lock(*, pk: int) -> MissionRules:
    return MissionRules.objects.select_for_update().get(pk=pk)


def queue_lock() -> None:
    """The day's queue tickets: not a row, so an advisory lock for the transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            [_QUEUE_LOCK, str(getattr(connection, "schema_name", ""))],
        )
