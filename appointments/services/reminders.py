"""Reminders before the appointment.

A reminder repeats what an e-mail sent earlier said, for a person who booked long before. A
booking made inside its reminder's window (REMINDER_AHEAD before its start) had its confirmation
then, and one moved inside the window of its new time had the e-mail saying that time: a
reminder minutes later would be a second, near-identical e-mail, so such a booking gets none.
When a booking was made is its `created_at`; when it was moved is its history row with
MOVED_REASON, written with the move (the booking's row keeps no time of its own for a move:
`updated_at` changes with any change)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from consulate.kernel.actors import SYSTEM
from consulate.kernel.history import set_acting_user

from ..models import MOVED_REASON, Booking, BookingStatus

REMINDER_AHEAD = dt.timedelta(hours=24)


def _due(now: dt.datetime) -> QuerySet[Booking]:
    """The active bookings starting within REMINDER_AHEAD of `now`, not yet reminded, whose
    confirmation and last move e-mail both went before the window opened (one statement: the
    moves are read in a subquery)."""
    moved_inside = Booking.history.model.objects.filter(  # type: ignore[attr-defined]
        id=OuterRef("pk"),
        history_change_reason=MOVED_REASON,
        history_date__gt=OuterRef("slot__starts_at") - REMINDER_AHEAD,
    )
    return Booking.objects.filter(
        ~Exists(moved_inside),
        status=BookingStatus.ACTIVE,
        reminded_at__isnull=True,
        slot__starts_at__gt=now,
        slot__starts_at__lte=now + REMINDER_AHEAD,
        created_at__lte=F("slot__starts_at") - REMINDER_AHEAD,
    )


def booking_remind_due(*, now: dt.datetime | None = None) -> int:
    """Send each active booking starting within REMINDER_AHEAD its reminder, once (beat, as
    SYSTEM), unless it was made or moved inside that window (its confirmation or move e-mail
    said the time then). Marks the booking before sending, so a crash loses a reminder rather
    than sending two. Each booking is read again under its lock with the same conditions: one
    moved meanwhile is reminded for its new time, if at all."""
    from .. import emails

    now = now or timezone.now()
    sent = 0
    for pk in list(_due(now).values_list("pk", flat=True)):
        with transaction.atomic():
            booking = (
                _due(now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("slot", "service")
                .filter(pk=pk)
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
