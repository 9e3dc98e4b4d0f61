"""Check a visible digital seal offline: `manage.py seal verify FILE --trust BUNDLE.pem`.

At HQ, `manage.py seal export-trust OUT.pem` writes that bundle from HQ's register of signers,
and `manage.py seal issue-signers` gives a document-signing key to every active mission that
has no valid one (after `seed_demo`, or for missions opened before seals).

FILE is a picture of the seal (PNG, JPEG), a PDF that carries it as an image, or the seal's
bytes; BUNDLE.pem is HQ's trust bundle (root, signer certificates, CRL), so a border post or
an auditor needs nothing but this command and the bundle. The signed data is printed, then the
verdict; anything but a valid seal ends with an error (exit status 1) that says why."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from consulate.kernel.seal import (
    SealError,
    SealVerdict,
    seal_decode,
    seal_extract,
    seal_profile,
    seal_trust_dump,
    seal_trust_load,
    seal_verify,
)

MAX_FILE_BYTES = 20 * 1024 * 1024


class Command(BaseCommand):
    help = "Verify a visible digital seal (ICAO Doc 9303 Part 13) offline against a trust bundle."
    requires_system_checks: list[str] = []  # `verify` reads two files, touches no database

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        verify = actions.add_parser("verify", help="Verify the seal in a file.")
        verify.add_argument("file", help="A PNG or JPEG of the seal, a PDF with it, or its bytes")
        verify.add_argument("--trust", required=True, help="The trust bundle (PEM) from HQ")
        export = actions.add_parser("export-trust", help="Write HQ's current trust bundle (HQ).")
        export.add_argument("out", help="Where to write the bundle (PEM); - for standard output")
        actions.add_parser(
            "issue-signers", help="Issue a seal key to every active mission without one (HQ)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export-trust":
            self._trust_export(options["out"])
            return
        if options["action"] == "issue-signers":
            self._signers_issue()
            return
        trust_data = _file_read(options["trust"])
        data = _file_read(options["file"])
        try:
            trust = seal_trust_load(trust_data)
            seal = seal_decode(seal_extract(data))
        except SealError as error:
            raise CommandError(str(error.message)) from None
        verdict = seal_verify(seal=seal, trust=trust, at=dt.datetime.now(dt.UTC))
        self._verdict_write(verdict)
        if not verdict.is_valid:
            raise CommandError(f"{verdict.status.value.upper()}: {verdict.reason}")

    # HQ's database is read only by these two, imported here: `verify` runs with no database
    def _trust_export(self, out: str) -> None:
        from passports.register.seal_keys import seal_trust_current

        try:
            bundle = seal_trust_dump(seal_trust_current())
        except ApplicationError as error:
            raise CommandError(str(error.message)) from None
        if out == "-":
            self.stdout.write(bundle.decode(), ending="")
            return
        try:
            Path(out).write_bytes(bundle)
        except OSError as error:
            raise CommandError(
                str(
                    _("Cannot write %(file)s: %(reason)s") % {"file": out, "reason": error.strerror}
                )
            ) from None
        self.stdout.write(self.style.SUCCESS(f"{out}: {len(bundle)} bytes"))

    def _signers_issue(self) -> None:
        from passports.register.seal_keys import seal_keys_set_up

        seal_keys_set_up(stdout=self.stdout)

    def _verdict_write(self, verdict: SealVerdict) -> None:
        header = verdict.seal.header
        profile = seal_profile(seal=verdict.seal)
        rows: list[tuple[Any, str]] = [
            (_("Issuing country"), header.country),
            (_("Signer"), f"{header.signer_identifier} / {header.certificate_reference}"),
            (_("Issued on"), header.issue_date.isoformat()),
            (_("Signed on"), header.signature_date.isoformat()),
        ]
        if verdict.content is not None:
            rows += verdict.content.display()
        else:
            # the seal's data as it stands, for a profile that could not read it
            code = f"{header.feature_definition_reference:02X}{header.document_type_category:02X}"
            rows.append((_("Document type"), str(profile.label) if profile else code))
            rows += [(f"{feature.tag:02X}", feature.value.hex().upper())
                     for feature in verdict.seal.features]  # fmt: skip
        width = max(len(str(label)) for label, _value in rows)
        for label, value in rows:
            lines = value.split("\n")
            self.stdout.write(f"{label!s:<{width}}  {lines[0]}")
            for line in lines[1:]:
                self.stdout.write(f"{'':<{width}}  {line}")
        # the verdict last, where the eye lands; anything but valid is the CommandError's line
        if verdict.is_valid:
            self.stdout.write(self.style.SUCCESS(f"VALID: {verdict.reason}"))


def _file_read(name: str) -> bytes:
    path = Path(name)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CommandError(str(_("The file is too large to hold a seal.")))
        return path.read_bytes()
    except OSError as error:
        raise CommandError(
            str(_("Cannot read %(file)s: %(reason)s") % {"file": name, "reason": error.strerror})
        ) from None
