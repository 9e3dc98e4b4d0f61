from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.translation import get_language

from fees.money import Money

register = template.Library()


@register.filter
def money(value: Money | None) -> str:
    """A Money in the reader's language (babel): "KWD 33.900", "¥16,400", "95,00 €"."""
    if value is None:
        return ""
    return value.format(get_language() or "en")


@register.filter
def amount_input(value: Money | None) -> str:
    """The amount as the reader types it, for an input field: "33.900" in English, "33,900"
    in Turkish, "16,400" (what `fees.forms.parse_amount` reads back)."""
    return "" if value is None else value.format_number(get_language() or "en")


@register.filter
def amount_example(currency: str) -> str:
    """How an amount of `currency` is typed in the reader's language: "1,234.500" (KWD)."""
    from fees.forms import amount_example as example

    return example(currency, get_language() or "en")


@register.filter
def rate(value: Decimal | None) -> str:
    """An exchange rate as stored, every decimal it has, in the reader's language ("0.3571")."""
    from fees.pdf import rate_text

    return "" if value is None else rate_text(value, get_language() or "en")


@register.filter
def one_unit(currency: str) -> str:
    """One unit of `currency` in the reader's language: "€1.00", "KWD 1.000"."""
    return Money.from_decimal("1", currency).format(get_language() or "en")
