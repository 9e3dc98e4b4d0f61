"""A file for the diplomatic bag, in either direction (docs/sync.md, "Files")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context, tenant_context

from consulate.kernel.errors import ApplicationError

from ...bundle import file_unpack
from ...export import file_export_build
from ._sync_cli import file_write, mission_served_here, seq_range


class Command(BaseCommand):
    help = (
        "At a mission: write every bundle HQ has not acknowledged to a file, sealed for HQ "
        "(sync_export <mission> --out FILE [--plain]). At HQ: write HQ's signed answer and its "
        "newest reference data for a mission (sync_export --answer <mission> --out FILE)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("mission_code", nargs="?", help="the mission whose bundles to export")
        parser.add_argument("--out", required=True, help="the file to write")
        parser.add_argument(
            "--plain", action="store_true", help="do not seal the file for HQ (signed only)"
        )
        parser.add_argument(
            "--answer", metavar="MISSION", help="at HQ: HQ's answer for this mission instead"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["answer"]:
            if options["mission_code"]:
                raise CommandError("give either a mission or --answer MISSION, not both")
            self._answer(options["answer"].strip().lower(), options["out"])
            return
        if not options["mission_code"]:
            raise CommandError("name the mission whose bundles to export (or --answer MISSION)")
        mission = mission_served_here(options["mission_code"])
        with tenant_context(mission):
            try:
                export = file_export_build(code=mission.code, sealed=not options["plain"])
            except ApplicationError as error:
                raise CommandError(f"{mission.code}: {error.message}") from error
        if not export.bundles:
            self.stdout.write(
                f"{mission.code}: nothing to export, HQ has acknowledged every event; "
                f"no file written."
            )
            return
        file_write(options["out"], export.data)
        first, last = export.bundles[0], export.bundles[-1]
        sealing = (
            f"sealed for HQ's key {export.sealed_key_id}"
            if export.sealed_key_id is not None
            else "not sealed (signed only)"
        )
        numbers = (
            f"bundle {first.number}"
            if first.number == last.number
            else f"{len(export.bundles)} bundles {first.number}–{last.number}"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{mission.code}: {numbers}, {export.event_count:,} events "
                f"{seq_range(first.first_seq, last.last_seq)}, {sealing}: "
                f"{len(export.data):,} bytes written to {options['out']}"
            )
        )

    def _answer(self, code: str, out: str) -> None:
        from ...hq.answer import answer_build
        from ...hq.models import MissionKey, MissionLink

        with schema_context("public"):
            if not MissionKey.objects.filter(mission=code).exists():
                raise CommandError(f"HQ knows no mission {code!r} (no key registered)")
            link = MissionLink.objects.filter(mission=code).first()
            reference_version = link.reference_version_acked if link else 0
            data = answer_build([], mission=code, reference_version=reference_version)
        file_write(out, data)
        frames = file_unpack(data)
        acked = frames[0].header["acked_seq"]
        versions = [f.header.get("version") for f in frames if f.header["kind"] == "reference"]
        reference = (
            f"reference data version {versions[0]}"
            if versions
            else f"no reference data newer than version {reference_version}"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{code}: HQ's answer (applied to #{acked:,}, {reference}): "
                f"{len(data):,} bytes written to {out}"
            )
        )
