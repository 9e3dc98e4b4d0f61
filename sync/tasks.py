"""Sync's Celery tasks: thin (appointments/tasks.py is the model). Beat runs, in public:

- `every_mission_push_to_hq` every minute: it queues `push_to_hq` in each active mission's
  schema, which pushes unless the mission's backoff says to wait;
- `every_mission_reconcile` once a day: it queues `reconcile_mission` in each, which compares
  the mission's per-day digests with HQ's and repairs what differs (`sync.reconcile`);
  differences left show on HQ's sync page (`MissionLink.reconcile_differences`). A mission
  that cannot reach HQ is tried the next day;
- `reference_refresh` every 15 minutes, at HQ: publishes reference data a change committed
  without publishing (a crash after the commit) and lets every mission catch up
  (`sync.reference`); after each publish `reference_fan_out` does the same at once."""

from __future__ import annotations

import logging

from celery import shared_task

from consulate.kernel.actors import SYSTEM
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


@shared_task
def reconcile_mission() -> str:
    from .reconcile import ReconcileError, mission_reconcile

    try:
        report = mission_reconcile()
    except ReconcileError as error:
        logger.warning("reconciliation failed: %s", error)
        return f"not reconciled: {error}"
    log = logger.warning if report.left or report.conflicts else logger.info
    log("%s", report.summary())
    return report.summary()


@shared_task
def every_mission_reconcile() -> int:
    return task_queue_per_mission(reconcile_mission)


@shared_task
def reference_apply_latest_task() -> bool:
    """In one mission schema (tenant-schemas-celery): catch up with HQ's newest version."""
    from .reference import reference_apply_latest

    return reference_apply_latest()


@shared_task
def reference_fan_out() -> int:
    """In public, after a publish: queue the catch-up in every active mission's schema."""
    return task_queue_per_mission(reference_apply_latest_task)


@shared_task
def reference_refresh() -> int:
    """Beat, at HQ: publish if anything changed without a publish (a crash after a commit), then
    let every mission catch up. A mission node does nothing."""
    from .reference import _mission_node, reference_publish

    if _mission_node():
        return 0
    if reference_publish(acting_user=SYSTEM) is not None:
        return 0  # the publish queued the fan-out
    return task_queue_per_mission(reference_apply_latest_task)
