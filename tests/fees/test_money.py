"""Money: integer minor units, exact conversion, lossless split, babel formatting."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fees.money import Money, MoneyError, convert, known_currencies, minor_units, to_base

CURRENCIES = sorted(known_currencies())


def test_minor_units_follow_iso_4217():
    assert (minor_units("JPY"), minor_units("EUR"), minor_units("KWD")) == (0, 2, 3)
    assert minor_units("BHD") == minor_units("OMR") == 3


@given(currency=st.sampled_from(CURRENCIES), amount=st.integers(-(10**15), 10**15))
def test_every_currency_round_trips_through_minor_units(currency, amount):
    # given an amount in minor units
    money = Money(amount, currency)
    # when it goes to a decimal and back
    again = Money.from_decimal(money.to_decimal(), currency)
    # then nothing changed
    assert again == money
    assert money.to_decimal().as_tuple().exponent in (0, -minor_units(currency))


@given(
    amount=st.integers(-(10**12), 10**12),
    ratios=st.lists(st.integers(0, 1000), min_size=1, max_size=12).filter(lambda r: sum(r) > 0),
    currency=st.sampled_from(["JPY", "EUR", "KWD"]),
)
def test_allocation_loses_nothing(amount, ratios, currency):
    parts = Money(amount, currency).allocate(ratios)
    assert sum(p.amount_minor for p in parts) == amount
    assert len(parts) == len(ratios)
    # no part is more than one minor unit from its exact share
    total = sum(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        assert abs(part.amount_minor * total - amount * ratio) < total


@given(amount=st.integers(0, 10**12), parts=st.integers(1, 50))
def test_split_loses_nothing(amount, parts):
    pieces = Money(amount, "KWD").split(parts)
    assert sum(p.amount_minor for p in pieces) == amount
    assert max(p.amount_minor for p in pieces) - min(p.amount_minor for p in pieces) <= 1


def test_no_floats_no_mixed_currencies_no_extra_decimals():
    with pytest.raises(MoneyError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(100, "EUR") + Money(100, "JPY")
    with pytest.raises(MoneyError):
        Money.from_decimal("12.5", "JPY")
    with pytest.raises(MoneyError):
        Money(1, "XYZ")


def test_conversion_rounds_once_by_the_currency_rule():
    # given 95.00 EUR at 0.3571 KWD per EUR = 33.9245 KWD
    fee = Money(9500, "EUR")
    assert convert(fee, to_currency="KWD", rate=Decimal("0.3571")) == Money(33925, "KWD")
    assert convert(
        fee, to_currency="KWD", rate=Decimal("0.3571"), increment_minor=50, mode="half_up"
    ) == Money(33900, "KWD")
    assert convert(
        fee, to_currency="KWD", rate=Decimal("0.3571"), increment_minor=1000, mode="up"
    ) == Money(34000, "KWD")
    # 95 EUR at 172.35 = 16373.25 JPY, up to the next 100 yen
    assert convert(
        fee, to_currency="JPY", rate=Decimal("172.35"), increment_minor=100, mode="up"
    ) == Money(16400, "JPY")
    assert to_base(Money(16400, "JPY"), base_currency="EUR", rate=Decimal("172.35")) == Money(
        9516, "EUR"
    )


def test_formatting_follows_the_readers_locale():
    assert Money(33900, "KWD").format("en") == "KWD\xa033.900"
    assert Money(16400, "JPY").format("en") == "¥16,400"
    assert Money(123456, "EUR").format("de") == "1.234,56\xa0€"
    assert Money(123456, "EUR").format("tr") == "€1.234,56"
