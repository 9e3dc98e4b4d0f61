"""At HQ: freeze a mission here and write the package that moves it to its own node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from missions.selectors import mission_by_code
from missions.services.node import mission_node_export


class Command(BaseCommand):
    help = (
        "Move a mission to its own node: freeze it in this database (its pages send people to "
        "the node from now on) and write its schema and the accounts it needs into a folder."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("mission_code")
        parser.add_argument("--out", required=True, help="an empty or new folder")
        parser.add_argument("--node-url", required=True, help="where the node serves it")
        parser.add_argument("--by", default="", help="e-mail of the HQ admin doing it (audit)")

    def handle(self, *args: Any, **options: Any) -> None:
        mission = mission_by_code(code=options["mission_code"].strip().lower())
        if mission is None or mission.is_hq:
            raise CommandError(f"no mission with the code {options['mission_code']!r}")
        acting_user: Any = SYSTEM
        if options["by"]:
            acting_user = get_user_model().objects.filter(email__iexact=options["by"]).first()
            if acting_user is None:
                raise CommandError(f"no user {options['by']!r}")
        try:
            move = mission_node_export(
                mission=mission,
                node_url=options["node_url"],
                out_dir=Path(options["out"]),
                acting_user=acting_user,
            )
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(
            f"{move.mission}: frozen here, now served by {options['node_url']}. Package in "
            f"{options['out']}: schema {move.schema_name} ({move.dump_bytes:,} bytes), "
            f"{move.accounts} accounts, {move.memberships} roles."
        )
