"""Money: an integer count of ISO 4217 minor units and the currency code. Never floats.

`Money` is immutable; arithmetic only within one currency; `allocate` splits an amount into
parts by ratios without losing or inventing a minor unit (largest remainder).
"""

from __future__ import annotations

import dataclasses
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    list_currencies,
)


class MoneyError(ValueError):
    """Arithmetic across currencies, an unknown currency or a fraction of a minor unit."""


@cache
def minor_units(currency: str) -> int:
    """ISO 4217 minor units of `currency` (JPY 0, EUR 2, KWD 3) from CLDR via babel."""
    if currency not in known_currencies():
        raise MoneyError(f"unknown currency {currency!r}")
    return int(get_currency_precision(currency))


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(str(code) for code in list_currencies())


@dataclasses.dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise MoneyError("amount_minor must be an int (minor units), never a float")
        minor_units(self.currency)

    # --- construction and conversion -------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, amount: Decimal | str, currency: str) -> Money:
        """Exact: "12.345" KWD is 12345 minor units; "12.5" JPY is refused, not rounded."""
        value = Decimal(amount)
        if not value.is_finite():
            raise MoneyError("not a finite amount")
        scaled = value.scaleb(minor_units(currency))
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"{amount} has more decimals than {currency} allows")
        return cls(int(scaled), currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-minor_units(self.currency))

    # --- arithmetic ------------------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise MoneyError("can only combine Money with Money")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor >= other.amount_minor

    def __bool__(self) -> bool:
        return self.amount_minor != 0

    def allocate(self, ratios: list[int]) -> list[Money]:
        """Split by integer ratios; the parts always add up to exactly this amount."""
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise MoneyError("ratios must be non-negative and not all zero")
        total = sum(ratios)
        sign = -1 if self.amount_minor < 0 else 1
        amount = abs(self.amount_minor)
        shares = [amount * r // total for r in ratios]
        remainders = [amount * r % total for r in ratios]
        left = amount - sum(shares)
        # the largest remainders get one more minor unit each; ties go to the earlier part
        for index in sorted(range(len(ratios)), key=lambda i: (-remainders[i], i))[:left]:
            shares[index] += 1
        return [Money(sign * share, self.currency) for share in shares]

    def split(self, parts: int) -> list[Money]:
        if parts < 1:
            raise MoneyError("split into at least one part")
        return self.allocate([1] * parts)

    # --- display ---------------------------------------------------------------------------
    def format(self, locale: str = "en") -> str:
        text = format_currency(
            self.to_decimal(), self.currency, locale=_babel_locale(locale), currency_digits=True
        )
        # CLDR's "alphaNextToNumber": a currency code never touches the digits ("KWD 33.900")
        return _CODE_THEN_DIGIT.sub("\\1\xa0\\2", _DIGIT_THEN_CODE.sub("\\1\xa0\\2", text))

    def format_number(self, locale: str = "en") -> str:
        """The amount as a person types it in `locale`, without the currency: every decimal the
        currency has, grouped ("1,234.500" in English, "1.234,500" in Turkish, "16,400")."""
        return number_format(self.to_decimal(), minor_units(self.currency), locale)

    def __str__(self) -> str:
        return self.format("en")


def number_format(value: Decimal, digits: int, locale: str) -> str:
    """`value` with exactly `digits` decimals and the locale's separators (babel)."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale=_babel_locale(locale)))


_CODE_THEN_DIGIT = re.compile(r"([A-Z]{3})([-\u2212]?\d)")
_DIGIT_THEN_CODE = re.compile(r"(\d)([A-Z]{3})")


def _babel_locale(locale: str | None) -> str:
    return (locale or "en").replace("-", "_")


class Rounding:
    """How a converted amount becomes payable: to a multiple of `increment_minor`, by `mode`."""

    UP = "up"
    DOWN = "down"
    HALF_UP = "half_up"
    MODES = {UP: ROUND_CEILING, DOWN: ROUND_FLOOR, HALF_UP: ROUND_HALF_UP}


def convert(
    amount: Money,
    *,
    to_currency: str,
    rate: Decimal,
    increment_minor: int = 1,
    mode: str = Rounding.HALF_UP,
) -> Money:
    """`amount` in `to_currency` at `rate` (units of `to_currency` per one unit of `amount`).

    Exact decimal arithmetic, then one rounding to a multiple of `increment_minor` minor units.
    """
    if rate <= 0:
        raise MoneyError("a rate must be positive")
    if increment_minor < 1:
        raise MoneyError("the rounding increment is at least one minor unit")
    exact = amount.to_decimal() * rate  # major units of to_currency
    in_increments = exact.scaleb(minor_units(to_currency)) / Decimal(increment_minor)
    rounded = in_increments.to_integral_value(rounding=Rounding.MODES[mode])
    return Money(int(rounded) * increment_minor, to_currency)


def to_base(amount: Money, *, base_currency: str, rate: Decimal) -> Money:
    """The base-currency equivalent of a local amount at `rate` (local units per base unit)."""
    if amount.currency == base_currency:
        return amount
    exact = amount.to_decimal() / rate
    scaled = exact.scaleb(minor_units(base_currency))
    return Money(int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN)), base_currency)


class LocalAndBaseAmounts:
    """`amount` and `base_amount` as Money, for records that keep both in minor units
    (`amount_minor`/`currency` and `base_amount_minor`/`base_currency`)."""

    amount_minor: int
    currency: str
    base_amount_minor: int
    base_currency: str

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def base_amount(self) -> Money:
        return Money(self.base_amount_minor, self.base_currency)
