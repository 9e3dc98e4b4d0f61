"""At a new node: load the package `mission_node_export` wrote at HQ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from consulate.kernel.errors import ApplicationError
from missions.services.node import mission_node_import

from .migrate_all import connected_as_owner


class Command(BaseCommand):
    help = "Load a mission moved from HQ (a folder from mission_node_export) into this database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # as the owner: the node's sequences are set past HQ's ids, which the application's
            # role may not do
            with connected_as_owner():
                move = mission_node_import(in_dir=Path(options["folder"]))
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(
            f"{move.mission}: schema {move.schema_name} loaded ({move.dump_bytes:,} bytes), "
            f"{move.accounts} accounts, {move.memberships} roles. Granting the application's "
            "role its rows:"
        )
        call_command("migrate_all", verbosity=options["verbosity"])
