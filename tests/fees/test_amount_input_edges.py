"""Whatever is typed into an amount field is read or refused with a message, never a crash:
exponents, underscores, other scripts' digits, and numbers too large for any ledger."""

from __future__ import annotations

import pytest
from django import forms

from fees.forms import parse_amount


@pytest.mark.parametrize(
    "typed",
    ["9e99999999", "1e2", "1E3", "1_000", "١٢", "１２", "9" * 5_000, "1" + ",000" * 2_000,
     "9999999999999999", "NaN", "Infinity", "0x10", "+5", "--5"],
)  # fmt: skip
@pytest.mark.parametrize("currency", ["JPY", "KWD", "EUR"])
@pytest.mark.parametrize("locale", ["en", "tr"])
def test_what_is_not_an_amount_is_refused_with_a_message(typed, currency, locale):
    with pytest.raises(forms.ValidationError) as refused:
        parse_amount(typed, currency, locale)
    assert currency in refused.value.messages[0] or "zero" in refused.value.messages[0]


def test_the_largest_amount_still_reads_exactly():
    assert parse_amount("999,999,999,999.99", "EUR", "en").amount_minor == 99_999_999_999_999
