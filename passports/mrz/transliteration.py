"""Names in MRZ characters: Doc 9303 Part 3 section 6 (transliterations recommended for use by
States) and the punctuation rules of Parts 3, 4 and 7.

The Latin table is section 6.A, every letter of it (Latin-1 and Latin Extended-A). The Cyrillic
table is the general column of section 6.B; its language exceptions (Ukrainian, Belarusian,
Bulgarian, Serbian, Macedonian) are for the State that issues in that language to choose, and
are not applied here. Doc 9303 has no Greek table, so Greek letters are refused like any other
character without a transliteration: an officer types the name as printed in the passport.
"""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext_lazy as _

from passports.mrz.checkdigit import FILLER
from passports.mrz.errors import MrzError, MrzErrorCode

# Section 6.A, keyed by the capital letter (a small letter is looked up by its capital).
LATIN: dict[str, str] = {
    "Á": "A",
    "À": "A",
    "Â": "A",
    "Ä": "AE",
    "Ã": "A",
    "Ă": "A",
    "Å": "AA",
    "Ā": "A",
    "Ą": "A",
    "Ć": "C",
    "Ĉ": "C",
    "Č": "C",
    "Ċ": "C",
    "Ç": "C",
    "Đ": "D",
    "Ď": "D",
    "Ð": "D",
    "É": "E",
    "È": "E",
    "Ê": "E",
    "Ë": "E",
    "Ě": "E",
    "Ė": "E",
    "Ē": "E",
    "Ę": "E",
    "Ĕ": "E",
    "Ĝ": "G",
    "Ğ": "G",
    "Ġ": "G",
    "Ģ": "G",
    "Ħ": "H",
    "Ĥ": "H",
    "Í": "I",
    "Ì": "I",
    "Î": "I",
    "Ï": "I",
    "İ": "I",
    "Ĩ": "I",
    "Ī": "I",
    "Ĭ": "I",
    "Į": "I",
    "Ĵ": "J",
    "Ķ": "K",
    "Ł": "L",
    "Ĺ": "L",
    "Ľ": "L",
    "Ļ": "L",
    "Ŀ": "L",
    "Ń": "N",
    "Ñ": "N",
    "Ň": "N",
    "Ņ": "N",
    "Ŋ": "N",
    "Ø": "OE",
    "Ó": "O",
    "Ò": "O",
    "Ô": "O",
    "Ö": "OE",
    "Õ": "O",
    "Ő": "O",
    "Ō": "O",
    "Ŏ": "O",
    "Ŕ": "R",
    "Ř": "R",
    "Ŗ": "R",
    "Ś": "S",
    "Ŝ": "S",
    "Š": "S",
    "Ş": "S",
    "Ŧ": "T",
    "Ť": "T",
    "Ţ": "T",
    "Ú": "U",
    "Ù": "U",
    "Û": "U",
    "Ü": "UE",
    "Ũ": "U",
    "Ŭ": "U",
    "Ű": "U",
    "Ů": "U",
    "Ū": "U",
    "Ų": "U",
    "Ŵ": "W",
    "Ý": "Y",
    "Ŷ": "Y",
    "Ÿ": "Y",
    "Ź": "Z",
    "Ž": "Z",
    "Ż": "Z",
    "Þ": "TH",
    "Æ": "AE",
    "Ĳ": "IJ",
    "Œ": "OE",
    "ẞ": "SS",
    # Romanian writes Ş and Ţ with a comma below (Latin Extended-B); same letters, same answer.
    "Ș": "S",
    "Ț": "T",
}

# Section 6.B, the general column; the soft sign is not transliterated.
CYRILLIC: dict[str, str] = {
    "А": "A",
    "Б": "B",
    "В": "V",
    "Г": "G",
    "Д": "D",
    "Е": "E",
    "Ё": "E",
    "Ж": "ZH",
    "З": "Z",
    "И": "I",
    "Й": "I",
    "К": "K",
    "Л": "L",
    "М": "M",
    "Н": "N",
    "О": "O",
    "П": "P",
    "Р": "R",
    "С": "S",
    "Т": "T",
    "У": "U",
    "Ф": "F",
    "Х": "KH",
    "Ц": "TS",
    "Ч": "CH",
    "Ш": "SH",
    "Щ": "SHCH",
    "Ъ": "IE",
    "Ы": "Y",
    "Ь": "",
    "Э": "E",
    "Ю": "IU",
    "Я": "IA",
    "Ђ": "D",
    "Ѓ": "G",
    "Є": "IE",
    "Ѕ": "DZ",
    "І": "I",
    "Ї": "I",
    "Ј": "J",
    "Љ": "LJ",
    "Њ": "NJ",
    "Ћ": "C",
    "Ќ": "K",
    "Ў": "U",
    "Џ": "DZ",
    "Ґ": "G",
    "Ѫ": "U",
}

TABLE: dict[str, str] = {**LATIN, **CYRILLIC}

# Hyphens, spaces and commas between name components become one filler (Part 4 4.2.2.1).
SEPARATORS = frozenset(" \t\n\r-‐‑‒–—,")
# Apostrophes join the components they separate (O'CONNOR -> OCONNOR); a full stop is
# punctuation, which the MRZ never shows (ST. JOHN -> ST<JOHN through the space).
OMITTED = frozenset("'’‘ʼ`´.")
_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _character_transliterate(character: str) -> str:
    if character in _ASCII or character == FILLER:
        return character
    upper = character.upper()
    if upper in _ASCII:
        # a, ı (dotless i) and ſ (long s) upper-case to plain ASCII
        return upper
    if upper in TABLE:
        return TABLE[upper]
    if character in TABLE:
        return TABLE[character]
    if character == "ß":
        return "SS"
    raise MrzError(
        MrzErrorCode.UNTRANSLITERABLE,
        _("The MRZ has no transliteration for the character “%(character)s” (%(codepoint)s).")
        % {"character": character, "codepoint": f"U+{ord(character):04X}"},
        details={"character": character, "codepoint": f"U+{ord(character):04X}"},
    )


def mrz_transliterate(text: str) -> str:
    """`text` in MRZ characters: A-Z, 0-9 and "<".

    Letters go through the Part 3 tables; hyphens, spaces and commas become a single filler
    (never two, which would read as the end of the primary identifier), none at either end;
    apostrophes and full stops are dropped; a diacritic that is not part of a precomposed
    letter is dropped with its mark. Raises `MrzError` (a `ValueError`) naming the first
    character the tables do not cover."""
    parts: list[str] = []
    pending_separator = False
    for character in unicodedata.normalize("NFC", text):
        if character in SEPARATORS:
            pending_separator = True
            continue
        if character in OMITTED or unicodedata.category(character) == "Mn":
            continue
        transliterated = _character_transliterate(character)
        if not transliterated:
            continue
        if pending_separator and parts:
            parts.append(FILLER)
        pending_separator = False
        parts.append(transliterated)
    return "".join(parts)
