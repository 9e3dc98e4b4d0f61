"""Celery tasks: thin. The per-mission task runs in the schema it was queued from
(tenant-schemas-celery) and calls a service; the beat task runs in public and queues one per
active mission schema."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django_tenants.utils import schema_context


def _mission_schemas() -> list[str]:
    from missions.models import Mission, MissionStatus

    return list(
        Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .filter(status=MissionStatus.ACTIVE)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


@shared_task
def expire_stale_card_payments() -> int:
    """In one mission: expire card checkouts nobody answered, so their amount is free again."""
    from .services.payment import payment_expire_stale

    return payment_expire_stale()


@shared_task
def every_mission_expire_stale_card_payments() -> None:
    for schema_name in _mission_schemas():
        with schema_context(schema_name):
            expire_stale_card_payments.delay()
