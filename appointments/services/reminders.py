"""Reminders before the appointment."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from consulate.kernel.actors import SYSTEM
from consulate.kernel.history import set_acting_user

from ..models import Booking, BookingStatus

REMINDER_AHEAD = dt.timedelta(hours=24)


def booking_remind_due(*, now: dt.datetime | None = None) -> int:
    """Send each active booking starting within REMINDER_AHEAD its reminder, once (beat, as
    SYSTEM). Marks the booking before sending, so a crash loses a reminder rather than sending
    two."""
    from .. import emails

    now = now or timezone.now()
    sent = 0
    due = Booking.objects.filter(
        status=BookingStatus.ACTIVE,
        reminded_at__isnull=True,
        slot__starts_at__gt=now,
        slot__starts_at__lte=now + REMINDER_AHEAD,
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            booking = (
                Booking.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("slot", "service")
                .filter(pk=pk, reminded_at__isnull=True)
                .first()
            )
            if booking is None:
                continue
            booking.reminded_at = now
            set_acting_user(booking, SYSTEM)
            booking.save(update_fields=["reminded_at"])
        emails.booking_reminder_send(booking=booking)
        sent += 1
    return sent
