"""HQ's answer to "is this document genuine and in force?", for the public verify page and API
(`passports/views_verify.py`). Reads only; nobody signs in.

A seal is checked against HQ's current trust (`seal_trust_current`: root, signers, CRL), then
against HQ's register of issued documents (emergency travel documents and visas): a document
its mission revoked (a visa annulled or revoked) answers REVOKED although its signer was not,
and one reported lost or stolen answers INVALID, saying so. A typed number is looked up in the
registers alone, which can say whether such a document was issued and is in force, never that
the paper in hand is genuine: the register of sealed documents first, then HQ's register of
the passports it personalised. Every kind is judged by one order (withdrawn, reported lost or
stolen in HQ's one register of reports, expired by `consulate.kernel.validity`, valid) in
`selectors.sealed_document_status` and `selectors.issued_document_status`, the latter the very
selector HQ's own passport page uses, so both say the same.
A number neither holds is NOT_FOUND, not INVALID: a document issued in the last days may not
have reached HQ yet, and its seal can still be checked.

What anyone checking may read of a document (`RegisterEntry`): its kind, the mission that issued
it, when, until when, and the day it was revoked. Never its holder, nor why it was revoked,
cancelled or reported.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from consulate.kernel.reference import day_written_short
from consulate.kernel.seal import (
    EmergencyTravelDocumentContent,
    SealError,
    SealErrorCode,
    SealStatus,
    SealVerdict,
    VisaContent,
    seal_decode,
    seal_extract,
    seal_verify,
)
from consulate.kernel.seal.vds import MAX_SEAL_BYTES
from missions.selectors import mission_by_code
from passports.numbers import number_allocated_to

from .error_codes import SealKeyError
from .etd_projector import NUMBER, document_index_of
from .models import DocumentType
from .seal_keys import seal_trust_current, signer_mission_of
from .seals import IssuedTravelDocument, TravelDocumentKind
from .selectors import (
    DocumentStatus,
    issued_document_status,
    reported_document_find,
    sealed_document_status,
)

MAX_TEXT_CHARS = 4 * MAX_SEAL_BYTES  # hex is two characters a byte, base64 four for three
_SPACES = re.compile(r"\s+")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/\-_]+={0,2}")


PASSPORT = "passport"  # a RegisterEntry's kind for a passport HQ personalised
# an ETD or a visa whose number HQ's register of lost and stolen documents holds
_REPORTED = _("This document was reported lost or stolen: it is no longer valid.")


@dataclass(frozen=True, kw_only=True)
class RegisterEntry:
    """What a register says of a document, as anyone checking may read it: an ETD's or visa's
    row (`IssuedTravelDocument`) or a passport's (`IssuedDocument`) in one shape."""

    kind: str  # etd, visa (TravelDocumentKind) or passport
    kind_label: Any  # a lazy translation
    mission: str  # its code
    issued_on: dt.date
    valid_until: dt.date
    revoked_on: dt.date | None = None

    @classmethod
    def of_sealed(cls, document: IssuedTravelDocument) -> RegisterEntry:
        return cls(
            kind=document.kind,
            kind_label=TravelDocumentKind(document.kind).label,
            mission=document.mission,
            issued_on=document.issued_on,
            valid_until=document.valid_until,
            # the date only: the mission's reason is for HQ, not for whoever checks
            revoked_on=document.revoked_at.date() if document.revoked_at else None,
        )


@dataclass(frozen=True, kw_only=True)
class DocumentVerdict:
    """The answer: a status, why in words, what the seal says (`rows`), what the register
    says (`document`, None when it has no record), and remarks for the reader."""

    status: SealStatus
    reason: Any  # a lazy translation
    seal: SealVerdict | None = None
    document: RegisterEntry | None = None
    notes: list[Any] = field(default_factory=list)

    @cached_property  # one query, however often the page and the API read it
    def issuer(self) -> str:
        """The name of the mission the register says issued the document (in the reader's
        language), or its code for a mission HQ no longer lists."""
        if self.document is None:
            return ""
        mission = mission_by_code(code=self.document.mission)
        return str(mission.name) if mission is not None else self.document.mission

    @property
    def rows(self) -> list[tuple[Any, str]]:
        """The signed data for the page, its days in the site's format (`short_day`)."""
        return self.rows_with(day=day_written_short)

    def rows_with(self, *, day: Callable[[dt.date], str]) -> list[tuple[Any, str]]:
        """The signed data, as the seal's profile reads it (nothing for a typed number), each
        day written by `day`."""
        if self.seal is None:
            return []
        header = self.seal.seal.header
        rows: list[tuple[Any, str]] = [
            (_("Issuing country"), header.country),
            (_("Signer"), f"{header.signer_identifier} / {header.certificate_reference}"),
            (_("Issued on"), day(header.issue_date)),
            (_("Signed on"), day(header.signature_date)),
        ]
        if self.seal.content is not None:
            rows += self.seal.content.display(day=day)
        return rows

    def as_dict(self) -> dict[str, Any]:
        document = self.document
        return {
            "status": self.status.value,
            "reason": str(self.reason),
            # days as ISO 8601 for programs
            "data": [
                {"label": str(label), "value": value}
                for label, value in self.rows_with(day=dt.date.isoformat)
            ],
            "register": None
            if document is None
            else {
                "kind": document.kind,
                "mission": document.mission,
                "issuer": self.issuer,
                "issued_on": document.issued_on.isoformat(),
                "valid_until": document.valid_until.isoformat(),
                "revoked_on": document.revoked_on.isoformat() if document.revoked_on else None,
            },
            "notes": [str(note) for note in self.notes],
        }


