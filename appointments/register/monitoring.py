"""The appointments app's part of HQ monitoring (`missions.monitoring`; docs/monitoring.md,
"Appointments"): the next free appointment and the wait per mission and service, the mean wait
from booking to appointment, the no-show rate and the share booked online.

Everything is read from HQ's own registers (`ServiceAvailability`, the day sums of
`BookingDay`), never from a mission's schema, in a fixed number of queries whatever the number
of missions: each method says how many. "The last 30 days" are each mission's own: the 30 local
dates up to and including its today (the appointments dated then, whatever became of them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.utils import translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from consulate.kernel import reference
from missions.monitoring import Alert, Coded, Column, Section, Trend, window

from ..models import ReleaseMode
from . import selectors
from .models import ServiceAvailability

if TYPE_CHECKING:
    from missions.models import Mission

DAY_SECONDS = 86400

NEXT_FREE = "appointments.next_free"
WAIT_DAYS = "appointments.wait_days"
MEAN_WAIT = "appointments.mean_wait_days"
NO_SHOW_RATE = "appointments.no_show_rate"
ONLINE_SHARE = "appointments.online_share"
BOOKINGS_30D = "appointments.bookings_30d"

COLUMNS: tuple[Column, ...] = (
    Column(
        NEXT_FREE,
        _("Next free appointment"),
        "moment",
        _("The earliest time any of the mission's services can be booked, as it last reported."),
        worse_high=True,
    ),
    Column(
        WAIT_DAYS,
        _("Wait (days)"),
        "days",
        _("Days from now to the next free appointment at the mission: today's wait."),
    ),
    Column(
        MEAN_WAIT,
        _("Mean wait, 30 days"),
        "days",
        _(
            "Mean days from booking to appointment, over the appointments of the last 30 days "
            "at the mission."
        ),
    ),
    Column(
        NO_SHOW_RATE,
        _("No-shows, 30 days"),
        "percent",
        _(
            "Of the people due in the last 30 days who were served or did not come, the share "
            "who did not come."
        ),
    ),
    Column(
        ONLINE_SHARE,
        _("Booked online, 30 days"),
        "percent",
        _(
            "Of the bookings for the last 30 days whose channel is known, the share people made "
            "themselves online rather than staff at the counter."
        ),
        worse_high=False,
    ),
    Column(
        BOOKINGS_30D,
        _("Bookings, 30 days"),
        "count",
        _("Bookings made for appointments in the last 30 days, cancelled ones included."),
        worse_high=False,
    ),
)

SECTION_COLUMNS: tuple[Column, ...] = (
    # shown as labels in the reader's language, written to a CSV with their stable codes
    Column("appointments.service.name", _("Service"), "code"),
    Column("appointments.service.release_mode", _("Release"), "code"),
    Column(
        "appointments.service.next_free",
        _("Next free appointment"),
        "moment",
        _("The earliest time the service can be booked, as the mission last reported."),
    ),
    Column(
        "appointments.service.free_places_30d",
        _("Free places, next 30 days"),
        "count",
        worse_high=False,
    ),
    Column("appointments.service.mean_wait_days", _("Mean wait, 30 days"), "days"),
    Column("appointments.service.bookings_30d", _("Bookings, 30 days"), "count", worse_high=False),
    Column("appointments.service.no_show_rate", _("No-shows, 30 days"), "percent"),
)


def service_name(names: dict[str, str], code: str) -> str:
    """The service's name in the reader's language, else in English, else its code."""
    language = (translation.get_language() or "en").split("-")[0]
    return names.get(language) or names.get("en") or code


def days_until(moment: dt.datetime | None, now: dt.datetime) -> float | None:
    if moment is None:
        return None
    return max(0.0, (moment - now).total_seconds() / DAY_SECONDS)


def no_show_rate(totals: dict[str, Any]) -> float | None:
    due = (totals.get("served") or 0) + (totals.get("no_show") or 0)
    return (totals.get("no_show") or 0) / due if due else None


def online_share(totals: dict[str, Any]) -> float | None:
    known = (totals.get("online") or 0) + (totals.get("counter") or 0)
    return (totals.get("online") or 0) / known if known else None


def _alert(row: ServiceAvailability, mission: Mission, now: dt.datetime) -> Alert | None:
    name = service_name(row.names, row.service)
    target = mission.wait_target()
    days = days_until(row.next_bookable_at, now)
    if days is not None and days > target:
        return Alert(
            mission=mission.code,
            kind="appointments.wait_above_target",
            severity="warning",
            message=ngettext(
                "%(service)s: the next free appointment is %(days)d days away "
                "(target: %(target)d day).",
                "%(service)s: the next free appointment is %(days)d days away "
                "(target: %(target)d days).",
                target,
            )
            % {"service": name, "days": int(days), "target": target},
        )
    if row.free_places_30d == 0 and row.free_reported_at is not None:
        return Alert(
            mission=mission.code,
            kind="appointments.wait_above_target",
            severity="critical",
            message=gettext(
                "%(service)s: no free appointment in the next 30 days (there were some on "
                "%(date)s)."
            )
            % {
                "service": name,
                "date": reference.day_written_short(
                    row.free_reported_at.astimezone(mission.zone).date()
                ),
            },
        )
    return None


class AppointmentsContributor:
    name = "appointments"
    columns: tuple[Column, ...] = COLUMNS

    def figures(
        self, *, missions: Sequence[Mission], now: dt.datetime
    ) -> dict[str, dict[str, Any]]:
        """Two queries: the availability reports and the 30-day sums of every mission."""
        codes = [mission.code for mission in missions]
        out: dict[str, dict[str, Any]] = {code: {} for code in codes}
        for row in selectors.availability_list(missions=codes):
            if row.next_bookable_at is None:
                continue
            known = out[row.mission].get(NEXT_FREE)
            if known is None or row.next_bookable_at < known:
                out[row.mission][NEXT_FREE] = row.next_bookable_at
        for figures in out.values():
            figures.setdefault(NEXT_FREE, None)
            figures[WAIT_DAYS] = days_until(figures.get(NEXT_FREE), now)
        windows = {mission.code: window(mission, now) for mission in missions}
        for totals in selectors.booking_totals_in_windows(windows=windows):
            figures = out[totals["mission"]]
            figures[MEAN_WAIT] = totals["mean_lead_days"]
            figures[NO_SHOW_RATE] = no_show_rate(totals)
            figures[ONLINE_SHARE] = online_share(totals)
            figures[BOOKINGS_30D] = totals["booked"]
        return out

    def alerts(
        self,
        *,
        missions: Sequence[Mission],
        figures: dict[str, dict[str, Any]],
        now: dt.datetime,
    ) -> list[Alert]:
        """One query: a service whose next free appointment is further than the mission's
        target, or which has no free place in the next 30 days after having had some."""
        by_code = {mission.code: mission for mission in missions}
        alerts = []
        for row in selectors.availability_list(missions=list(by_code)):
            alert = _alert(row, by_code[row.mission], now)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def trends(self, *, missions: Sequence[Mission], weeks: Sequence[dt.date]) -> list[Trend]:
        """One query: bookings and the mean wait per week of the appointments."""
        if not weeks:
            return []
        rows = selectors.booking_totals_per_week(
            missions=[mission.code for mission in missions],
            date_from=weeks[0],
            date_to=weeks[-1] + dt.timedelta(days=6),
        )
        by_week = {row["week"]: row for row in rows}
        return [
            Trend(
                "appointments.bookings",
                _("Bookings per week (by appointment date)"),
                "count",
                {week: by_week[week]["booked"] if week in by_week else 0 for week in weeks},
            ),
            Trend(
                "appointments.mean_wait_days",
                _("Mean wait from booking to appointment"),
                "days",
                {
                    week: by_week[week]["mean_lead_days"] if week in by_week else None
                    for week in weeks
                },
                unit=gettext("days"),
            ),
        ]

    def sections(self, *, mission: Mission, now: dt.datetime) -> list[Section]:
        """Two queries: the mission's services as reported, and their 30-day sums."""
        reports = {row.service: row for row in selectors.availability_list(missions=[mission.code])}
        totals = {
            row["service"]: row
            for row in selectors.booking_totals_in_windows(
                windows={mission.code: window(mission, now)}, per_service=True
            )
        }
        rows = []
        # the services the mission offers, as it last reported them (one it stopped offering
        # leaves the page with its report, even with bookings in the window)
        for code in sorted(reports):
            report = reports.get(code)
            sums = totals.get(code, {})
            mode = report.release_mode if report else ""
            rows.append(
                {
                    "appointments.service.name": Coded(
                        service_name(report.names if report else {}, code), code
                    ),
                    "appointments.service.release_mode": Coded(
                        ReleaseMode(mode).label if mode in ReleaseMode.values else mode, mode
                    ),
                    "appointments.service.next_free": report.next_bookable_at if report else None,
                    "appointments.service.free_places_30d": (
                        report.free_places_30d if report else None
                    ),
                    "appointments.service.mean_wait_days": sums.get("mean_lead_days"),
                    "appointments.service.bookings_30d": sums.get("booked", 0),
                    "appointments.service.no_show_rate": no_show_rate(sums),
                }
            )
        rows.sort(key=lambda row: str(row["appointments.service.name"]).casefold())
        return [
            Section(
                "appointments.services",
                _("Appointments per service"),
                SECTION_COLUMNS,
                rows,
                empty=_("The mission has reported no service yet."),
            )
        ]


contributor = AppointmentsContributor()
