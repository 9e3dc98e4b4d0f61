"""Composing the two lines of a TD3 (passport, Doc 9303 Part 4 section 4.2.2), an MRV-A and an
MRV-B (visas, Part 7 sections 4.2.2 and 7.2.2).

Every value is checked before a line is written, and the first one the MRZ cannot hold raises
`MrzError` naming its field: a compose never writes a line the parser would report. `today`
(the local date by default) is only for refusing a birth in the future.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from passports.mrz.checkdigit import FILLER, check_digit
from passports.mrz.codes import code_field, code_is_known
from passports.mrz.errors import MrzError, MrzErrorCode, field_error
from passports.mrz.names import mrz_name_field
from passports.mrz.transliteration import mrz_transliterate


class MrzFormat(enum.Enum):
    TD3 = "td3"
    MRVA = "mrva"
    MRVB = "mrvb"


@dataclass(frozen=True)
class FormatLayout:
    line_length: int
    name_width: int
    optional_width: int
    document_letter: str


LAYOUTS = {
    MrzFormat.TD3: FormatLayout(
        line_length=44, name_width=39, optional_width=14, document_letter="P"
    ),
    MrzFormat.MRVA: FormatLayout(
        line_length=44, name_width=39, optional_width=16, document_letter="V"
    ),
    MrzFormat.MRVB: FormatLayout(
        line_length=36, name_width=31, optional_width=8, document_letter="V"
    ),
}
DOCUMENT_NUMBER_WIDTH = 9
SEXES = {"M": "M", "F": "F", "X": FILLER}


@dataclass(frozen=True, kw_only=True)
class MrzFields:
    """What an MRZ says. `document_code` "" takes the format's letter ("P" for a TD3, "V" for a
    visa); a second letter is the State's (e.g. "PE" for an emergency passport). `sex` is M, F
    or X (written "<" in the MRZ, as Parts 4 and 7 say). `optional_data` is the personal number
    of a TD3, the State's optional data of a visa."""

    surname: str
    given_names: str = ""
    document_number: str
    issuing_state: str
    nationality: str
    birth_date: datetime.date
    sex: str
    expiry_date: datetime.date
    optional_data: str = ""
    document_code: str = ""


def _document_code(*, code: str, layout: FormatLayout) -> str:
    value = (code or layout.document_letter).strip().upper()
    if (
        not 1 <= len(value) <= 2
        or value[0] != layout.document_letter
        or not all("A" <= character <= "Z" or character == FILLER for character in value[1:])
    ):
        raise field_error(
            MrzErrorCode.INVALID_DOCUMENT_CODE,
            "document_code",
            _(
                "“%(value)s” is not a code for this document; it starts with %(letter)s and has "
                "at most one more letter."
            )
            % {"value": code, "letter": layout.document_letter},
            value=code,
        )
    return value.ljust(2, FILLER)


def _state(*, code: str, field: str) -> str:
    value = code.strip().upper()
    if not code_is_known(value) or len(value) > 3 or "<" in value:
        raise field_error(
            MrzErrorCode.UNKNOWN_CODE,
            field,
            _("“%(value)s” is not an ICAO three-letter code.") % {"value": code},
            value=code,
        )
    return code_field(value)


def _free_text(*, value: str, field: str, width: int) -> str:
    """A document number or optional data: letters and digits; spaces and other separators
    become fillers, as Part 4 says for the document number."""
    try:
        text = mrz_transliterate(value.replace("/", " "))
    except MrzError as error:
        raise field_error(error.code, field, error.message, **error.details) from error
    if len(text) > width:
        raise field_error(
            MrzErrorCode.TOO_LONG,
            field,
            _("at most %(width)s characters in the MRZ, not %(length)s.")
            % {"width": width, "length": len(text)},
            width=width,
            length=len(text),
        )
    return text.ljust(width, FILLER)


def _date(value: datetime.date) -> str:
    return value.strftime("%y%m%d")


def _line2_common(*, fields: MrzFields, today: datetime.date) -> tuple[str, str]:
    """Positions 1 to 28 of the lower line, the same in all three formats, and the optional
    data as given (checked per format by the caller)."""
    document_number = _free_text(
        value=fields.document_number, field="document_number", width=DOCUMENT_NUMBER_WIDTH
    )
    if not document_number.strip(FILLER):
        raise field_error(MrzErrorCode.REQUIRED, "document_number", _("required."))
    nationality = _state(code=fields.nationality, field="nationality")
    sex = SEXES.get(fields.sex.strip().upper())
    if sex is None:
        raise field_error(
            MrzErrorCode.INVALID_SEX,
            "sex",
            _("M, F or X, not “%(value)s”.") % {"value": fields.sex},
            value=fields.sex,
        )
    if fields.birth_date > today:
        # a two-digit year in the future would read back a century earlier
        raise field_error(
            MrzErrorCode.INVALID_DATE, "birth_date", _("the date of birth is in the future.")
        )
    if fields.expiry_date <= fields.birth_date:
        raise field_error(
            MrzErrorCode.INVALID_DATE,
            "expiry_date",
            _("the document expires on or before its holder's birth."),
        )
    birth = _date(fields.birth_date)
    expiry = _date(fields.expiry_date)
    line = (
        document_number
        + check_digit(document_number)
        + nationality
        + birth
        + check_digit(birth)
        + sex
        + expiry
        + check_digit(expiry)
    )
    return line, fields.optional_data


def _compose(
    *, fields: MrzFields, mrz_format: MrzFormat, today: datetime.date | None
) -> tuple[str, str]:
    layout = LAYOUTS[mrz_format]
    line1 = (
        _document_code(code=fields.document_code, layout=layout)
        + _state(code=fields.issuing_state, field="issuing_state")
        + mrz_name_field(
            surname=fields.surname, given_names=fields.given_names, width=layout.name_width
        )
    )
    line2, optional = _line2_common(fields=fields, today=today or timezone.localdate())
    optional_field = _free_text(value=optional, field="optional_data", width=layout.optional_width)
    if mrz_format is MrzFormat.TD3:
        # An unused personal number may carry "<" as its check digit (Part 4, note to
        # position 43); the composite covers positions 1-10, 14-20 and 22-43.
        personal_digit = check_digit(optional_field) if optional_field.strip(FILLER) else FILLER
        line2 += optional_field + personal_digit
        line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    else:
        line2 += optional_field
    return line1, line2


def td3_compose(fields: MrzFields, *, today: datetime.date | None = None) -> tuple[str, str]:
    """The two 44-character lines of a passport (TD3), document code starting with P."""
    return _compose(fields=fields, mrz_format=MrzFormat.TD3, today=today)


def mrva_compose(fields: MrzFields, *, today: datetime.date | None = None) -> tuple[str, str]:
    """The two 44-character lines of a format-A visa, document code starting with V."""
    return _compose(fields=fields, mrz_format=MrzFormat.MRVA, today=today)


def mrvb_compose(fields: MrzFields, *, today: datetime.date | None = None) -> tuple[str, str]:
    """The two 36-character lines of a format-B visa, document code starting with V."""
    return _compose(fields=fields, mrz_format=MrzFormat.MRVB, today=today)
