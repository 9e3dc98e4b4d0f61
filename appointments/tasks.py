"""Celery tasks: thin. Each loads by id (in the schema it was queued from; tenant-schemas-celery)
and calls a service or an e-mail function. The beat tasks run in public and queue one task per
mission schema."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from . import emails
from .models import (
    Booking,
    LotteryEntry,
    LotteryRound,
    LotteryStatus,
    Service,
    WaitlistEntry,
)


def _mission_schemas() -> list[str]:
    from missions.models import Mission, MissionStatus

    return list(
        Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .filter(status=MissionStatus.ACTIVE)
        .values_list("schema_name", flat=True)
    )


@shared_task
def send_booking_confirmation(booking_id: int) -> None:
    emails.booking_confirmation_send(
        booking=Booking.objects.select_related("slot", "service").get(pk=booking_id)
    )


@shared_task
def send_cancelled_by_mission(booking_id: int) -> None:
    emails.booking_cancelled_by_mission_send(
        booking=Booking.objects.select_related("slot", "service").get(pk=booking_id)
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
    """In one mission: extend every service's slots to its horizon."""
    from .services import slot_generate

    for service in Service.objects.filter(is_active=True):
        slot_generate(service=service)


@shared_task
def send_reminders() -> None:
    """In one mission: remind everyone whose appointment starts within the next 24 hours."""
    from .services.reminders import booking_remind_due

    booking_remind_due()


@shared_task
def run_due_draws() -> None:
    """In one mission: draw every lottery round whose window has closed."""
    from .services import lottery_draw

    for lottery_round in LotteryRound.objects.filter(
        status=LotteryStatus.OPEN, window_closes_at__lte=timezone.now()
    ):
        lottery_draw(lottery_round=lottery_round, acting_user=None)


def _fan_out(task: object) -> None:
    for schema_name in _mission_schemas():
        with schema_context(schema_name):
            task.delay()  # type: ignore[attr-defined]


@shared_task
def every_mission_generate_slots() -> None:
    _fan_out(generate_slots)


@shared_task
def every_mission_send_reminders() -> None:
    _fan_out(send_reminders)


@shared_task
def every_mission_run_due_draws() -> None:
    _fan_out(run_due_draws)


@shared_task
def every_mission_expire_waitlist_offers() -> None:
    _fan_out(expire_waitlist_offers)
