"""Booking confirmations: sent by a sweep of the confirmations that are due.

A booking's own statement writes its `ConfirmationDue` row, so the booking and the promise of
its e-mail commit together; the request then only nudges the sweep (`task_nudge_on_commit`: at
most one task queued per `APPOINTMENTS_CONFIRMATION_NUDGE_SECONDS` per process and mission,
whatever the number of bookings). Beat sweeps every mission every minute as well, so a
confirmation whose nudge was lost (a broker that was down, a worker that died) still goes,
late rather than never."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from consulate.kernel.tenancy import task_nudge_on_commit

from ..models import BookingStatus, ConfirmationDue

logger = logging.getLogger(__name__)

# After a failed send, the next try waits 1, 2, 4 ... minutes, at most an hour.
RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_MOST = dt.timedelta(hours=1)


def booking_confirmation_nudge() -> None:
    """After the current transaction commits, make sure a sweep runs soon (a booking whose
    confirmation is due has just been written)."""
    from ..tasks import send_due_confirmations

    task_nudge_on_commit(
        send_due_confirmations, every=settings.APPOINTMENTS_CONFIRMATION_NUDGE_SECONDS
    )


def _retry_after(attempts: int) -> dt.timedelta:
    return min(RETRY_FIRST * 2 ** min(attempts - 1, 10), RETRY_MOST)


def booking_confirmations_send_due() -> int:
    """Send every confirmation due in this mission; return how many were sent.

    Each is taken with its row locked (`SKIP LOCKED`: a sweep running at the same time takes
    the others, never the same one), sent, and its row deleted, in one transaction. The lock is
    on the work list's row, not the booking's: a cancel or a check-in never waits for the mail
    server. A failed send is logged and tried again later (1 minute, doubling, at most an hour
    apart) for as long as the appointment is ahead; a confirmation may go twice only after a
    crash between the send and the commit. A booking no longer active (cancelled, already
    checked in) or whose time has passed is dropped from the list without an e-mail."""
    from .. import emails

    sent = 0
    while True:
        now = timezone.now()
        with transaction.atomic():
            due = (
                ConfirmationDue.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("booking__slot", "booking__service")
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .order_by("booking_id")
                .first()
            )
            if due is None:
                return sent
            booking = due.booking
            if booking.status != BookingStatus.ACTIVE or booking.slot.starts_at <= now:
                due.delete()
                continue
            try:
                with transaction.atomic():  # what the e-mail reads does not abort the sweep's
                    emails.booking_confirmation_send(booking=booking)
            except Exception:
                due.attempts += 1
                due.next_attempt_at = now + _retry_after(due.attempts)
                due.save(update_fields=["attempts", "next_attempt_at"])
                logger.exception(
                    "The confirmation of booking %s was not sent (attempt %s); next try at %s",
                    booking.reference,
                    due.attempts,
                    due.next_attempt_at.isoformat(),
                )
                continue
            due.delete()
            sent += 1
