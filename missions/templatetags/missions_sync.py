"""Filters for the sync pages: numbers and durations in the reader's language (babel), an
instant's offset for `<time datetime>`, and refusal codes in words. A time is written with the
project's filters, `|timezone:zone|short_day_time` (`{% load tz portal %}`), the zone named
once on the page."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from babel.dates import format_timedelta
from babel.numbers import format_decimal
from babel.units import format_unit
from django import template

from consulate.kernel import reference

from ..selectors_sync import sync_reason_text

register = template.Library()


@register.filter
def number(value: int | None) -> str:
    """1234 as "1,234" in English, "1.234" in Turkish."""
    return "" if value is None else format_decimal(value, locale=reference.active_locale())


@register.filter
def iso_in(instant: dt.datetime | None, zone: zoneinfo.ZoneInfo | str) -> str:
    """For `<time datetime=…>`: the instant with its offset in `zone`."""
    if instant is None:
        return ""
    tz = zone if isinstance(zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(str(zone))
    return instant.astimezone(tz).isoformat(timespec="seconds")


@register.filter
def minutes(value: int | None) -> str:
    """A number of minutes: "75 min" in English, "75 dk." in Turkish."""
    if value is None:
        return ""
    return format_unit(value, "duration-minute", length="short", locale=reference.active_locale())


@register.filter
def reason_text(code: str) -> str:
    return sync_reason_text(code)


@register.filter
def duration(value: int | None) -> str:
    """A number of minutes as a person says it, rounded: "5 hours", "2 days" ("2 gün")."""
    if value is None:
        return ""
    return format_timedelta(
        dt.timedelta(minutes=value), threshold=1.5, locale=reference.active_locale()
    )
