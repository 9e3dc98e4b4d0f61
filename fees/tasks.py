"""Celery tasks: thin. The per-mission task runs in the schema it was queued from
(tenant-schemas-celery) and calls a service as SYSTEM; the beat task runs in public and queues
it once per active mission (`task_queue_per_mission`)."""

from __future__ import annotations

from celery import shared_task

from consulate.kernel.actors import SYSTEM
from consulate.kernel.tenancy import task_queue_per_mission


@shared_task
def expire_stale_card_payments() -> int:
    """In one mission: expire card checkouts nobody answered, so their amount is free again."""
    from .services import payment_expire_stale

    return payment_expire_stale(acting_user=SYSTEM)


@shared_task
def every_mission_expire_stale_card_payments() -> int:
    return task_queue_per_mission(expire_stale_card_payments)