def seal_bytes_from_text(text: str) -> bytes:
    """The seal's bytes from what a phone's scanner gives: hex or base64 (standard or URL-safe,
    padded or not), spaces and line breaks anywhere. `SealError` for anything else."""
    compact = _SPACES.sub("", text)
    if not compact or len(compact) > MAX_TEXT_CHARS:
        raise SealError(SealErrorCode.NOT_A_SEAL, _("Paste the seal's bytes as hex or base64."))
    # a seal starts with 0xDC: in hex "DC", in base64 "3" - so no text is read both ways
    data = b""
    if len(compact) % 2 == 0 and _HEX.fullmatch(compact) and compact[:2].upper() == "DC":
        data = bytes.fromhex(compact)
    elif _BASE64.fullmatch(compact):
        padded = compact.rstrip("=") + "=" * (-len(compact.rstrip("=")) % 4)
        try:
            data = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            data = b""
    if data[:1] == b"\xdc":
        return data
    raise SealError(SealErrorCode.NOT_A_SEAL, _("Paste the seal's bytes as hex or base64."))


def document_number_of(content: Any) -> str | None:
    """The document's number, from its MRZ (line 2, the first nine): an emergency travel
    document's (TD2 shape) or a visa's (MRV-A or MRV-B; the seal keeps that part of line 2)."""
    if not isinstance(content, EmergencyTravelDocumentContent | VisaContent):
        return None
    number = content.lines[1][:9].replace("<", "")
    return number if NUMBER.fullmatch(number) else None


def issued_document_find(*, number: str) -> IssuedTravelDocument | None:
    """The register's row for a document number, or None; one query."""
    rows = IssuedTravelDocument.objects.filter(document_index=document_index_of(number)).order_by()
    return next(iter(rows[:1]), None)


def seal_check(*, data: bytes, at: dt.datetime | None = None) -> DocumentVerdict:
    """The verdict on the seal in `data` (a picture, a PDF or the seal's bytes). `SealError`
    when no seal can be read in it (the reader then tries a better picture); anything read is
    answered with a verdict, INVALID included."""
    moment = at or timezone.now()
    seal = seal_decode(seal_extract(data))
    trust = seal_trust_current()
    verdict = seal_verify(seal=seal, trust=trust, at=moment)
    if verdict.status is SealStatus.INVALID or verdict.status is SealStatus.REVOKED:
        return DocumentVerdict(status=verdict.status, reason=verdict.reason, seal=verdict)
    number = document_number_of(verdict.content)
    if number is None:  # not a document the register knows
        return DocumentVerdict(status=verdict.status, reason=verdict.reason, seal=verdict)
    document = issued_document_find(number=number)
    signer_mission = signer_mission_of(certificate=verdict.signer) if verdict.signer else None
    if document is None:
        # not recorded yet: the number must still be one HQ allocated to the signer's mission
        if signer_mission is None or not number_allocated_to(
            mission_code=signer_mission, number=number
        ):
            return DocumentVerdict(
                status=SealStatus.INVALID,
                reason=_("HQ never allocated this document number to the mission that sealed it."),
                seal=verdict,
            )
        # lost at once and reported at another mission, whose report reached HQ first
        if reported_document_find(document_index=document_index_of(number)) is not None:
            return DocumentVerdict(status=SealStatus.INVALID, reason=_REPORTED, seal=verdict)
        return DocumentVerdict(
            status=verdict.status,
            reason=verdict.reason,
            seal=verdict,
            notes=[
                _(
                    "HQ's register has no record of this document yet: a mission sends its"
                    " records when its link to HQ allows. The seal itself is checked."
                )
            ],
        )
    # A genuine key sealing a number the register says another mission, or another of its
    # mission's keys, issued: a misused key, or a second paper made under one number.
    if signer_mission != document.mission:
        return DocumentVerdict(
            status=SealStatus.INVALID,
            reason=_("The register says another mission issued this document number."),
            seal=verdict,
        )
    # An ETD is sealed once, at its issue, with the key the register names. A visa is sealed
    # when its e-visa is printed, with its mission's key of that day: any key of the issuing
    # mission (checked above) may have sealed it.
    if verdict.signer is None or (
        document.kind != TravelDocumentKind.VISA
        and f"{verdict.signer.serial_number:X}" != document.signer_serial
    ):
        return DocumentVerdict(
            status=SealStatus.INVALID,
            reason=_("The register says this document was sealed with another key."),
            seal=verdict,
        )
    entry = RegisterEntry.of_sealed(document)
    found = sealed_document_status(document=document, at=moment)
    if found.status == "valid":
        # the seal's own verdict: valid, or expired when its signer's certificate was not in
        # force on the day it was signed
        return DocumentVerdict(
            status=verdict.status, reason=verdict.reason, seal=verdict, document=entry
        )
    return _verdict_of(found, entry=entry, seal=verdict)


