"""Properties of the MRZ module, with hypothesis: what compose writes, parse reads back whole;
one character changed in a field a check digit protects is reported; parse never raises."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from passports.mrz import (
    ICAO_CODES,
    MrzFields,
    mrva_compose,
    mrvb_compose,
    mrz_parse,
    mrz_transliterate,
    td3_compose,
)
from passports.mrz.checkdigit import MRZ_CHARACTERS
from passports.mrz.compose import LAYOUTS, MrzFormat
from passports.mrz.errors import FIELD_LABELS

TODAY = datetime.date(2026, 12, 4)
COMPOSERS: dict[MrzFormat, Callable[..., tuple[str, str]]] = {
    MrzFormat.TD3: td3_compose,
    MrzFormat.MRVA: mrva_compose,
    MrzFormat.MRVB: mrvb_compose,
}
# Plain letters and the national letters a Turkish consulate sees most, in both cases.
NAME_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyzÇĞİÖŞÜçğıöşüÄäßÅåØøÉéÑñЖжЩщ"
ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def value(character: str) -> int:
    if character == "<":
        return 0
    return int(character) if character.isdigit() else ord(character) - ord("A") + 10


components = st.lists(st.text(NAME_LETTERS, min_size=1, max_size=12), min_size=1, max_size=3)


@st.composite
def mrz_fields(draw: st.DrawFn, mrz_format: MrzFormat) -> MrzFields:
    layout = LAYOUTS[mrz_format]
    surname = " ".join(draw(components))
    given_names = " ".join(draw(st.one_of(st.just([]), components)))
    # a birth in the last 99 years and an expiry within 49 years either side of today: the
    # windows in which a two-digit year reads back as the year written
    birth = draw(st.dates(TODAY - datetime.timedelta(days=99 * 365), TODAY))
    expiry = draw(
        st.dates(
            max(birth + datetime.timedelta(days=1), TODAY - datetime.timedelta(days=49 * 365)),
            TODAY + datetime.timedelta(days=49 * 365),
        )
    )
    return MrzFields(
        document_code=layout.document_letter + draw(st.sampled_from("<ABDEPSX")),
        surname=surname,
        given_names=given_names,
        document_number=draw(st.text(ALPHANUMERIC, min_size=1, max_size=9)),
        issuing_state=draw(st.sampled_from(sorted(ICAO_CODES))),
        nationality=draw(st.sampled_from(sorted(ICAO_CODES))),
        birth_date=birth,
        sex=draw(st.sampled_from(["M", "F", "X"])),
        expiry_date=expiry,
        optional_data=draw(st.text(ALPHANUMERIC, max_size=layout.optional_width)),
    )


def name_fits(fields: MrzFields, mrz_format: MrzFormat) -> bool:
    primary = mrz_transliterate(fields.surname)
    secondary = mrz_transliterate(fields.given_names)
    width = len(primary) + (len(secondary) + 2 if secondary else 0)
    return width <= LAYOUTS[mrz_format].name_width


@given(data=st.data(), mrz_format=st.sampled_from(list(MrzFormat)))
@settings(max_examples=300, deadline=None)
def test_compose_then_parse_gives_back_every_field(
    data: st.DataObject, mrz_format: MrzFormat
) -> None:
    # given fields whose name fits (a truncated name cannot read back whole, by design)
    fields = data.draw(mrz_fields(mrz_format))
    assume(name_fits(fields, mrz_format))
    # when composed and read back
    lines = COMPOSERS[mrz_format](fields, today=TODAY)
    reading = mrz_parse(lines, today=TODAY)
    # then nothing is wrong and every field is what was written
    assert reading.valid, [problem.message for problem in reading.problems]
    assert reading.mrz_format is mrz_format
    assert reading.surname == mrz_transliterate(fields.surname).replace("<", " ")
    assert reading.given_names == mrz_transliterate(fields.given_names).replace("<", " ")
    assert reading.document_number == fields.document_number
    assert reading.document_code == fields.document_code.rstrip("<")
    assert (reading.issuing_state, reading.nationality) == (
        fields.issuing_state,
        fields.nationality,
    )
    assert (reading.birth_date, reading.expiry_date) == (fields.birth_date, fields.expiry_date)
    assert reading.sex == fields.sex
    assert reading.optional_data == fields.optional_data
    # and what was read composes to the same lines
    read_fields = reading.fields()
    assert read_fields is not None
    assert COMPOSERS[mrz_format](read_fields, today=TODAY) == lines


# Positions of the lower line each check digit protects, by the field a change is reported on
# (the TD3 composite covers them all again).
PROTECTED = {
    "document_number": range(0, 10),
    "birth_date": range(13, 20),
    "expiry_date": range(21, 28),
}
TD3_ONLY = {"optional_data": range(28, 43), "composite": range(43, 44)}


@given(data=st.data(), mrz_format=st.sampled_from(list(MrzFormat)))
@settings(max_examples=400, deadline=None)
def test_one_changed_character_in_a_protected_field_is_reported(
    data: st.DataObject, mrz_format: MrzFormat
) -> None:
    # given a composed MRZ
    fields = data.draw(mrz_fields(mrz_format))
    line1, line2 = COMPOSERS[mrz_format](fields, today=TODAY)
    protected = PROTECTED | (TD3_ONLY if mrz_format is MrzFormat.TD3 else {})
    field, positions = data.draw(st.sampled_from(sorted(protected.items())))
    position = data.draw(st.sampled_from(list(positions)))
    old = line2[position]
    # when one character of it is replaced by another the MRZ can hold, except one whose value
    # differs by a multiple of 10, which the 7-3-1 scheme cannot see (test_mrz.py shows it)
    new = data.draw(
        st.sampled_from(sorted(MRZ_CHARACTERS)).filter(
            lambda character: (value(character) - value(old)) % 10 != 0
        )
    )
    changed = line2[:position] + new + line2[position + 1 :]
    reading = mrz_parse([line1, changed], today=TODAY)
    # then a problem names that field (or the composite that covers it)
    assert not reading.valid
    named = {problem.field for problem in reading.problems}
    assert named & {field, "composite"}, reading.problems


@given(lines=st.one_of(st.lists(st.text(), max_size=4), st.text()))
@settings(max_examples=500, deadline=None)
def test_parse_never_raises_on_text(lines: list[str] | str) -> None:
    reading = mrz_parse(lines, today=TODAY)
    for problem in reading.problems:
        assert problem.message


@given(
    line1=st.text("PV<ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\x00 ", min_size=30, max_size=46),
    line2=st.text("<ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\x00é ", min_size=30, max_size=46),
)
@settings(max_examples=500, deadline=None)
def test_parse_never_raises_on_near_mrz_lines(line1: str, line2: str) -> None:
    # lines of about the right length and alphabet reach the field checks, not only the shape
    reading = mrz_parse([line1, line2], today=TODAY)
    assert all(problem.message for problem in reading.problems)
    # every problem names a field a person can be shown
    assert all(problem.field in FIELD_LABELS for problem in reading.problems)
    assert reading.valid or reading.problems
