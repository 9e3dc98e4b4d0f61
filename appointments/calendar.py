"""Pure time arithmetic: local opening hours to UTC slot times, closed days. No database."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator

import holidays as holidays_lib
from django.conf import settings

# The home country's national days (month, day) on which every mission closes. A deployment sets
# APPOINTMENTS_NATIONAL_DAYS for its own country.
DEFAULT_NATIONAL_DAYS: list[tuple[int, int, str]] = [
    (1, 1, "New Year's Day"),
    (4, 23, "National Sovereignty and Children's Day"),
    (5, 19, "Youth and Sports Day"),
    (8, 30, "Victory Day"),
    (10, 29, "Republic Day"),
]


def national_days(year: int) -> dict[dt.date, str]:
    entries = getattr(settings, "APPOINTMENTS_NATIONAL_DAYS", DEFAULT_NATIONAL_DAYS)
    return {dt.date(year, month, day): name for month, day, name in entries}


def host_holidays(
    *, country: str, jurisdiction: Iterable[str], years: Iterable[int]
) -> dict[dt.date, str]:
    """Public holidays of the host country, with the subdivision of the mission's city (the
    first subdivision of its jurisdiction in that country, e.g. DE-BE for Berlin) if the
    `holidays` library knows it."""
    countries = holidays_lib.list_supported_countries()
    if country not in countries:
        return {}
    supported = countries[country]
    subdivision = None
    for region in jurisdiction:
        prefix, _, code = region.partition("-")
        if prefix == country and code in supported:
            subdivision = code
            break
    calendar = holidays_lib.country_holidays(country, subdiv=subdivision, years=list(years))
    return {day: str(name) for day, name in sorted(calendar.items())}


def local_to_utc(day: dt.date, time: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The UTC instant of a wall-clock time on a day in `zone`, or None if that time does not
    exist (skipped by a daylight-saving change). A repeated time (clocks going back) gives its
    first occurrence only, so no slot is doubled."""
    naive = dt.datetime.combine(day, time)
    aware = naive.replace(tzinfo=zone, fold=0)
    utc = aware.astimezone(dt.UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return utc


def slot_times(
    *,
    day: dt.date,
    spans: Iterable[tuple[dt.time, dt.time]],
    duration: dt.timedelta,
    step: dt.timedelta,
    zone: zoneinfo.ZoneInfo,
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """(start, end) in UTC of each slot that fits in the spans of one local day.

    Walks wall-clock time in steps and converts each start separately, so on a daylight-saving
    day a local 09:00 is 09:00 (not shifted by an hour) and the skipped hour has no slots."""
    seen: set[dt.datetime] = set()
    for opens, closes in spans:
        start = dt.datetime.combine(day, opens)
        end_of_span = dt.datetime.combine(day, closes)
        while start + duration <= end_of_span:
            starts_at = local_to_utc(day, start.time(), zone)
            if starts_at is not None and starts_at not in seen:
                seen.add(starts_at)
                yield starts_at, starts_at + duration
            start += step


def local_day_bounds(day: dt.date, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """UTC bounds [start, end) of a local calendar day (23 or 25 hours long on DST days)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(
        dt.UTC
    )
    return start, end
