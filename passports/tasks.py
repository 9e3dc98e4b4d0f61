"""Celery tasks: thin. Each loads by id (in the schema it was queued from) and calls an e-mail
function or a service."""

from __future__ import annotations

from celery import shared_task

from consulate.kernel.tenancy import task_queue_per_mission

from . import emails, services
from .models import ApplicationStep, EmergencyTravelDocument


@shared_task
def send_application_step(step_id: int) -> None:
    emails.application_step_send(
        step=ApplicationStep.objects.select_related("application").get(pk=step_id)
    )


@shared_task
def receive_dispatches() -> int:
    """In a mission's schema: the approved cases HQ has printed move on (their timeline too)."""
    return services.dispatches_receive()


@shared_task
def every_mission_receive_dispatches() -> None:
    task_queue_per_mission(receive_dispatches)


@shared_task
def send_etd_mail(etd_id: int, what: str) -> None:
    emails.etd_mail_send(etd=EmergencyTravelDocument.objects.get(pk=etd_id), what=what)
