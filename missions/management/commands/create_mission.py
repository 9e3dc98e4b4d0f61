"""Create a mission from the command line (the same service HQ's admin uses)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM, SystemActor
from consulate.kernel.errors import ApplicationError
from missions.models import MissionKind
from missions.services import mission_create


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Command(BaseCommand):
    help = "Create a mission: its row, host name, schema (cloned from the template) and data key."

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = [k for k in MissionKind.values if k != MissionKind.HEADQUARTERS]
        parser.add_argument("code", help="Short code; the mission is served at <code>.<host>.")
        parser.add_argument("--name", required=True, help="In English (every language's fallback)")
        parser.add_argument("--name-tr", default="", help="In Turkish")
        parser.add_argument("--kind", required=True, choices=kinds)
        parser.add_argument("--country", required=True, help="ISO 3166 code of the host country")
        parser.add_argument("--city", required=True, help="In English (every language's fallback)")
        parser.add_argument("--city-tr", default="", help="In Turkish")
        parser.add_argument("--timezone", required=True, help="IANA name, e.g. Europe/Berlin")
        parser.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR")
        parser.add_argument("--languages", required=True, type=_list, help="e.g. de,tr,en")
        parser.add_argument("--jurisdiction", default=[], type=_list, help="e.g. DE-BY,DE-BW")
        parser.add_argument(
            "--address", default="", help="In English, lines separated by \\n, no country"
        )
        parser.add_argument("--address-tr", default="", help="In Turkish")
        parser.add_argument("--phone", default="")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--by", help="E-mail of the HQ admin acting (recorded as creator); else the platform."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        acting_user: User | SystemActor = SYSTEM
        if options["by"]:
            by = User.objects.filter(email=options["by"].lower()).first()
            if by is None:
                raise CommandError(f"No user {options['by']!r}.")
            acting_user = by
        started = time.monotonic()
        try:
            mission = mission_create(
                code=options["code"],
                name=options["name"],
                name_tr=options["name_tr"],
                kind=options["kind"],
                host_country=options["country"],
                city=options["city"],
                city_tr=options["city_tr"],
                timezone=options["timezone"],
                currency=options["currency"],
                languages=options["languages"],
                jurisdiction=options["jurisdiction"],
                address=options["address"].replace("\\n", "\n"),
                address_tr=options["address_tr"].replace("\\n", "\n"),
                phone=options["phone"],
                email=options["email"],
                acting_user=acting_user,
            )
        except ApplicationError as error:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.errors.items())
            raise CommandError(f"{error.message} {details}".strip()) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {mission.name} ({mission.code}) in schema {mission.schema_name}, "
                f"served at {mission.host}, in {time.monotonic() - started:.2f}s."
            )
        )
