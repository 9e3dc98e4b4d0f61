"""Celery tasks: thin. Each loads by id (in the schema it was queued from; tenant-schemas-celery)
and calls a service or an e-mail function, as SYSTEM where the platform acts. The beat tasks
run in public and queue one task per active mission (`task_queue_per_mission`)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from consulate.kernel.actors import SYSTEM
from consulate.kernel.tenancy import task_queue_per_mission

from . import emails
from .models import Booking, LotteryEntry, LotteryRound, LotteryStatus, Slot, WaitlistEntry


@shared_task
def send_booking_confirmation(booking_id: int) -> None:
    """Queued by the previous release for each booking (this one sends confirmations from
    `send_due_confirmations`); kept for one release so that what is queued at a deploy is sent.
    Remove in the next release."""
    emails.booking_confirmation_send(
        booking=Booking.objects.select_related("slot", "service").get(pk=booking_id)
    )


@shared_task
def send_due_confirmations() -> None:
    """In one mission: send the booking confirmations that are due (nudged after bookings
    commit, and every minute by beat)."""
    from .services import booking_confirmations_send_due

    booking_confirmations_send_due()


@shared_task
def send_booking_moved(booking_id: int, previous_slot_id: int | None = None) -> None:
    """After `booking_reschedule`: the booking (same reference) at its new time; the slot it
    left, if given, so the e-mail can say which time it replaces."""
    emails.booking_moved_send(
        booking=Booking.objects.select_related("slot", "service").get(pk=booking_id),
        previous_slot=Slot.objects.filter(pk=previous_slot_id).first()
        if previous_slot_id is not None
        else None,
    )


@shared_task
def send_booking_cancelled(booking_id: int) -> None:
    """After the person's own cancellation (`booking_cancel`, `booking_cancel_by_token`)."""
    emails.booking_cancelled_send(
        booking=Booking.objects.select_related("slot", "service").get(pk=booking_id)
    )


@shared_task
def send_cancelled_by_mission(
    booking_id: int, visited_at: str | None = None, *, hours_changed: bool = False
) -> None:
    """Why the mission cancelled, which the e-mail says: a closure that day (by default);
    `hours_changed`, its time is outside the mission's new opening hours; `visited_at`
    (ISO 8601), a case recorded the person's visit then (`booking_visit_record`)."""
    emails.booking_cancelled_by_mission_send(
        booking=Booking.objects.select_related("slot", "service").get(pk=booking_id),
        visited_at=dt.datetime.fromisoformat(visited_at) if visited_at is not None else None,
        hours_changed=hours_changed,
    )


@shared_task
def send_lottery_result(entry_id: int) -> None:
    emails.lottery_result_send(
        entry=LotteryEntry.objects.select_related("booking__slot").get(pk=entry_id)
    )


@shared_task
def send_waitlist_offer(entry_id: int) -> None:
    emails.waitlist_offer_send(entry=WaitlistEntry.objects.select_related("slot").get(pk=entry_id))


@shared_task
def expire_waitlist_offers() -> None:
    """In one mission: expire unanswered offers and offer their places to the next person."""
    from .services import waitlist_expire_offers

    waitlist_expire_offers()


@shared_task
def generate_slots() -> None:
    """In one mission: extend every offered service's slots to its horizon, then tell HQ what
    each service's availability is now, if it changed (`availability_report`)."""
    from missions.selectors import current_mission

    from .services import availability_report, slot_generate_all

    slot_generate_all(acting_user=SYSTEM)
    availability_report(mission=current_mission(), acting_user=SYSTEM)


@shared_task
def report_availability() -> None:
    """In one mission: tell HQ each service's availability now, if it changed (a closure or new
    opening hours just removed free times: `availability_report_nudge`)."""
    from missions.selectors import current_mission

    from .services import availability_report

    availability_report(mission=current_mission(), acting_user=SYSTEM)


@shared_task
def send_reminders() -> None:
    """In one mission: remind everyone whose appointment starts within the next 24 hours."""
    from .services import booking_remind_due

    booking_remind_due()


@shared_task
def run_due_draws() -> None:
    """In one mission: draw every lottery round whose window has closed."""
    from .services import lottery_draw

    for lottery_round in LotteryRound.objects.filter(
        status=LotteryStatus.OPEN, window_closes_at__lte=timezone.now()
    ):
        lottery_draw(lottery_round=lottery_round, acting_user=SYSTEM)


@shared_task
def every_mission_generate_slots() -> None:
    task_queue_per_mission(generate_slots)


@shared_task
def every_mission_send_due_confirmations() -> None:
    task_queue_per_mission(send_due_confirmations)


@shared_task
def every_mission_send_reminders() -> None:
    task_queue_per_mission(send_reminders)


@shared_task
def every_mission_run_due_draws() -> None:
    task_queue_per_mission(run_due_draws)


@shared_task
def every_mission_expire_waitlist_offers() -> None:
    task_queue_per_mission(expire_waitlist_offers)
