"""Celery tasks: thin. Each loads by id (in the schema it was queued from) and calls an e-mail
function or a service."""

from __future__ import annotations

from celery import shared_task

from consulate.kernel.tenancy import task_queue_per_mission

from . import emails
from .models import VisaStep


@shared_task
def send_visa_step(step_id: int) -> None:
    emails.visa_step_send(step=VisaStep.objects.select_related("application").get(pk=step_id))


@shared_task
def expire_corrections() -> int:
    """In a mission's schema: applications whose corrections were due before today are deemed
    withdrawn (the applicant is told)."""
    from .services.casework import corrections_expire

    return corrections_expire()


@shared_task
def every_mission_expire_corrections() -> None:
    task_queue_per_mission(expire_corrections)
