"""Reads of HQ monitoring (docs/monitoring.md): the dashboard's rows, the alerts, the weekly
trends and a mission's page, composed from what every app contributes
(`missions.monitoring`). Nothing here reads a mission's schema, and each read costs the same
number of queries whatever the number of missions: one for the missions, then each
contributor's own fixed count.

This module also holds the missions app's own contribution: the sync link (last contact, how
long the mission has been silent, the silence alert) and the staff count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sync.hq.models import MissionLink

from .models import Membership, Mission, MissionKind, MissionStatus, WorldRegion
from .monitoring import (
    Alert,
    Column,
    Contributor,
    Section,
    Trend,
    contributors,
    figure_sort_key,
    weeks_ending,
)

TREND_WEEKS = 12
# The order the dashboard shows contributions in (any other after them, as registered): the
# link first, then the public's side (appointments), the cases, the money.
CONTRIBUTOR_ORDER = ("missions", "appointments", "cases", "fees")
SEVERITY_ORDER = {"critical": 0, "warning": 1}


# --- the missions app's own figures --------------------------------------------------------------


def _minutes_between(since: dt.datetime, now: dt.datetime) -> int:
    return max(0, int((now - since).total_seconds() // 60))


class SyncContributor:
    """Last contact and silence from HQ's sync links; staff from the memberships (two
    queries)."""

    name = "missions"
    columns: tuple[Column, ...] = (
        Column(
            key="sync.last_contact",
            label=_("Last contact"),
            kind="moment",
            help=_("When HQ last heard from the mission: a bundle, a hello or a file."),
            worse_high=False,
        ),
        Column(
            key="sync.silent_minutes",
            label=_("Silent for"),
            kind="minutes",
            help=_("Time since the last contact (since the mission opened if it never made any)."),
        ),
        Column(
            key="missions.staff",
            label=_("Staff"),
            kind="count",
            help=_("Staff accounts active at the mission."),
            worse_high=False,
        ),
    )

    def figures(
        self, *, missions: Sequence[Mission], now: dt.datetime
    ) -> dict[str, dict[str, Any]]:
        codes = [mission.code for mission in missions]
        contact = dict(
            MissionLink.objects.filter(mission__in=codes).values_list("mission", "last_contact_at")
        )
        staff = dict(
            Membership.objects.filter(mission__code__in=codes, is_active=True)
            .values("mission__code")
            .annotate(count=Count("id"))
            .order_by()
            .values_list("mission__code", "count")
        )
        figures: dict[str, dict[str, Any]] = {}
        for mission in missions:
            last = contact.get(mission.code)
            figures[mission.code] = {
                "sync.last_contact": last,
                "sync.silent_minutes": _minutes_between(last or mission.created_at, now),
                "missions.staff": staff.get(mission.code, 0),
            }
        return figures

    def alerts(
        self,
        *,
        missions: Sequence[Mission],
        figures: dict[str, dict[str, Any]],
        now: dt.datetime,
    ) -> list[Alert]:
        from babel.dates import format_timedelta

        from consulate.kernel import reference

        locale = reference.active_locale()
        alerts = []
        for mission in missions:
            if mission.status == MissionStatus.CLOSED:  # kept for its records; sends nothing
                continue
            silent = figures.get(mission.code, {}).get("sync.silent_minutes")
            threshold = mission.silence_alert_after()
            if silent is None or silent < threshold:
                continue
            said = format_timedelta(dt.timedelta(minutes=silent), threshold=1.5, locale=locale)
            limit = format_timedelta(dt.timedelta(minutes=threshold), threshold=1.5, locale=locale)
            last = figures[mission.code].get("sync.last_contact")
            message = (
                gettext("No contact with HQ for %(silent)s (alert after %(limit)s).")
                if last
                else gettext("No contact with HQ since the mission opened, %(silent)s ago.")
            ) % {"silent": said, "limit": limit}
            alerts.append(
                Alert(
                    mission=mission.code,
                    kind="sync.silent",
                    severity="critical",
                    message=message,
                    since=last or mission.created_at,
                )
            )
        return alerts

    def trends(self, *, missions: Sequence[Mission], weeks: Sequence[dt.date]) -> list[Trend]:
        return []

    def sections(self, *, mission: Mission, now: dt.datetime) -> list[Section]:
        return []


# --- the dashboard -------------------------------------------------------------------------------


def _contributors() -> list[Contributor]:
    def rank(contributor: Contributor) -> int:
        name = contributor.name
        return (
            CONTRIBUTOR_ORDER.index(name) if name in CONTRIBUTOR_ORDER else len(CONTRIBUTOR_ORDER)
        )

    return sorted(contributors(), key=rank)  # stable: the others keep their order


@dataclass(frozen=True)
class DashboardFilters:
    region: str = ""
    country: str = ""
    status: str = ""
    sort: str = ""  # a column key, or "" for the directory's order
    descending: bool = False


@dataclass
class DashboardRow:
    mission: Mission
    figures: dict[str, Any]
    alerts: list[Alert] = field(default_factory=list)


@dataclass
class Dashboard:
    columns: list[Column]
    rows: list[DashboardRow]
    alerts: list[tuple[Alert, Mission]]  # worst first
    filters: DashboardFilters
    countries: list[str]  # every country with a mission, for the filter
    now: dt.datetime


def _monitored() -> QuerySet[Mission]:
    return Mission.objects.exclude(kind=MissionKind.HEADQUARTERS).order_by(
        "host_country", "city", "code"
    )


def dashboard_filters(params: Any) -> DashboardFilters:
    """The filters from a query string, each dropped when it is not one the page offers (a
    forged or stale value shows everything rather than an error)."""
    columns = {column.key for contributor in _contributors() for column in contributor.columns}
    region = str(params.get("region", ""))
    status = str(params.get("status", ""))
    country = str(params.get("country", "")).upper()
    sort = str(params.get("sort", ""))
    return DashboardFilters(
        region=region if region in WorldRegion.values else "",
        country=country if len(country) == 2 and country.isascii() and country.isalpha() else "",
        status=status if status in MissionStatus.values else "",
        sort=sort if sort in columns or sort == "mission" else "",
        descending=str(params.get("order", "")) == "desc",
    )


def _figures_all(missions: list[Mission], now: dt.datetime) -> dict[str, dict[str, Any]]:
    figures: dict[str, dict[str, Any]] = {mission.code: {} for mission in missions}
    for contributor in _contributors():
        for code, values in contributor.figures(missions=missions, now=now).items():
            if code in figures:
                figures[code].update(values)
    return figures


def _alerts_all(
    missions: list[Mission], figures: dict[str, dict[str, Any]], now: dt.datetime
) -> list[Alert]:
    alerts: list[Alert] = []
    for contributor in _contributors():
        alerts.extend(contributor.alerts(missions=missions, figures=figures, now=now))
    order = {mission.code: index for index, mission in enumerate(missions)}
    alerts.sort(key=lambda alert: (SEVERITY_ORDER[alert.severity], order.get(alert.mission, 0)))
    return alerts


def dashboard_read(*, filters: DashboardFilters, now: dt.datetime | None = None) -> Dashboard:
    """Every mission HQ watches (filtered), each with every contributor's figures and its
    alerts, sorted by `filters.sort` (no figure last), plus the countries for the filter."""
    now = now or timezone.now()
    everyone = list(_monitored())
    countries = sorted({mission.host_country for mission in everyone})
    missions = [
        mission
        for mission in everyone
        if (not filters.region or mission.region == filters.region)
        and (not filters.country or mission.host_country == filters.country)
        and (not filters.status or mission.status == filters.status)
    ]
    figures = _figures_all(missions, now)
    alerts = _alerts_all(missions, figures, now)
    rows = [DashboardRow(mission, figures[mission.code]) for mission in missions]
    by_code = {row.mission.code: row for row in rows}
    for alert in alerts:
        by_code[alert.mission].alerts.append(alert)
    if filters.sort == "mission":
        rows.sort(key=lambda row: str(row.mission.name).casefold(), reverse=filters.descending)
    elif filters.sort:
        rows.sort(key=lambda row: figure_sort_key(row.figures.get(filters.sort)))
        if filters.descending:  # no figure stays last
            with_figure = [row for row in rows if row.figures.get(filters.sort) is not None]
            rows = with_figure[::-1] + rows[len(with_figure) :]
    columns = [column for contributor in _contributors() for column in contributor.columns]
    pairs = [(alert, by_code[alert.mission].mission) for alert in alerts]
    return Dashboard(columns, rows, pairs, filters, countries, now)


def dashboard_missions(*, filters: DashboardFilters) -> list[Mission]:
    """The missions the dashboard shows under `filters` (for the trends of that selection)."""
    missions = _monitored()
    if filters.region:
        missions = missions.filter(region=filters.region)
    if filters.country:
        missions = missions.filter(host_country=filters.country)
    if filters.status:
        missions = missions.filter(status=filters.status)
    return list(missions)


def trends_read(
    *, missions: Sequence[Mission], now: dt.datetime | None = None, weeks: int = TREND_WEEKS
) -> tuple[list[dt.date], list[Trend]]:
    """Every contributor's weekly series over `missions`, for the last `weeks` weeks (Mondays,
    oldest first; the current week is the last, so far)."""
    now = now or timezone.now()
    mondays = weeks_ending(now.date(), weeks)
    trends: list[Trend] = []
    for contributor in _contributors():
        trends.extend(contributor.trends(missions=missions, weeks=mondays))
    return mondays, trends


@dataclass
class MissionMonitoring:
    mission: Mission
    columns: list[Column]
    figures: dict[str, Any]
    alerts: list[Alert]
    sections: list[Section]
    weeks: list[dt.date]
    trends: list[Trend]
    now: dt.datetime

    @property
    def alert_pairs(self) -> list[tuple[Alert, None]]:
        """The alerts for the shared alerts box, without a link to the page they are on."""
        return [(alert, None) for alert in self.alerts]


def mission_monitoring_read(
    *, code: str, now: dt.datetime | None = None
) -> MissionMonitoring | None:
    """One mission's page: its dashboard figures and alerts, every contributor's tables and its
    weekly trends. None for a code HQ does not watch (the page answers 404)."""
    now = now or timezone.now()
    mission = _monitored().filter(code=code).first()
    if mission is None:
        return None
    figures = _figures_all([mission], now)
    alerts = _alerts_all([mission], figures, now)
    sections: list[Section] = []
    for contributor in _contributors():
        sections.extend(contributor.sections(mission=mission, now=now))
    weeks, trends = trends_read(missions=[mission], now=now)
    columns = [column for contributor in _contributors() for column in contributor.columns]
    return MissionMonitoring(
        mission, columns, figures[mission.code], alerts, sections, weeks, trends, now
    )


def alerts_for_digest(*, now: dt.datetime | None = None) -> list[tuple[Mission, list[Alert]]]:
    """Every open mission's alerts, grouped by mission, worst first (the daily digest)."""
    now = now or timezone.now()
    missions = list(_monitored().filter(~Q(status=MissionStatus.CLOSED)))
    figures = _figures_all(missions, now)
    alerts = _alerts_all(missions, figures, now)
    grouped: dict[str, list[Alert]] = {}
    for alert in alerts:
        grouped.setdefault(alert.mission, []).append(alert)
    by_code = {mission.code: mission for mission in missions}
    return [(by_code[code], found) for code, found in grouped.items()]
