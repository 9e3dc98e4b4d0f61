"""Composing the two 36-character lines of a TD2 (Doc 9303 Part 6, section 4.2.2; the layout
Part 13 gives an emergency travel document's MRZ, which its visible seal carries whole).

Upper line: document code (2), issuing state (3), name (31). Lower line: document number (9)
and its check digit, nationality (3), date of birth (6) and its check digit, sex (1), date of
expiry (6) and its check digit, optional data (7), and the composite check digit over positions
1-10, 14-20 and 22-35. Part 6 gives TD2 cards the codes A, C and I; an emergency travel
document printed in the TD2 shape is a passport of the issuing State, so P is taken too ("PE"
here for "emergency"). Every value is checked by the same helpers as the other formats, so a
compose never writes a line the parser would report.
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from passports.mrz.checkdigit import FILLER, check_digit
from passports.mrz.compose import MrzFields, _free_text, _line2_common, _state
from passports.mrz.errors import MrzErrorCode, field_error
from passports.mrz.names import mrz_name_field

TD2_LINE = 36
TD2_NAME_WIDTH = 31
TD2_OPTIONAL_WIDTH = 7
# Part 6's card letters, and P for a passport-like document in the TD2 shape (an ETD).
TD2_DOCUMENT_LETTERS = frozenset("ACIP")


def _td2_document_code(code: str) -> str:
    value = (code or "I").strip().upper()
    if (
        not 1 <= len(value) <= 2
        or value[0] not in TD2_DOCUMENT_LETTERS
        or not all("A" <= character <= "Z" or character == FILLER for character in value[1:])
    ):
        raise field_error(
            MrzErrorCode.INVALID_DOCUMENT_CODE,
            "document_code",
            _(
                "“%(value)s” is not a code for this document; it starts with %(letter)s and has "
                "at most one more letter."
            )
            % {"value": code, "letter": "A, C, I, P"},
            value=code,
        )
    return value.ljust(2, FILLER)


def td2_compose(fields: MrzFields, *, today: datetime.date | None = None) -> tuple[str, str]:
    """The two 36-character lines of a TD2. `document_code` "" is "I"; an emergency travel
    document passes "PE". `optional_data` holds at most 7 characters."""
    line1 = (
        _td2_document_code(fields.document_code)
        + _state(code=fields.issuing_state, field="issuing_state")
        + mrz_name_field(
            surname=fields.surname, given_names=fields.given_names, width=TD2_NAME_WIDTH
        )
    )
    line2, optional = _line2_common(fields=fields, today=today or timezone.localdate())
    line2 += _free_text(value=optional, field="optional_data", width=TD2_OPTIONAL_WIDTH)
    line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:35])
    return line1, line2
