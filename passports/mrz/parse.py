"""Reading an MRZ back: `mrz_parse` recognises a TD3, an MRV-A or an MRV-B, reads its fields and
lists every problem it finds. It never raises, whatever it is given: an MRZ typed by a person or
read by OCR is input to check, and a reading with problems is an answer.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from passports.mrz.checkdigit import FILLER, MRZ_CHARACTERS, check_digit
from passports.mrz.codes import code_is_known
from passports.mrz.compose import LAYOUTS, MrzFields, MrzFormat
from passports.mrz.errors import field_label
from passports.mrz.names import mrz_name_read

LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = frozenset("0123456789")
NAME_CHARACTERS = LETTERS | {FILLER}
SEX_READ = {"M": "M", "F": "F", FILLER: "X", "X": "X"}
# A two-digit expiry year is read in the century that puts it at most this many years ahead.
EXPIRY_YEARS_AHEAD = 50
# Longest line worth looking at: the longest MRZ line is 44; anything far longer is reported by
# its length alone.
_LINE_LIMIT = 200


class MrzProblemKind(enum.Enum):
    CHECK_DIGIT = "check_digit"
    BAD_CHARACTERS = "bad_characters"
    WRONG_LENGTH = "wrong_length"
    WRONG_LINE_COUNT = "wrong_line_count"
    UNKNOWN_FORMAT = "unknown_format"
    UNKNOWN_CODE = "unknown_code"
    IMPOSSIBLE_DATE = "impossible_date"
    INVALID_VALUE = "invalid_value"


_MESSAGES: dict[MrzProblemKind, Any] = {
    MrzProblemKind.CHECK_DIGIT: _(
        "%(field)s: wrong check digit (%(found)s where %(expected)s was expected)."
    ),
    MrzProblemKind.BAD_CHARACTERS: _("%(field)s: characters that have no place here: %(found)s."),
    MrzProblemKind.WRONG_LENGTH: _(
        "%(field)s: %(found)s characters where %(expected)s were expected."
    ),
    MrzProblemKind.WRONG_LINE_COUNT: _("%(field)s: %(found)s lines where 2 were expected."),
    MrzProblemKind.UNKNOWN_FORMAT: _(
        "%(field)s: not a passport (TD3) or visa (MRV-A, MRV-B) MRZ; its first line starts "
        "with %(found)s."
    ),
    MrzProblemKind.UNKNOWN_CODE: _("%(field)s: %(found)s is not an ICAO three-letter code."),
    MrzProblemKind.IMPOSSIBLE_DATE: _("%(field)s: %(found)s is not a date (YYMMDD)."),
    MrzProblemKind.INVALID_VALUE: _("%(field)s: %(found)s is not allowed here."),
}


@dataclass(frozen=True, kw_only=True)
class MrzProblem:
    """One thing wrong with an MRZ: the field (an `MrzFields` attribute name, "composite",
    "line1", "line2" or "lines"), what is wrong, and what was found and expected. `message`
    is in the language active when it is read."""

    field: str
    kind: MrzProblemKind
    found: str = ""
    expected: str = ""

    @property
    def message(self) -> str:
        return str(_MESSAGES[self.kind]) % {
            "field": field_label(self.field),
            "found": self.found,
            "expected": self.expected,
        }


@dataclass(frozen=True, kw_only=True)
class MrzReading:
    """What `mrz_parse` read. Fields it could not read are None (dates, sex) or "" (text);
    `valid` is True when nothing is wrong. Name components are separated by spaces; a name
    whose field ends with a letter may have been truncated (`name_possibly_truncated`)."""

    mrz_format: MrzFormat | None = None
    lines: tuple[str, ...] = ()
    document_code: str = ""
    issuing_state: str = ""
    surname: str = ""
    given_names: str = ""
    name_possibly_truncated: bool = False
    document_number: str = ""
    nationality: str = ""
    birth_date: datetime.date | None = None
    sex: str | None = None
    expiry_date: datetime.date | None = None
    optional_data: str = ""
    problems: tuple[MrzProblem, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return not self.problems

    def fields(self) -> MrzFields | None:
        """The reading as `MrzFields` (to compose again), when every field was read."""
        if self.birth_date is None or self.expiry_date is None or self.sex is None:
            return None
        return MrzFields(
            document_code=self.document_code,
            issuing_state=self.issuing_state,
            surname=self.surname,
            given_names=self.given_names,
            document_number=self.document_number,
            nationality=self.nationality,
            birth_date=self.birth_date,
            sex=self.sex,
            expiry_date=self.expiry_date,
            optional_data=self.optional_data,
        )


def _shown(value: str) -> str:
    return repr(value[:12] + ("…" if len(value) > 12 else ""))


def _lines_normalise(lines: Any) -> tuple[list[str] | None, list[MrzProblem]]:
    """The lines without whitespace, upper-cased; or None and why not."""
    if isinstance(lines, str):
        # one text holding both lines, as pasted from a reader
        lines = lines.splitlines()
    if not isinstance(lines, Sequence):
        return None, [
            MrzProblem(field="lines", kind=MrzProblemKind.INVALID_VALUE, found=type(lines).__name__)
        ]
    if len(lines) == 1 and isinstance(lines[0], str) and "\n" in lines[0][: _LINE_LIMIT * 3]:
        lines = lines[0].splitlines()
    if len(lines) != 2:
        return None, [
            MrzProblem(field="lines", kind=MrzProblemKind.WRONG_LINE_COUNT, found=str(len(lines)))
        ]
    normalised = []
    for number, line in enumerate(lines[:2], start=1):
        if not isinstance(line, str):
            return None, [
                MrzProblem(
                    field=f"line{number}",
                    kind=MrzProblemKind.INVALID_VALUE,
                    found=type(line).__name__,
                )
            ]
        normalised.append("".join(line.split()).upper())
    return normalised, []


def _format_detect(lines: list[str]) -> tuple[MrzFormat | None, list[MrzProblem]]:
    line1, line2 = lines
    if line1.startswith("P"):
        mrz_format = MrzFormat.TD3
    elif line1.startswith("V"):
        is_b = len(line1) == LAYOUTS[MrzFormat.MRVB].line_length or (
            len(line1) != LAYOUTS[MrzFormat.MRVA].line_length
            and len(line2) == LAYOUTS[MrzFormat.MRVB].line_length
        )
        mrz_format = MrzFormat.MRVB if is_b else MrzFormat.MRVA
    else:
        return None, [
            MrzProblem(field="line1", kind=MrzProblemKind.UNKNOWN_FORMAT, found=_shown(line1[:2]))
        ]
    expected = LAYOUTS[mrz_format].line_length
    problems = [
        MrzProblem(
            field=f"line{number}",
            kind=MrzProblemKind.WRONG_LENGTH,
            found=str(len(line)),
            expected=str(expected),
        )
        for number, line in enumerate(lines, start=1)
        if len(line) != expected
    ]
    return mrz_format, problems


def _bad_characters(*, field: str, value: str, allowed: frozenset[str]) -> MrzProblem | None:
    bad = sorted(set(value) - allowed)
    if not bad:
        return None
    return MrzProblem(
        field=field,
        kind=MrzProblemKind.BAD_CHARACTERS,
        found=" ".join(repr(character) for character in bad[:5]),
    )


def _check(*, field: str, value: str, digit: str) -> MrzProblem | None:
    """The check digit over `value` against `digit`; None when it matches or when `value` holds
    characters already reported (a check digit over them means nothing)."""
    if not set(value) <= MRZ_CHARACTERS:
        return None
    expected = check_digit(value)
    if digit == expected:
        return None
    return MrzProblem(
        field=field, kind=MrzProblemKind.CHECK_DIGIT, found=repr(digit), expected=repr(expected)
    )


def _date_read(
    *, field: str, value: str, today: datetime.date
) -> tuple[datetime.date | None, MrzProblem | None]:
    if field == "birth_date" and FILLER in value and set(value) <= DIGITS | {FILLER}:
        # Part 3: the unknown parts of a date of birth are written as fillers
        return None, None
    impossible = MrzProblem(field=field, kind=MrzProblemKind.IMPOSSIBLE_DATE, found=repr(value))
    if len(value) != 6 or not set(value) <= DIGITS:
        return None, impossible
    year, month, day = int(value[0:2]), int(value[2:4]), int(value[4:6])
    if field == "birth_date":
        # born in the past: the latest century that does not put the birth after today
        centuries = [2000, 1900] if 2000 + year <= today.year else [1900]
    else:
        centuries = [2000] if 2000 + year <= today.year + EXPIRY_YEARS_AHEAD else [1900]
    for century in centuries:
        try:
            read = datetime.date(century + year, month, day)
        except ValueError:
            continue
        if field != "birth_date" or read <= today:
            return read, None
    return None, impossible


def mrz_parse(lines: Sequence[str], *, today: datetime.date | None = None) -> MrzReading:
    """Read a TD3, MRV-A or MRV-B MRZ from its two lines (whitespace anywhere is dropped, small
    letters are read as capitals). `today` (the local date by default) places two-digit years:
    a birth in the past, an expiry at most 50 years ahead. Never raises."""
    today = today or timezone.localdate()
    normalised, problems = _lines_normalise(lines)
    if normalised is None:
        return MrzReading(problems=tuple(problems))
    mrz_format, problems = _format_detect(normalised)
    if mrz_format is None or problems:
        return MrzReading(mrz_format=mrz_format, problems=tuple(problems))
    layout = LAYOUTS[mrz_format]
    line1, line2 = normalised
    found: list[MrzProblem | None] = []

    document_code = line1[0:2]
    found.append(
        _bad_characters(field="document_code", value=document_code[1], allowed=NAME_CHARACTERS)
    )
    states = {"issuing_state": line1[2:5], "nationality": line2[10:13]}
    for state_field, code in states.items():
        bad = _bad_characters(field=state_field, value=code, allowed=NAME_CHARACTERS)
        found.append(bad)
        if bad is None and not code_is_known(code):
            found.append(
                MrzProblem(field=state_field, kind=MrzProblemKind.UNKNOWN_CODE, found=repr(code))
            )

    name_field = line1[5:]
    bad_name = _bad_characters(field="name", value=name_field, allowed=NAME_CHARACTERS)
    found.append(bad_name)
    name = mrz_name_read(name_field)
    if bad_name is None and not name.primary:
        found.append(
            MrzProblem(field="name", kind=MrzProblemKind.INVALID_VALUE, found=_shown(name_field))
        )

    document_number = line2[0:9]
    optional = line2[28 : 28 + layout.optional_width]
    for text_field, value in (("document_number", document_number), ("optional_data", optional)):
        found.append(_bad_characters(field=text_field, value=value, allowed=MRZ_CHARACTERS))
    found.append(_check(field="document_number", value=document_number, digit=line2[9]))

    birth_text, expiry_text = line2[13:19], line2[21:27]
    birth_date, birth_problem = _date_read(field="birth_date", value=birth_text, today=today)
    expiry_date, expiry_problem = _date_read(field="expiry_date", value=expiry_text, today=today)
    found += [birth_problem, expiry_problem]
    found.append(_check(field="birth_date", value=birth_text, digit=line2[19]))
    found.append(_check(field="expiry_date", value=expiry_text, digit=line2[27]))

    sex = SEX_READ.get(line2[20])
    if sex is None:
        found.append(
            MrzProblem(field="sex", kind=MrzProblemKind.INVALID_VALUE, found=repr(line2[20]))
        )

    if mrz_format is MrzFormat.TD3:
        personal_digit = line2[42]
        # an unused personal number may have "<" (or 0) as its check digit (Part 4)
        if not (optional.strip(FILLER) == "" and personal_digit in (FILLER, "0")):
            found.append(_check(field="optional_data", value=optional, digit=personal_digit))
        composite = line2[0:10] + line2[13:20] + line2[21:43]
        found.append(_check(field="composite", value=composite, digit=line2[43]))

    return MrzReading(
        mrz_format=mrz_format,
        lines=(line1, line2),
        document_code=document_code.rstrip(FILLER),
        issuing_state=line1[2:5].rstrip(FILLER),
        surname=name.primary,
        given_names=name.secondary,
        name_possibly_truncated=name.possibly_truncated,
        document_number=document_number.rstrip(FILLER),
        nationality=line2[10:13].rstrip(FILLER),
        birth_date=birth_date,
        sex=sex,
        expiry_date=expiry_date,
        optional_data=optional.rstrip(FILLER),
        problems=tuple(problem for problem in found if problem is not None),
    )
