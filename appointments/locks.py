"""Locking helpers of the appointments app (one place, so lock order is consistent)."""

from __future__ import annotations

from django.db import connection
from django.db.models import F

from .models import Booking, Slot

# pg_advisory_xact_lock key for handing out queue tickets (per schema: the schema's own lock
# space is not separate, so the key mixes in the schema name).
_QUEUE_LOCK = 0x0A770000


def booking_lock(*, pk: int) -> Booking:
    return Booking.objects.select_for_update().select_related("slot", "service").get(pk=pk)


def slot_take(*, slot_id: int) -> bool:
    """Take one place in a slot if one is free. The row lock of the UPDATE serialises concurrent
    takers; READ COMMITTED re-checks `booked < capacity` after the wait, so none oversells."""
    return bool(
        Slot.objects.filter(pk=slot_id, booked__lt=F("capacity")).update(booked=F("booked") + 1)
    )


def slot_release(*, slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def queue_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            [_QUEUE_LOCK, str(getattr(connection, "schema_name", ""))],
        )
