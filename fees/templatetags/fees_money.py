from __future__ import annotations

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
def major(value: Money | None) -> str:
    """The amount as a plain decimal for an input field ("33.900")."""
    return "" if value is None else f"{value.to_decimal():f}"
