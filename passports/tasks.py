"""Celery tasks: thin. Each loads by id (in the schema it was queued from) and calls an e-mail
function or a service."""

from __future__ import annotations

from celery import shared_task

from . import emails
from .models import ApplicationStep


@shared_task
def send_application_step(step_id: int) -> None:
    emails.application_step_send(
        step=ApplicationStep.objects.select_related("application").get(pk=step_id)
    )
