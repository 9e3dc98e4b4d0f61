"""Template filters that show reference data in the reader's language."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from babel.dates import get_day_names
from django import template
from django.utils import timezone

from consulate.kernel import reference
from consulate.kernel.tenancy import host_url

register = template.Library()


def _locale() -> str:
    return reference.active_locale()


@register.filter
def country_name(code: str) -> str:
    """A country code named in the reader's language: the one way pages show a country (a
    mission's address ends with it too, `Mission.postal_address`)."""
    return reference.country_name(code)


@register.filter
def region_name(code: str) -> str:
    country, _, subdivision = code.partition("-")
    name = reference.country_name(country)
    return f"{name} ({subdivision})" if subdivision else name


@register.filter
def language_name(code: str) -> str:
    return reference.language_name(code)


# As Django's `date`: a datetime is shown in the current time zone unless it comes through
# `|timezone:zone` (expects_localtime; every page names the mission's zone beside it), and what
# is not a date is shown as nothing.
@register.filter(expects_localtime=True)
def long_day(value: dt.date | None) -> str:
    """A day written out, as e-mails write it: `reference.day_written_out`."""
    return reference.day_written_out(value) if isinstance(value, dt.date) else ""


@register.filter(expects_localtime=True)
def long_day_time(value: dt.datetime | None) -> str:
    """A day and time written out, as e-mails write them: `reference.day_and_time_written_out`."""
    return reference.day_and_time_written_out(value) if isinstance(value, dt.date) else ""


WITHOUT_YEAR = "without year"


def _year(arg: str) -> bool:
    if arg not in ("", WITHOUT_YEAR):
        raise template.TemplateSyntaxError(f'short_day takes "{WITHOUT_YEAR}" or nothing: {arg!r}')
    return arg != WITHOUT_YEAR


@register.filter(expects_localtime=True)
def short_day(value: dt.date | None, arg: str = "") -> str:
    """A day in short (`reference.day_written_short`); `|short_day:"without year"`."""
    return reference.day_written_short(value, year=_year(arg)) if isinstance(value, dt.date) else ""


@register.filter(expects_localtime=True)
def short_day_time(value: dt.datetime | None, arg: str = "") -> str:
    """A day in short and a time (`reference.day_and_time_written_short`)."""
    if not isinstance(value, dt.date):
        return ""
    return reference.day_and_time_written_short(value, year=_year(arg))


@register.filter
def local_now(tz_name: str) -> str:
    """The current date and time in a mission's time zone, in the reader's language."""
    # The zone is named beside it on the page; seconds would only be stale by the time one reads.
    return reference.day_and_time_written_out(timezone.now().astimezone(zoneinfo.ZoneInfo(tz_name)))


@register.filter
def office_hours_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group office hours by weekday, Monday first, each weekday named in the reader's language."""
    days = get_day_names("wide", locale=_locale())  # Babel: 0 is Monday
    rows = []
    for weekday in range(7):
        spans = sorted(
            (entry["opens"], entry["closes"]) for entry in entries if entry["weekday"] == weekday
        )
        rows.append({"day": days[weekday], "spans": spans})
    return rows


@register.simple_tag
def utc_offset(tz_name: str) -> str:
    offset = dt.datetime.now(zoneinfo.ZoneInfo(tz_name)).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


@register.simple_tag(takes_context=True)
def mission_url(context: dict[str, Any], mission: Any, path: str = "/") -> str:
    """A link to a mission's own host, keeping the port of the current request (development)."""
    return host_url(context.get("request"), mission.host, path)


@register.simple_tag(takes_context=True)
def hq_url(context: dict[str, Any], path: str = "/") -> str:
    from django.conf import settings

    return host_url(context.get("request"), settings.PORTAL_HOST, path)


def _widget_described(field: Any, errors_id: str) -> str:
    """`field`'s widget with `aria-describedby` naming its errors (`errors_id`, while it has
    any) and its help text (`<id>_helptext`); Django adds `aria-invalid`. A widget that names
    its own keeps it."""
    described = [errors_id] if field.errors else []
    if field.help_text:
        described.append(f"{field.auto_id}_helptext")
    attrs: dict[str, str] = {}
    if described and not field.field.widget.attrs.get("aria-describedby"):
        attrs["aria-describedby"] = " ".join(described)
    if field.field.widget.attrs.get("autocomplete") == "one-time-code":
        attrs["inputmode"] = "numeric"  # phones show the digit keypad for TOTP codes
    return field.as_widget(attrs=attrs)


@register.filter
def messaged_widget(field: Any) -> str:
    """A form field's widget as `passports/_field.html` draws it: its message beside it
    (`<id>-message`) and its help named by `aria-describedby`, so a screen reader says why with
    the input."""
    return _widget_described(field, f"{field.id_for_label}-message")


@register.filter
def described_widget(field: Any) -> str:
    """A form field's widget tied to its error list and help text (`aria-describedby`), marked
    `aria-invalid` when it has errors, so screen readers announce both with the input.

    The ids match the ones `_form_field.html` gives the error list and help text.
    """
    return _widget_described(field, f"{field.auto_id}_errors")


@register.filter
def role_label(code: str) -> str:
    """A staff role's name in the reader's language: mission roles, and HQ roles (`hq_<role>`)."""
    from consulate.kernel.accounts.models import HqRole
    from missions.models import Role

    if code.startswith("hq_") and code[3:] in HqRole.values:
        return str(HqRole(code[3:]).label)
    return str(Role(code).label) if code in Role.values else code
