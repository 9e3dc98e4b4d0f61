"""Beat: reconcile every mission with HQ once a day (`sync.reconcile.mission_reconcile`).

`every_mission_reconcile` runs in public and queues `reconcile_mission` in each active mission's
schema (`task_queue_per_mission`); differences left show on HQ's sync page
(`MissionLink.reconcile_differences`). A mission HQ cannot be reached from is tried the next day;
a push in between does not need it."""

from __future__ import annotations

import logging

from celery import shared_task

from consulate.kernel.tenancy import task_queue_per_mission

from .reconcile import ReconcileError, mission_reconcile

logger = logging.getLogger("sync.reconcile")


@shared_task
def reconcile_mission() -> str:
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
