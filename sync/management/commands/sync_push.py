"""Push a mission's bundles to HQ now (beat does it every minute, with backoff)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_tenants.utils import tenant_context

from ...export import push
from ._sync_cli import mission_served_here, missions_served_here


class Command(BaseCommand):
    help = "Push now, whatever the backoff says: one mission, or --all active missions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("mission_code", nargs="?")
        parser.add_argument("--all", action="store_true", help="every active mission")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["mission_code"]) == bool(options["all"]):
            raise CommandError("name one mission or give --all")
        if options["all"]:
            missions = list(missions_served_here())
        else:
            missions = [mission_served_here(options["mission_code"])]
        failed = 0
        for mission in missions:
            with tenant_context(mission):
                result = push(code=mission.code)
            if result.ok:
                sent = (
                    f"bundle(s) {result.sent[0]}–{result.sent[-1]}"
                    if len(result.sent) > 1
                    else f"bundle {result.sent[0]}"
                )
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{mission.code}: sent {sent}; HQ has applied every event to "
                        f"#{result.acked_seq:,}"
                    )
                )
                continue
            failed += 1
            when = (
                timezone.localtime(result.next_attempt_at).strftime("%Y-%m-%d %H:%M:%S %Z")
                if result.next_attempt_at
                else "?"
            )
            self.stdout.write(
                self.style.ERROR(f"{mission.code}: failed: {result.error}; beat tries again {when}")
            )
        if failed:
            raise CommandError(f"{failed} of {len(missions)} push(es) failed")
