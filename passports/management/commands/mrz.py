"""Compose the MRZ of a passport or visa from its fields, or check one read from a document.

    manage.py mrz compose td3 --surname Eriksson --given-names "Anna Maria" \\
        --document-number L898902C3 --issuing-state UTO --nationality UTO \\
        --birth 1974-08-12 --sex F --expiry 2012-04-15 --optional ZE184226B
    manage.py mrz check "P<UTOERIKSSON<<ANNA<MARIA<<<…" "L898902C36UTO7408122F1204159…"

`check` exits non-zero (a CommandError) when it finds a problem, so a script can rely on it.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext_lazy as _

from passports.mrz import (
    MrzError,
    MrzFields,
    MrzReading,
    mrva_compose,
    mrvb_compose,
    mrz_parse,
    td3_compose,
)
from passports.mrz.errors import field_label

COMPOSERS = {"td3": td3_compose, "mrva": mrva_compose, "mrvb": mrvb_compose}


def _date_option(*, option: str, value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("%(option)s: %(value)s is not a date (YYYY-MM-DD).")
            % {"option": option, "value": repr(value)}
        ) from None


class Command(BaseCommand):
    help = "Compose the MRZ of a passport (td3) or visa (mrva, mrvb), or check one."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        compose = actions.add_parser("compose", help="print the two MRZ lines for these fields")
        compose.add_argument("format", choices=sorted(COMPOSERS))
        compose.add_argument("--surname", required=True, help="primary identifier")
        compose.add_argument("--given-names", default="", help="secondary identifier")
        compose.add_argument("--document-number", required=True)
        compose.add_argument("--issuing-state", required=True, help="ICAO code, e.g. TUR")
        compose.add_argument("--nationality", required=True, help="ICAO code, e.g. TUR")
        compose.add_argument("--birth", required=True, help="YYYY-MM-DD")
        compose.add_argument("--sex", required=True, help="M, F or X")
        compose.add_argument("--expiry", required=True, help="YYYY-MM-DD")
        compose.add_argument("--optional", default="", help="personal number or optional data")
        compose.add_argument(
            "--document-code", default="", help="P or V and the State's letter, e.g. PE"
        )
        check = actions.add_parser("check", help="read two MRZ lines and report every problem")
        check.add_argument("line1")
        check.add_argument("line2")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "compose":
            self._compose(options)
        else:
            self._check(options)

    def _compose(self, options: dict[str, Any]) -> None:
        fields = MrzFields(
            document_code=options["document_code"],
            surname=options["surname"],
            given_names=options["given_names"],
            document_number=options["document_number"],
            issuing_state=options["issuing_state"],
            nationality=options["nationality"],
            birth_date=_date_option(option="--birth", value=options["birth"]),
            sex=options["sex"],
            expiry_date=_date_option(option="--expiry", value=options["expiry"]),
            optional_data=options["optional"],
        )
        try:
            lines = COMPOSERS[options["format"]](fields)
        except MrzError as error:
            raise CommandError(str(error.message)) from error
        for line in lines:
            self.stdout.write(line)

    def _check(self, options: dict[str, Any]) -> None:
        reading = mrz_parse([options["line1"], options["line2"]])
        self._reading_show(reading)
        if reading.problems:
            raise CommandError(
                "\n".join(
                    [str(_("The MRZ is not valid:"))]
                    + [f"  {problem.message}" for problem in reading.problems]
                )
            )
        self.stdout.write(self.style.SUCCESS(str(_("valid"))))

    def _reading_show(self, reading: MrzReading) -> None:
        if reading.mrz_format is None or not reading.lines:
            return
        shown = {
            "document_code": reading.document_code,
            "issuing_state": reading.issuing_state,
            "surname": reading.surname,
            "given_names": reading.given_names,
            "document_number": reading.document_number,
            "nationality": reading.nationality,
            "birth_date": reading.birth_date.isoformat() if reading.birth_date else "",
            "sex": reading.sex or "",
            "expiry_date": reading.expiry_date.isoformat() if reading.expiry_date else "",
            "optional_data": reading.optional_data,
        }
        self.stdout.write(f"{reading.mrz_format.name}")
        for field, value in shown.items():
            self.stdout.write(f"{field_label(field)}: {value}")
        if reading.name_possibly_truncated:
            self.stdout.write(str(_("The name fills its field and may have been truncated.")))
