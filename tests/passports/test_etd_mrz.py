"""The TD2 MRZ (Doc 9303 Part 6) the ETD prints and seals: Part 6's own specimen composed
exactly, and every value the lines cannot hold refused. No database."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from passports.mrz import MrzError, MrzFields, check_digit, td2_compose

SPECIMEN = MrzFields(
    surname="ERIKSSON",
    given_names="ANNA MARIA",
    document_number="D23145890",
    issuing_state="UTO",
    nationality="UTO",
    birth_date=dt.date(1974, 8, 12),
    sex="F",
    expiry_date=dt.date(2012, 4, 15),
    document_code="I",
)
TODAY = dt.date(2026, 1, 1)


def test_part_6s_specimen_is_composed_exactly():
    assert td2_compose(SPECIMEN, today=TODAY) == (
        "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "D231458907UTO7408122F1204159<<<<<<<6",
    )


def test_an_etd_line_has_its_check_digits():
    fields = replace(
        SPECIMEN, document_code="PE", issuing_state="TUR", nationality="TUR",
        surname="Yılmaz", given_names="Ayşe Gül", document_number="E00000001", optional_data="AB1",
        expiry_date=dt.date(2026, 1, 15),
    )  # fmt: skip
    line1, line2 = td2_compose(fields, today=TODAY)
    assert len(line1) == len(line2) == 36
    assert line1 == "PETURYILMAZ<<AYSE<GUEL<<<<<<<<<<<<<<"
    assert line2[9] == check_digit("E00000001")
    assert line2[19] == check_digit(line2[13:19])
    assert line2[27] == check_digit(line2[21:27])
    assert line2[28:35] == "AB1<<<<"
    assert line2[35] == check_digit(line2[0:10] + line2[13:20] + line2[21:35])


def test_a_long_name_is_truncated_to_31():
    line1, _ = td2_compose(
        replace(SPECIMEN, surname="Wolfeschlegelsteinhausenbergerdorff", given_names="Hubert"),
        today=TODAY,
    )
    assert len(line1) == 36
    assert line1.startswith("I<UTOWOLFESCHLEGELSTEINHAUSENBE")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"document_code": "V"}, "document_code"),
        ({"document_code": "P1"}, "document_code"),
        ({"document_code": "PEX"}, "document_code"),
        ({"issuing_state": "QQQ"}, "issuing_state"),
        ({"nationality": "XY"}, "nationality"),
        ({"document_number": ""}, "document_number"),
        ({"document_number": "1234567890"}, "document_number"),
        ({"optional_data": "12345678"}, "optional_data"),
        ({"sex": "Q"}, "sex"),
        ({"birth_date": dt.date(2027, 1, 1)}, "birth_date"),
        ({"expiry_date": dt.date(1970, 1, 1)}, "expiry_date"),
        ({"surname": "李"}, "surname"),
    ],
)
def test_what_a_td2_cannot_hold_is_refused(changes, field):
    with pytest.raises(MrzError) as refused:
        td2_compose(replace(SPECIMEN, **changes), today=TODAY)
    assert refused.value.field == field
