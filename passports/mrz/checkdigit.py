"""Check digits, Doc 9303 Part 3 section 4.9: weights 7, 3, 1 repeated, modulus 10."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from passports.mrz.errors import MrzError, MrzErrorCode

FILLER = "<"
# The only characters an MRZ holds (Part 3 section 4.3): A-Z, 0-9 and the filler.
MRZ_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
_WEIGHTS = (7, 3, 1)


def _character_value(character: str) -> int:
    if character == FILLER:
        return 0
    if "0" <= character <= "9":
        return ord(character) - ord("0")
    return ord(character) - ord("A") + 10


def check_digit(value: str) -> str:
    """The check digit of `value` ("<" counts 0, A 10 … Z 35), as one character "0"-"9".

    Raises `MrzError` for a character the MRZ cannot hold (lower case included): a check digit
    over a value that cannot be printed would protect nothing."""
    bad = sorted({character for character in value if character not in MRZ_CHARACTERS})
    if bad:
        raise MrzError(
            MrzErrorCode.INVALID_CHARACTERS,
            _("A check digit is computed over A-Z, 0-9 and < only, not %(characters)s.")
            % {"characters": " ".join(repr(character) for character in bad[:5])},
            details={"characters": bad[:5]},
        )
    total = sum(
        _character_value(character) * _WEIGHTS[position % 3]
        for position, character in enumerate(value)
    )
    return str(total % 10)
