"""`text_clean`, the one rule for text a person typed, in every app."""

from __future__ import annotations

import datetime as dt
import enum

import pytest
from django.utils import translation

from consulate.kernel.errors import ApplicationError
from consulate.kernel.text import date_clean, text_clean


class Code(enum.Enum):
    INVALID = "tests.invalid"


def test_text_is_kept_normalised_and_trimmed_with_its_line_breaks():
    assert text_clean("  Cafe\u0301\r\n\tline 2 ", field="f", limit=20, code=Code.INVALID) == (
        "Café\r\n\tline 2"
    )
    assert text_clean(None, field="f", limit=5, code=Code.INVALID) == ""
    assert text_clean(0, field="f", limit=5, code=Code.INVALID) == "0"


@pytest.mark.parametrize(
    ("value", "english", "turkish"),
    [
        ("a\x00b", "Remove the control characters", "kontrol karakterlerini silin"),
        ("\x1b[31mred", "Remove the control characters", "kontrol karakterlerini silin"),
        ("lone \ud800 surrogate", "Remove the control characters", "kontrol karakterlerini silin"),
        ("x" * 11, "Use at most 10 characters.", "En fazla 10 karakter kullanın."),
        *(
            (f"ok{char}kO", "Remove the invisible direction-control characters",
             "görünmez yazı yönü kontrol karakterlerini silin")
            for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        ),
    ],
)  # fmt: skip
def test_what_cannot_be_kept_is_refused_beside_its_field_in_the_readers_language(
    value, english, turkish
):
    for language, expected in (("en", english), ("tr", turkish)):
        with translation.override(language), pytest.raises(ApplicationError) as refused:
            text_clean(value, field="address", limit=10, code=Code.INVALID)
        assert refused.value.code == Code.INVALID
        assert refused.value.field == "address"
        with translation.override(language):
            assert expected in str(refused.value.message)


@pytest.mark.parametrize(
    "name",
    [
        "محمد رضایی",  # Arabic script, Persian
        "می\u200cخواهم",  # Persian with its zero-width non-joiner
        "שָׁלוֹם כֹּהֵן",  # Hebrew with its points
        "\u200fעמוד 12 (ב)\u200f",  # right-to-left marks around a bracket and digits
        "Flat 3 \u200e- شارع النيل\u061c 12",  # left-to-right and Arabic letter marks
    ],
)
def test_right_to_left_text_and_its_marks_are_kept_as_typed(name):
    # the marks give a neutral character its direction and reorder nothing: kept, unchanged
    assert text_clean(name, field="f", limit=100, code=Code.INVALID) == name.strip()


def test_a_date_is_read_as_yyyy_mm_dd_and_nothing_typed_is_none():
    assert date_clean(" 2024-02-29 ", field="d", code=Code.INVALID) == dt.date(2024, 2, 29)
    assert date_clean(dt.date(1990, 1, 2), field="d", code=Code.INVALID) == dt.date(1990, 1, 2)
    assert date_clean("", field="d", code=Code.INVALID) is None
    assert date_clean(None, field="d", code=Code.INVALID) is None
    # digits as another keyboard types them (full-width, Arabic-Indic) are digits too
    assert date_clean("１９８５-０２-０３", field="d", code=Code.INVALID) == dt.date(1985, 2, 3)
    assert date_clean("١٩٨٥-٠٢-٠٣", field="d", code=Code.INVALID) == dt.date(1985, 2, 3)


@pytest.mark.parametrize(
    ("value", "english", "turkish"),
    [
        ("2023-02-29", "February 2023 has 28 days: check the day.",
         "Şubat 2023 ayında 28 gün var: günü kontrol edin."),
        ("2026-04-31", "April 2026 has 30 days: check the day.",
         "Nisan 2026 ayında 30 gün var: günü kontrol edin."),
        ("2026-01-00", "January 2026 has 31 days: check the day.",
         "Ocak 2026 ayında 31 gün var: günü kontrol edin."),
        ("2026-00-10", "There is no month 00: a month is 01 to 12.",
         "00 diye bir ay yok: ay 01 ile 12 arasındadır."),
        ("0000-01-01", "Enter the date as YYYY-MM-DD.", "Tarihi YYYY-AA-GG biçiminde girin."),
        ("12/06/1985", "Enter the date as YYYY-MM-DD.", "Tarihi YYYY-AA-GG biçiminde girin."),
        ("1985-2-3", "Enter the date as YYYY-MM-DD.", "Tarihi YYYY-AA-GG biçiminde girin."),
        ("1985-02-03\x00", "Remove the control characters", "kontrol karakterlerini silin"),
        ("9" * 41, "Use at most 40 characters.", "En fazla 40 karakter kullanın."),
    ],
)  # fmt: skip
def test_a_date_that_is_not_a_day_says_why_in_the_readers_language(value, english, turkish):
    for language, message in (("en", english), ("tr", turkish)):
        with translation.override(language):
            with pytest.raises(ApplicationError) as refused:
                date_clean(value, field="birth_date", code=Code.INVALID)
            assert message in str(refused.value.message)
        assert refused.value.field == "birth_date"
