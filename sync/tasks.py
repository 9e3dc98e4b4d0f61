"""Sync's Celery tasks: thin (appointments/tasks.py is the model). Beat runs
`every_mission_push_to_hq` in public every minute; it queues `push_to_hq` in each active
mission's schema, which pushes unless the mission's backoff says to wait."""

from __future__ import annotations

import logging

from celery import shared_task

from consulate.kernel.tenancy import task_queue_per_mission

logger = logging.getLogger(__name__)


@shared_task
def push_to_hq() -> None:
    """In one mission: one round trip to HQ, unless the last failures set a later time."""
    from .export import push_if_due
    from .keys import mission_code

    code = mission_code()
    result = push_if_due(code=code)
    if result is not None and result.error:
        logger.info(
            "sync push of %s failed (next try %s): %s", code, result.next_attempt_at, result.error
        )


@shared_task
def every_mission_push_to_hq() -> None:
    task_queue_per_mission(push_to_hq)