def document_number_check(*, number: str, at: dt.datetime | None = None) -> DocumentVerdict:
    """What HQ's registers say of a typed document number: an ETD or visa, else a passport
    (three queries at most, and one for the issuer's name). `ApplicationError` BAD_INPUT for
    something that cannot be a document number."""
    moment = at or timezone.now()
    cleaned = _SPACES.sub("", number).upper().replace("<", "")
    if not NUMBER.fullmatch(cleaned):
        raise ApplicationError(
            SealKeyError.BAD_INPUT,
            _("A document number is one to nine letters and digits."),
            field="number",
        )
    checked_by_number = _(
        "This says what HQ's register holds for the number; only the seal shows that the"
        " paper in your hand is genuine."
    )
    document = issued_document_find(number=cleaned)
    if document is None:
        return _passport_check(number=cleaned, at=moment, checked_by_number=checked_by_number)
    return _verdict_of(
        sealed_document_status(document=document, at=moment),
        entry=RegisterEntry.of_sealed(document),
        notes=[checked_by_number],
    )


def _expired(entry: RegisterEntry) -> Any:
    return _("The document expired on %(date)s.") % {"date": day_written_short(entry.valid_until)}


def _passport_check(*, number: str, at: dt.datetime, checked_by_number: Any) -> DocumentVerdict:
    """A passport's verdict, by the rule HQ's passport page shows (valid, expired, cancelled,
    reported lost or stolen); NOT_FOUND when no register holds the number."""
    found = issued_document_status(number=number, at=at)
    if found is None:
        return DocumentVerdict(
            status=SealStatus.NOT_FOUND,
            reason=_(
                "HQ's register holds no document with this number. A document issued in the"
                " last days may not be recorded yet."
            ),
            notes=[
                _(
                    "To check the document now, upload its PDF or a photo of its seal on this"
                    " page: the seal says whether it is genuine. Or ask the mission that issued"
                    " it."
                )
            ],
        )
    passport = found.document
    entry = RegisterEntry(
        kind=PASSPORT,
        kind_label=DocumentType(passport.document_type).label,
        mission=passport.mission,
        issued_on=passport.issued_on,
        valid_until=passport.expires_on,
    )
    return _verdict_of(found, entry=entry, notes=[checked_by_number])


def _verdict_of(
    found: DocumentStatus[Any],
    *,
    entry: RegisterEntry,
    seal: SealVerdict | None = None,
    notes: list[Any] | None = None,
) -> DocumentVerdict:
    """The verdict on what HQ's registers say of a document of any kind (`DocumentStatus`)."""
    reason: Any
    status = SealStatus.INVALID
    if found.status == "valid":
        status = SealStatus.VALID
        reason = _("A document with this number was issued and is in force.")
    elif found.status == "expired":
        status = SealStatus.EXPIRED
        reason = _expired(entry)
    elif found.status == "revoked":
        status = SealStatus.REVOKED
        reason = _("The mission that issued this document has revoked it.")
    elif found.status == "cancelled":
        reason = _("HQ's register says this passport was cancelled: it is no longer valid.")
    elif entry.kind == PASSPORT:  # lost or stolen: which, and when, is the holder's business
        reason = _("This passport was reported lost or stolen: it is no longer valid.")
    else:
        reason = _REPORTED
    return DocumentVerdict(
        status=status, reason=reason, seal=seal, document=entry, notes=notes or []
    )
