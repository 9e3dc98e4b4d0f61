"""HQ's public wait times (`/wait-times/` and `/wait-times.json` on the HQ host; docs/monitoring.md,
"Appointments"): for every open mission and each service it reported, the next available
appointment and the mean wait from booking to appointment over the last 30 days.

Read from HQ's own tables only (the missions, `ServiceAvailability`, the day sums of
`BookingDay`) in three queries whatever the number of missions, and kept a minute per language
(names follow the reader's language); the search filters that kept list. Nothing here names a
person: the figures are counts and times of services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.dates import format_timedelta
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consulate.kernel import reference
from missions.models import Mission, MissionKind, MissionStatus
from missions.monitoring import window

from . import selectors
from .monitoring import days_until, service_name

CACHE_SECONDS = 60
CACHE_KEY = "appointments:wait-times:v1:{language}"
QUERY_MAX_LENGTH = 100


def _utc(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None


def _one_decimal(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _wait_text(moment: dt.datetime | None, now: dt.datetime) -> str:
    """How far away, as a person says it in the reader's language: "in 5 hours" within a day,
    else in days however many ("in 45 days", "45 gün sonra": a wait is counted in days)."""
    if moment is None:
        return ""
    ahead = max(moment - now, dt.timedelta(0))
    within_a_day = ahead < dt.timedelta(days=1)
    return format_timedelta(
        ahead,
        add_direction=True,
        granularity="hour" if within_a_day else "day",
        # no unit above the granularity is ever large enough: days stay days
        threshold=1 if within_a_day else 10**9,
        locale=reference.active_babel_locale(),
    )


def wait_times_build(*, now: dt.datetime) -> dict[str, Any]:
    """Every active mission (not HQ, suspended or closed) with its services' figures, in the
    active language, sorted by country name then city: the JSON feed's shape (docs/monitoring.md),
    plus what only the page uses (`search`, the folded texts a query matches; each service's
    `display` times, as datetimes). Three queries."""
    # a suspended mission serves no one for now (evacuation, renovation): no figure to publish
    missions = list(
        Mission.objects.exclude(kind=MissionKind.HEADQUARTERS).filter(status=MissionStatus.ACTIVE)
    )
    codes = [mission.code for mission in missions]
    reports: dict[str, list[Any]] = {}
    for row in selectors.availability_list(missions=codes):
        reports.setdefault(row.mission, []).append(row)
    windows = {mission.code: window(mission, now) for mission in missions}
    means = {
        (row["mission"], row["service"]): row["mean_lead_days"]
        for row in selectors.booking_totals_in_windows(windows=windows, per_service=True)
    }
    out: list[dict[str, Any]] = []
    for mission in missions:
        country = reference.country_name(mission.host_country)
        services = []
        for row in reports.get(mission.code, []):
            local = row.next_bookable_at.astimezone(mission.zone) if row.next_bookable_at else None
            services.append(
                {
                    "code": row.service,
                    "name": service_name(row.names, row.service),
                    "next_available": _utc(row.next_bookable_at),
                    "next_available_local": local.isoformat() if local else None,
                    "wait_days": _one_decimal(days_until(row.next_bookable_at, now)),
                    "mean_wait_days_30d": _one_decimal(means.get((mission.code, row.service))),
                    "reported_at": _utc(row.reported_at),
                    # for the page, not the feed: the times to show in the mission's zone
                    "display": {
                        "next": local,
                        "reported": row.reported_at,
                        "wait": _wait_text(row.next_bookable_at, now),
                    },
                }
            )
        services.sort(key=lambda service: reference.name_sort_key(service["name"]))
        name = str(mission.name)
        out.append(
            {
                "code": mission.code,
                "name": name,
                "city": mission.city,
                "country": mission.host_country,
                "country_name": country,
                "timezone": mission.timezone,
                "services": services,
                # the country and city in English too: a reader of Turkish pages may type
                # "Germany" or "London"
                "search": [
                    fold(text)
                    for text in (
                        country,
                        reference.country_name(mission.host_country, "en"),
                        mission.city,
                        mission.city_en,
                        name,
                        mission.code,
                    )
                ],
            }
        )
    out.sort(key=lambda m: (reference.name_sort_key(m["country_name"]), fold(m["city"]), m["code"]))
    return {"generated_at": _utc(now), "generated": now, "missions": out}


def wait_times_get(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """`wait_times_build` for the active language, kept `CACHE_SECONDS` (the figures change
    hourly at most; a crowd asking at once costs three queries a minute)."""
    language = translation.get_language() or "en"
    key = CACHE_KEY.format(language=language)
    found = cache.get(key)
    if found is None:
        found = wait_times_build(now=now or timezone.now())
        cache.set(key, found, CACHE_SECONDS)
    return found


fold = reference.search_fold


def wait_times_search(data: dict[str, Any], query: str) -> list[dict[str, Any]]:
    """The missions whose country (named in the reader's language), city, name or code
    contains `query`, folded; every mission for an empty query."""
    folded = fold(query.strip())
    if not folded:
        return list(data["missions"])
    return [m for m in data["missions"] if any(folded in text for text in m["search"])]


def wait_times_search_example(data: dict[str, Any]) -> str:
    """The search's hint, from the missions listed (in the reader's language): the first one's
    country and the last one's city ("For example Germany or Tokyo."), so it never names a
    place the page does not have; without a mission, what a search takes."""
    missions = data["missions"]
    if not missions:
        return _("A country's or a city's name, or a part of one.")
    return _("For example %(country)s or %(city)s.") % {
        "country": missions[0]["country_name"],
        "city": missions[-1]["city"],
    }


def wait_times_public(mission: dict[str, Any]) -> dict[str, Any]:
    """A mission as the JSON feed gives it (without what only the page uses)."""
    public = {key: value for key, value in mission.items() if key != "search"}
    public["services"] = [
        {key: value for key, value in service.items() if key != "display"}
        for service in mission["services"]
    ]
    return public
