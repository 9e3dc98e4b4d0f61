"""`manage.py import_exchange_rates rates.csv`: HQ's consular rates from a CSV file.

Columns: currency,rate,effective_date (rate = units of the currency per one unit of the base
currency). The whole file is applied or nothing is; the command says what it did. It acts as
SYSTEM (whoever may run commands on the server may manage reference data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consulate.kernel.actors import SYSTEM
from consulate.kernel.tenancy import use_public_schema
from fees.reference.services import exchange_rate_import_csv


class Command(BaseCommand):
    help = "Import consular exchange rates (currency,rate,effective_date) from a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        use_public_schema()
        result = exchange_rate_import_csv(
            text=path.read_text(encoding="utf-8-sig"), acting_user=SYSTEM, source=path.name
        )
        if result.errors:
            for error in result.errors:
                self.stderr.write(error)
            raise CommandError(f"{path.name}: nothing imported ({len(result.errors)} error(s))")
        self.stdout.write(
            f"{path.name}: {result.created} rate(s) created, {result.corrected} corrected,"
            f" {result.unchanged} unchanged"
        )
