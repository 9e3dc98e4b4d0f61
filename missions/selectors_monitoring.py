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
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consulate.kernel import reference
from consulate.kernel.errors import ApplicationError
from sync.hq.models import MissionLink

from .error_codes import MissionError
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
from .selectors import mission_hq, mission_sort_key, missions_ordered
from .selectors_sync import minutes_since

TREND_WEEKS = 12
# The order the dashboard shows contributions in (any other after them, as registered): the
# link first, then the public's side (appointments), the cases, the money.
CONTRIBUTOR_ORDER = ("missions", "appointments", "cases", "fees")
SEVERITY_ORDER = {"critical": 0, "warning": 1}


# --- the missions app's own figures --------------------------------------------------------------


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
            help=_("People with an active account and at least one role at the mission."),
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
            Membership.objects.filter(mission__code__in=codes, is_active=True, user__is_active=True)
            .values("mission__code")
            .annotate(count=Count("user", distinct=True))
            .order_by()
            .values_list("mission__code", "count")
        )
        figures: dict[str, dict[str, Any]] = {}
        for mission in missions:
            last = contact.get(mission.code)
            figures[mission.code] = {
                "sync.last_contact": last,
                "sync.silent_minutes": minutes_since(last or mission.created_at, now),
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
    """What the dashboard shows (`missions.forms.DashboardFilterForm` reads them from a query
    string; `dashboard_filters_check` refuses those it cannot honour)."""

    region: str = ""
    country: str = ""
    status: str = ""
    sort: str = ""  # a column key, "mission", or "" for the directory's order
    descending: bool = False

    def query(self, **changes: Any) -> str:
        """These filters as a query string, with `changes` (the links of the page and its
        CSV carry only what was understood, never the raw query)."""
        values = {
            "region": self.region,
            "country": self.country,
            "status": self.status,
            "sort": self.sort,
            "order": "desc" if self.descending else "",
        }
        values.update(changes)
        return urlencode({name: value for name, value in values.items() if value})


@dataclass
class DashboardRow:
    mission: Mission
    figures: dict[str, Any]
    alerts: list[Alert] = field(default_factory=list)
    # (label, text, sorted) per column, as the page shows them (`views_monitoring`)
    cells: list[tuple[str, str, bool]] = field(default_factory=list)


@dataclass
class Dashboard:
    columns: list[Column]
    rows: list[DashboardRow]
    alerts: list[tuple[Alert, Mission]]  # critical first, then in the rows' order
    filters: DashboardFilters
    now: dt.datetime


def _monitored() -> QuerySet[Mission]:
    return missions_ordered(Mission.objects.exclude(kind=MissionKind.HEADQUARTERS))


def dashboard_columns() -> list[Column]:
    """Every contributed column, in the dashboard's order (what it can be sorted by)."""
    return [column for contributor in _contributors() for column in contributor.columns]


def mission_countries_monitored(*, chosen: str = "") -> list[str]:
    """The countries with a mission HQ watches, in the order of their names in the reader's
    language (for the country filter), and the `chosen` one even without a mission there, so
    that the form shows the country its (empty) figures are filtered on. One query."""
    codes = set(_monitored().values_list("host_country", flat=True)) | ({chosen} - {""})
    return sorted(codes, key=lambda code: reference.name_sort_key(reference.country_name(code)))


def dashboard_filters_check(filters: DashboardFilters, *, country_typed: str = "") -> None:
    """Refuse filters that would not filter what they say (`ApplicationError`, `INVALID`, each
    refused field with its reason in `errors`, the first one as its `field`): a region or a
    status the dashboard does not offer, a country that is not an ISO 3166 code, a sort by a
    column it does not have. Every mission's figures under a filter the reader still sees
    would look filtered, so they are never the answer to a bad one. Every refusal is named at
    once, so that the reader corrects them in one go. A country with no mission is a filter
    like any other: nothing matches it. A refused country is quoted as the reader typed it
    (`country_typed`, "Germany"), not as it was put in capitals to be checked ("GERMANY")."""
    refused: dict[str, list[str]] = {}
    if filters.region and filters.region not in WorldRegion.values:
        refused["region"] = [gettext("Choose one of the regions listed.")]
    if filters.country and not reference.is_country(filters.country):
        refused["country"] = [
            gettext("“%(value)s” is not an ISO 3166 country code (such as DE or JP).")
            % {"value": (country_typed or filters.country)[:20]}
        ]
    if filters.status and filters.status not in MissionStatus.values:
        refused["status"] = [gettext("Choose one of the statuses listed.")]
    sorts = {"mission", *(column.key for column in dashboard_columns())}
    if filters.sort and filters.sort not in sorts:
        refused["sort"] = [gettext("Choose one of the columns listed.")]
    if refused:
        field, reasons = next(iter(refused.items()))
        raise ApplicationError(MissionError.INVALID, reasons[0], field=field, errors=refused)


def mission_list_monitored(*, filters: DashboardFilters) -> list[Mission]:
    """The missions the dashboard shows under `filters`, in the directory's order (by
    the countries' names in the reader's language, `mission_sort_key`). One query. Filters
    that do not filter are refused first (`dashboard_filters_check`)."""
    dashboard_filters_check(filters)
    missions = _monitored()
    if filters.region:
        missions = missions.filter(region=filters.region)
    if filters.country:
        missions = missions.filter(host_country=filters.country)
    if filters.status:
        missions = missions.filter(status=filters.status)
    return sorted(missions, key=mission_sort_key)


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


def _rows_sort(rows: list[DashboardRow], filters: DashboardFilters) -> list[DashboardRow]:
    if filters.sort == "mission":
        return sorted(
            rows,
            key=lambda row: reference.name_sort_key(str(row.mission.name)),
            reverse=filters.descending,
        )
    if not filters.sort:
        return rows
    with_figure = [row for row in rows if row.figures.get(filters.sort) is not None]
    without = [row for row in rows if row.figures.get(filters.sort) is None]
    with_figure.sort(
        key=lambda row: figure_sort_key(row.figures[filters.sort]), reverse=filters.descending
    )
    return with_figure + without  # no figure is last either way


def dashboard_read(*, filters: DashboardFilters, now: dt.datetime | None = None) -> Dashboard:
    """Every mission HQ watches (filtered), each with every contributor's figures and its
    alerts, sorted by `filters.sort` (no figure last)."""
    now = now or timezone.now()
    missions = mission_list_monitored(filters=filters)
    figures = _figures_all(missions, now)
    alerts = _alerts_all(missions, figures, now)
    rows = [DashboardRow(mission, figures[mission.code]) for mission in missions]
    by_code = {row.mission.code: row for row in rows}
    for alert in alerts:
        by_code[alert.mission].alerts.append(alert)
    pairs = [(alert, by_code[alert.mission].mission) for alert in alerts]
    return Dashboard(dashboard_columns(), _rows_sort(rows, filters), pairs, filters, now)


def trends_read(
    *, missions: Sequence[Mission], now: dt.datetime | None = None, weeks: int = TREND_WEEKS
) -> tuple[list[dt.date], list[Trend]]:
    """Every contributor's weekly series over `missions`, for the last `weeks` weeks (Mondays,
    oldest first; the current week is the last, so far): weeks in the mission's zone for one
    mission, in HQ's for several."""
    now = now or timezone.now()
    zone = missions[0].zone if len(missions) == 1 else mission_hq().zone
    mondays = weeks_ending(timezone.localdate(now, timezone=zone), weeks)
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
    columns = dashboard_columns()
    return MissionMonitoring(
        mission, columns, figures[mission.code], alerts, sections, weeks, trends, now
    )


def alert_list_for_digest(*, now: dt.datetime | None = None) -> list[tuple[Mission, list[Alert]]]:
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
