"""Reconcile missions with HQ (`sync.reconcile`): compare per-day digests, re-send what HQ
lacks, report conflicts, and print one line per mission:

    berlin: 412 days compared, 2 differed (2026-11-03: HQ 118 / mission 120 events),
    2 events re-sent, 0 conflicts, 0 differences left

Runs where the missions' schemas are: HQ's database (every mission) or a mission's own node.
Exits with status 1 when a mission could not be reconciled or differences are left.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_tenant_model, schema_context

from sync.reconcile import ReconcileError, mission_reconcile

from ._sync_cli import mission_served_here, missions_served_here


class Command(BaseCommand):
    help = "Compare a mission's events with HQ's day by day, and re-send what HQ lacks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("missions", nargs="*", help="Mission codes, e.g. berlin")
        parser.add_argument("--all", action="store_true", help="Every active mission")

    def handle(self, *args: Any, **options: Any) -> None:
        codes: list[str] = options["missions"]
        if bool(codes) == options["all"]:
            raise CommandError("Name the missions to reconcile, or give --all.")
        if options["all"]:
            missions = missions_served_here()
        else:
            for code in codes:
                mission_served_here(code)  # known, and served here
            missions = get_tenant_model().objects.filter(code__in=codes)
        failed = 0
        for code, schema in missions.order_by("code").values_list("code", "schema_name"):
            self.stdout.write(f"{code}: comparing the days up to HQ's acknowledged mark ...")
            started = time.monotonic()
            try:
                with schema_context(schema):
                    report = mission_reconcile(code=code)
            except ReconcileError as error:
                failed += 1
                self.stderr.write(f"{code}: not reconciled: {error}")
                continue
            failed += bool(report.left)
            style = self.style.WARNING if report.left or report.conflicts else self.style.SUCCESS
            self.stdout.write(style(report.summary()))
            self.stdout.write(
                f"{code}: up to #{report.upto_seq}, {time.monotonic() - started:.1f} s"
            )
        if failed:
            raise CommandError(f"{failed} mission(s) not reconciled or with differences left.")
