"""C40 after ICAO Doc 9303 Part 13 (§2.6, the Data Matrix C40 scheme without its shifts).

Three characters from the basic set (space, 0-9, A-Z; values 3, 4-13, 14-39) make one 16-bit
value U = 1600·C1 + 40·C2 + C3 + 1, written as two bytes, most significant first. The tail:
two characters left are padded with Shift 1 (value 0) as the third; one character left is
written as 0xFE (Data Matrix's unlatch) followed by its ASCII code plus one.

The decoder is strict: it accepts exactly what the encoder writes (no shifts inside the
text, no padding before the end, no unlatch before the last pair), so every string has one
encoding and every accepted encoding one string. A changed byte therefore never decodes to
the same text, and anything else answers a `SealError`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from consulate.kernel.seal.errors import SealError, SealErrorCode

BASIC_SET = " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE = {char: index + 3 for index, char in enumerate(BASIC_SET)}
_CHAR = {value: char for char, value in _VALUE.items()}
_SHIFT_1 = 0
_UNLATCH = 0xFE
_LARGEST = 1600 * 39 + 40 * 39 + 39 + 1  # "ZZZ"


def c40_encode(text: str) -> bytes:
    """`text` (space, digits, capital letters) as C40 bytes; `SealError` for any other
    character (MRZ fillers `<` are the caller's to turn into spaces, as Part 13 asks)."""
    if any(char not in _VALUE for char in text):
        raise SealError(
            SealErrorCode.UNENCODABLE,
            _("Only capital letters, digits and spaces can be written in the seal."),
        )
    out = bytearray()
    whole = len(text) - len(text) % 3
    for start in range(0, whole, 3):
        c1, c2, c3 = (_VALUE[char] for char in text[start : start + 3])
        out += (1600 * c1 + 40 * c2 + c3 + 1).to_bytes(2, "big")
    tail = text[whole:]
    if len(tail) == 2:
        out += (1600 * _VALUE[tail[0]] + 40 * _VALUE[tail[1]] + _SHIFT_1 + 1).to_bytes(2, "big")
    elif len(tail) == 1:
        out += bytes((_UNLATCH, ord(tail) + 1))
    return bytes(out)


def c40_length(characters: int) -> int:
    """How many bytes `characters` characters take in C40."""
    return characters // 3 * 2 + (2 if characters % 3 else 0)


def c40_decode(data: bytes) -> str:
    """The text in C40 `data`; `SealError` unless `data` is exactly what `c40_encode` writes."""
    if len(data) % 2:
        raise _bad_text()
    chars: list[str] = []
    last = len(data) - 2
    for start in range(0, len(data), 2):
        first, second = data[start], data[start + 1]
        if first == _UNLATCH:
            char = chr(second - 1) if second else ""
            if start != last or char not in _VALUE:
                raise _bad_text()
            chars.append(char)
            continue
        value = (first << 8 | second) - 1
        if not 0 <= value < _LARGEST:
            raise _bad_text()
        c1, rest = divmod(value, 1600)
        c2, c3 = divmod(rest, 40)
        if c1 not in _CHAR or c2 not in _CHAR:
            raise _bad_text()
        chars += (_CHAR[c1], _CHAR[c2])
        if c3 == _SHIFT_1 and start == last:
            continue  # the padding of a two-character tail
        if c3 not in _CHAR:
            raise _bad_text()
        chars.append(_CHAR[c3])
    return "".join(chars)


def _bad_text() -> SealError:
    return SealError(SealErrorCode.BAD_TEXT, _("The seal holds text that is not valid C40."))
