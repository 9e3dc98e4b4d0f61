"""The one error the MRZ module raises, its codes, and the names of the fields it speaks of.

`MrzError` is an `ApplicationError` (so pages and the API show it like any other refusal) and a
`ValueError` (so a caller that only knows "bad value" can catch it too). Its message starts with
the field's label ("Surname: …"): a label before a colon reads right in Turkish too, where a
field name inside a sentence would need a case suffix.
"""

from __future__ import annotations

import enum
from typing import Any

from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError


class MrzErrorCode(enum.Enum):
    UNTRANSLITERABLE = "passports.mrz_untransliterable"
    INVALID_CHARACTERS = "passports.mrz_invalid_characters"
    REQUIRED = "passports.mrz_required"
    TOO_LONG = "passports.mrz_too_long"
    UNKNOWN_CODE = "passports.mrz_unknown_code"
    INVALID_DOCUMENT_CODE = "passports.mrz_invalid_document_code"
    INVALID_SEX = "passports.mrz_invalid_sex"
    INVALID_DATE = "passports.mrz_invalid_date"


# Every field a message can name, with its label as a person reads it.
FIELD_LABELS: dict[str, Any] = {
    "document_code": _("Document code"),
    "issuing_state": _("Issuing state"),
    "surname": _("Surname"),
    "given_names": _("Given names"),
    "name": _("Name"),
    "document_number": _("Document number"),
    "nationality": _("Nationality"),
    "birth_date": _("Date of birth"),
    "sex": _("Sex"),
    "expiry_date": _("Date of expiry"),
    "optional_data": _("Optional data"),
    "composite": _("Composite check digit"),
    "line1": _("Line 1"),
    "line2": _("Line 2"),
    "lines": _("MRZ"),
}


def field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))


class MrzError(ApplicationError, ValueError):
    """A value the MRZ cannot hold. `field` names the `MrzFields` attribute at fault ("" for
    `mrz_transliterate` called on its own); `details` carries the offending character or limit
    for a program."""

    code: MrzErrorCode

    def __init__(
        self,
        code: MrzErrorCode,
        message: Any,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code, message, field=field, details=details)


def field_error(code: MrzErrorCode, field: str, problem: Any, **details: Any) -> MrzError:
    """An `MrzError` for `field` whose message reads "<Field label>: <problem>"."""
    return MrzError(
        code,
        _("%(field)s: %(problem)s") % {"field": field_label(field), "problem": problem},
        field=field,
        details=details,
    )
