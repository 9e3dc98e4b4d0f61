"""`manage.py reference_publish`: HQ signs its reference data as a new version, if it changed.

Prints the version published, or the version the missions already have when nothing changed.
With `--apply` it also applies the newest version to every mission schema in this database,
now and one after the other (what the fan-out task does after a publish; for a deploy script or
a worker that is down). It acts as SYSTEM: whoever may run commands on the server may publish
what HQ's tables hold. A mission node (SYNC_HQ_URL set) has nothing to publish.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from consulate.kernel.actors import SYSTEM
from sync.hq.models import ReferenceVersion
from sync.reference import reference_apply_local, reference_publish


class Command(BaseCommand):
    help = "Publish HQ's reference data as a new signed version if it changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--apply",
            action="store_true",
            help="also apply the newest version to every mission schema in this database now",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if getattr(settings, "SYNC_HQ_URL", ""):
            raise CommandError("this is a mission node: reference data is published by HQ")
        version = reference_publish(acting_user=SYSTEM)
        if version is not None:
            self.stdout.write(
                f"reference data v{version.version} published ({', '.join(version.sets)};"
                f" {len(bytes(version.data))} bytes)"
            )
        else:
            latest = ReferenceVersion.objects.order_by("-version").first()
            self.stdout.write(
                f"reference data unchanged: v{latest.version if latest else 0} is current"
            )
        if options["apply"]:
            applied = reference_apply_local()
            self.stdout.write(f"applied in {applied} mission schema(s) that were behind")
