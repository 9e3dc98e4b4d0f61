"""Machine-readable zones after ICAO Doc 9303: composing and checking the MRZ of passports (TD3,
Part 4) and visas (MRV-A and MRV-B, Part 7), with the transliteration, codes and check digits of
Part 3. One module for every MRZ the system prints or reads; visas reuse it.

Written here rather than taken from PyPI's `mrz`: that package is GPL-3.0, cuts an over-long
name at the field's width instead of truncating it as Part 4 says, and raises plain exceptions
where this system shows translated messages.
"""

from passports.mrz.checkdigit import check_digit
from passports.mrz.codes import ICAO_CODES, code_is_known
from passports.mrz.compose import (
    MrzFields,
    MrzFormat,
    mrva_compose,
    mrvb_compose,
    td3_compose,
)
from passports.mrz.errors import MrzError, MrzErrorCode
from passports.mrz.names import MrzName, mrz_name_field, mrz_name_read
from passports.mrz.parse import MrzProblem, MrzProblemKind, MrzReading, mrz_parse
from passports.mrz.td2 import td2_compose
from passports.mrz.transliteration import mrz_transliterate

__all__ = [
    "ICAO_CODES",
    "MrzError",
    "MrzErrorCode",
    "MrzFields",
    "MrzFormat",
    "MrzName",
    "MrzProblem",
    "MrzProblemKind",
    "MrzReading",
    "check_digit",
    "code_is_known",
    "mrva_compose",
    "mrvb_compose",
    "mrz_name_field",
    "mrz_name_read",
    "mrz_parse",
    "mrz_transliterate",
    "td2_compose",
    "td3_compose",
]
