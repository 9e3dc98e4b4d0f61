"""Rotate a mission's data key and re-encrypt its rows, while the mission keeps working."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_tenant_model

from consulate.kernel.actors import SYSTEM
from consulate.kernel.crypto.services import ReencryptProgress, mission_reencrypt
from consulate.kernel.errors import ApplicationError
from missions.services import mission_data_key_rotate


class Command(BaseCommand):
    help = (
        "Make a new data key active for a mission, then re-encrypt every row still under an "
        "older key. Reads keep working throughout; safe to run again (--no-rotate to only sweep)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("mission_code")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--no-rotate", action="store_true", help="only re-encrypt rows under older keys"
        )
        parser.add_argument(
            "--by", default="", help="e-mail of the HQ admin doing it (audit); else the platform"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["mission_code"].strip().lower()
        mission = get_tenant_model().objects.filter(code=code).first()
        if mission is None or mission.schema_name == settings.PUBLIC_SCHEMA_NAME:
            raise CommandError(f"no mission with the code {code!r}")
        acting_user: Any = SYSTEM
        if options["by"]:
            acting_user = get_user_model().objects.filter(email__iexact=options["by"]).first()
            if acting_user is None:
                raise CommandError(f"no user {options['by']!r}")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")

        schema = mission.schema_name
        if not options["no_rotate"]:
            try:
                key = mission_data_key_rotate(mission=mission, acting_user=acting_user)
            except ApplicationError as error:
                raise CommandError(f"{code}: {error.message}") from error
            self.stdout.write(f"{code}: key {key.key_id} is now active; re-encrypting…")

        def report(step: ReencryptProgress) -> None:
            self.stdout.write(f"  {step.table}: {step.rows_done} of {step.rows_pending} rows")

        result = mission_reencrypt(
            schema_name=schema, batch_size=options["batch_size"], progress=report
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{code}: re-encrypted {result.rows_reencrypted} rows of {result.rows_total} "
                f"in {result.tables} tables; key {result.key_id} active."
            )
        )
