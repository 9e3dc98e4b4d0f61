"""Booking confirmations: sent by a sweep of the bookings whose confirmation is due.

A booking's own statement marks its confirmation due (`Booking.confirmation_due`), so the
booking and the promise of its e-mail commit together; the request then only nudges the sweep
(`task_nudge_on_commit`: at most one task queued per second per process and mission, whatever
the number of bookings). Beat sweeps every mission every minute as well, so a confirmation
whose nudge was lost (a broker that was down, a worker that died) still goes, late rather than
never."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from consulate.kernel.actors import SYSTEM
from consulate.kernel.history import set_acting_user
from consulate.kernel.tenancy import task_nudge_on_commit

from ..models import Booking, BookingStatus

logger = logging.getLogger(__name__)

BATCH = 100


def booking_confirmation_nudge() -> None:
    """After the current transaction commits, make sure a sweep runs soon (a booking whose
    confirmation is due has just been written)."""
    from ..tasks import send_due_confirmations

    task_nudge_on_commit(
        send_due_confirmations, every=settings.APPOINTMENTS_CONFIRMATION_NUDGE_SECONDS
    )


def booking_confirmations_send_due() -> int:
    """Send every confirmation due in this mission (as SYSTEM); return how many were sent.

    Each booking is locked while its e-mail is sent and then marked sent, in one transaction: a
    sweep running at the same time skips it (no e-mail twice from two sweeps), and a mail
    server that fails, or a crash between the e-mail and the mark, leaves it due for the next
    sweep (at least once, never lost). A failure is logged and the sweep goes on with the
    others. A booking no longer active (cancelled within the second, say) is marked without an
    e-mail: its own change sends what it needs to."""
    from .. import emails

    sent = 0
    tried: set[int] = set()
    while True:
        due = list(
            Booking.objects.filter(confirmation_due=True)
            .exclude(pk__in=tried)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not due:
            return sent
        for pk in due:
            tried.add(pk)
            mailed = False
            try:
                with transaction.atomic():
                    booking = (
                        Booking.objects.select_for_update(skip_locked=True, of=("self",))
                        .select_related("slot", "service")
                        .filter(pk=pk, confirmation_due=True)
                        .first()
                    )
                    if booking is None:  # another sweep has it, or has sent it
                        continue
                    if booking.status == BookingStatus.ACTIVE:
                        emails.booking_confirmation_send(booking=booking)
                        mailed = True
                    booking.confirmation_due = False
                    set_acting_user(booking, SYSTEM)
                    booking.save(update_fields=["confirmation_due"])
            except Exception:
                logger.exception("The confirmation of booking %s was not sent; still due", pk)
                continue
            sent += mailed
