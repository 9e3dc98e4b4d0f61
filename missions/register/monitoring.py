"""The cases contributor to HQ monitoring (missions/monitoring.py, docs/monitoring.md, "Cases,
staff and revenue"): every registered case type's backlog and decisions, and the staff who
acted today, from HQ's case and staff activity registers. Registered by
`missions.register.apps.MissionsRegisterConfig.ready`.

Each method reads a fixed number of queries whatever the number of missions: `figures` two
(the open cases, grouped per mission and type; today's staff), `alerts` two (the day sums of
the last weeks, the month sums of the year before), `trends` one, `sections` two. Open cases
are read from the register's rows through a partial index of the open ones; every other
figure from the day and month sums the projector keeps.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncWeek
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from missions.monitoring import (
    WINDOW_DAYS,
    Alert,
    Coded,
    Column,
    Section,
    Trend,
    mission_today,
    month_back,
    share_text,
)

from .cases import CaseType, case_types
from .models import CaseDay, CaseMonth, RegisteredCase, StaffActivityDay

if TYPE_CHECKING:
    from missions.models import Mission

BASELINE_MONTHS = 12
REFUSAL_MIN_DECISIONS = 10
REFUSAL_MIN_GAP = 0.15  # at least 15 percentage points
REFUSAL_STANDARD_ERRORS = 3

COLUMNS: tuple[Column, ...] = (
    Column(
        key="cases.open",
        label=_("Open cases"),
        kind="count",
        # what it counts beside HQ's visa statistics, which count from the submission (a trial
        # found the two "open" figures differing, unexplained)
        help=_(
            "Cases of every type opened at the mission and not yet decided or withdrawn. A visa "
            "application is a case from the day its file is complete, so this can be fewer "
            "than the “Open” of HQ's visa statistics, which counts every application submitted."
        ),
    ),
    Column(
        key="cases.oldest_days",
        label=_("Oldest open case"),
        kind="days",
        help=_("How many days the oldest open case has been waiting."),
    ),
    Column(
        key="cases.overdue",
        label=_("Overdue cases"),
        kind="count",
        help=_("Open cases older than their type's target in days (listed on the mission's page)."),
    ),
    Column(
        key="cases.staff_active_today",
        label=_("Staff active today"),
        kind="count",
        help=_(
            "Staff who did something only staff do (decided a request, took money at the "
            "counter, closed the day, served a visitor) today, the mission's date."
        ),
        worse_high=False,
    ),
)

SECTION_COLUMNS: tuple[Column, ...] = (
    Column(key="case_type", label=_("Case type"), kind="code"),
    Column(key="target_days", label=_("Target (days)"), kind="count", worse_high=False),
    Column(key="open", label=_("Open"), kind="count"),
    Column(key="oldest_days", label=_("Oldest open (days)"), kind="days"),
    Column(key="overdue", label=_("Overdue"), kind="count"),
    Column(key="opened_30d", label=_("Opened, 30 days"), kind="count"),
    Column(key="decided_30d", label=_("Decided, 30 days"), kind="count", worse_high=False),
    Column(key="refused_30d", label=_("Refused, 30 days"), kind="count"),
    Column(key="refusal_rate_30d", label=_("Refusal rate, 30 days"), kind="percent"),
    Column(key="mean_decision_days_30d", label=_("Mean days to decide, 30 days"), kind="days"),
)


def _days_between(earlier: dt.datetime, now: dt.datetime) -> float:
    return max(0.0, (now - earlier).total_seconds() / 86400)


def _open_cases(
    codes: list[str], types: list[CaseType], now: dt.datetime
) -> dict[tuple[str, str], dict[str, Any]]:
    """{(mission, case type): {open, oldest (opened_at), overdue}}: one query."""
    if not types:
        return {}
    overdue = Q()
    for case_type in types:
        overdue |= Q(
            case_type=case_type.code,
            opened_at__lt=now - dt.timedelta(days=case_type.target_days),
        )
    rows = (
        RegisteredCase.objects.filter(
            mission__in=codes,
            case_type__in=[t.code for t in types],
            closed_seq=0,
            opened_seq__isnull=False,
        )
        .values("mission", "case_type")
        .annotate(open=Count("id"), oldest=Min("opened_at"), overdue=Count("id", filter=overdue))
        .order_by()
    )
    return {(row["mission"], row["case_type"]): dict(row) for row in rows}


def refusal_rate_differs(*, refused: int, decided: int, baseline: float) -> bool:
    """Whether `refused` of `decided` differs from the `baseline` rate by more than three
    binomial standard errors (of `decided` draws at the baseline rate) and at least 15 points,
    with at least 10 decisions."""
    if decided < REFUSAL_MIN_DECISIONS:
        return False
    rate = refused / decided
    error = math.sqrt(baseline * (1 - baseline) / decided)
    gap = abs(rate - baseline)
    return gap > REFUSAL_STANDARD_ERRORS * error and gap >= REFUSAL_MIN_GAP - 1e-9


class CasesContributor:
    name = "cases"
    columns = COLUMNS

    def figures(
        self, *, missions: Sequence[Mission], now: dt.datetime
    ) -> dict[str, dict[str, Any]]:
        if not missions:
            return {}
        codes = [m.code for m in missions]
        open_cases = _open_cases(codes, case_types(), now)
        todays = {m.code: mission_today(m, now) for m in missions}
        active = {
            (row["mission"], row["day"]): row["staff"]
            for row in StaffActivityDay.objects.filter(
                mission__in=codes, day__in=sorted(set(todays.values()))
            )
            .values("mission", "day")
            .annotate(staff=Count("actor_id"))
            .order_by()
        }
        figures: dict[str, dict[str, Any]] = {
            code: {
                "cases.open": 0,
                "cases.oldest_days": None,
                "cases.overdue": 0,
                "cases.staff_active_today": active.get((code, todays[code]), 0),
            }
            for code in codes
        }
        oldest: dict[str, dt.datetime] = {}
        for (code, _type), row in open_cases.items():
            figures[code]["cases.open"] += row["open"]
            figures[code]["cases.overdue"] += row["overdue"]
            if row["oldest"] is not None and (code not in oldest or row["oldest"] < oldest[code]):
                oldest[code] = row["oldest"]
        for code, opened_at in oldest.items():
            figures[code]["cases.oldest_days"] = _days_between(opened_at, now)
        return figures

    def alerts(
        self,
        *,
        missions: Sequence[Mission],
        figures: dict[str, dict[str, Any]],
        now: dt.datetime,
    ) -> list[Alert]:
        types = case_types()
        if not missions or not types:
            return []
        codes = [m.code for m in missions]
        todays = {m.code: mission_today(m, now) for m in missions}
        growth_days = int(settings.MONITORING_BACKLOG_GROWTH_DAYS)
        reach = max(growth_days, WINDOW_DAYS - 1)
        days: dict[tuple[str, str], dict[dt.date, dict[str, Any]]] = defaultdict(dict)
        for row in CaseDay.objects.filter(
            mission__in=codes,
            case_type__in=[t.code for t in types],
            day__gte=min(todays.values()) - dt.timedelta(days=reach),
            day__lte=max(todays.values()),
        ).values("mission", "case_type", "day", "opened", "closed", "granted", "refused"):
            days[(row["mission"], row["case_type"])][row["day"]] = dict(row)
        this_months = {code: today.replace(day=1) for code, today in todays.items()}
        months: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for month_row in CaseMonth.objects.filter(
            mission__in=codes,
            case_type__in=[t.code for t in types],
            month__gte=month_back(min(this_months.values()), BASELINE_MONTHS),
            month__lt=max(this_months.values()),
        ).values("mission", "case_type", "month", "granted", "refused"):
            months[(month_row["mission"], month_row["case_type"])].append(dict(month_row))

        alerts: list[Alert] = []
        for mission in missions:
            today = todays[mission.code]
            for case_type in types:
                key = (mission.code, case_type.code)
                alert = self._backlog_alert(mission, case_type, days[key], today, growth_days)
                if alert:
                    alerts.append(alert)
                first_month = month_back(this_months[mission.code], BASELINE_MONTHS)
                baseline = [
                    row
                    for row in months[key]
                    if first_month <= row["month"] < this_months[mission.code]
                ]
                alert = self._refusal_alert(mission, case_type, days[key], today, baseline)
                if alert:
                    alerts.append(alert)
        return alerts

    @staticmethod
    def _backlog_alert(
        mission: Mission,
        case_type: CaseType,
        days: dict[dt.date, dict[str, Any]],
        today: dt.date,
        growth_days: int,
    ) -> Alert | None:
        """The backlog grew (opened > closed) on each of the `growth_days` whole days before
        today (today is not over: counting it would raise and drop the alert within a day)."""
        if growth_days <= 0:
            return None
        window = [today - dt.timedelta(days=n) for n in range(growth_days, 0, -1)]
        if not all(day in days and days[day]["opened"] > days[day]["closed"] for day in window):
            return None
        opened = sum(days[day]["opened"] for day in window)
        closed = sum(days[day]["closed"] for day in window)
        return Alert(
            mission=mission.code,
            kind="cases.backlog_growing",
            severity="warning",
            message=ngettext(
                "%(type)s: the backlog grew on the last day "
                "(%(opened)d opened, %(closed)d closed).",
                "%(type)s: the backlog grew on each of the last %(days)d days "
                "(%(opened)d opened, %(closed)d closed).",
                growth_days,
            )
            % {"type": case_type.label, "days": growth_days, "opened": opened, "closed": closed},
            since=dt.datetime.combine(window[0], dt.time(), tzinfo=mission.zone),
        )

    @staticmethod
    def _refusal_alert(
        mission: Mission,
        case_type: CaseType,
        days: dict[dt.date, dict[str, Any]],
        today: dt.date,
        baseline_months: list[dict[str, Any]],
    ) -> Alert | None:
        since = today - dt.timedelta(days=WINDOW_DAYS - 1)
        recent = [row for day, row in days.items() if since <= day <= today]
        refused = sum(row["refused"] for row in recent)
        decided = refused + sum(row["granted"] for row in recent)
        base_refused = sum(row["refused"] for row in baseline_months)
        base_decided = base_refused + sum(row["granted"] for row in baseline_months)
        if not base_decided:
            return None
        baseline = base_refused / base_decided
        if not refusal_rate_differs(refused=refused, decided=decided, baseline=baseline):
            return None
        return Alert(
            mission=mission.code,
            kind="cases.refusal_rate",
            severity="warning",
            message=gettext(
                "%(type)s: %(rate)s of %(decided)d decisions refused over the last 30 days, "
                "against %(baseline)s over the 12 months before."
            )
            % {
                "type": case_type.label,
                "rate": share_text(refused / decided),
                "decided": decided,
                "baseline": share_text(baseline),
            },
        )

    def trends(self, *, missions: Sequence[Mission], weeks: Sequence[dt.date]) -> list[Trend]:
        opened: dict[dt.date, float | int | None] = dict.fromkeys(weeks, 0)
        decided: dict[dt.date, float | int | None] = dict.fromkeys(weeks, 0)
        mean: dict[dt.date, float | int | None] = dict.fromkeys(weeks, None)
        if missions and weeks:
            rows = (
                CaseDay.objects.filter(
                    mission__in=[m.code for m in missions],
                    day__gte=weeks[0],
                    day__lt=weeks[-1] + dt.timedelta(days=7),
                )
                .annotate(week=TruncWeek("day"))
                .values("week")
                .annotate(
                    opened=Sum("opened"),
                    granted=Sum("granted"),
                    refused=Sum("refused"),
                    closed=Sum("closed"),
                    decision_days=Sum("decision_days"),
                )
                .order_by("week")
            )
            for row in rows:
                week = row["week"]
                if isinstance(week, dt.datetime):
                    week = week.date()
                if week not in opened:
                    continue
                opened[week] = row["opened"]
                decided[week] = row["granted"] + row["refused"]
                if row["closed"]:
                    mean[week] = row["decision_days"] / row["closed"]
        return [
            Trend(key="cases.opened", label=_("Cases opened"), kind="count", values=opened),
            Trend(key="cases.decided", label=_("Cases decided"), kind="count", values=decided),
            Trend(
                key="cases.mean_decision_days",
                label=_("Mean time to decide"),
                kind="days",
                values=mean,
                unit=str(_("days")),
            ),
        ]

    def sections(self, *, mission: Mission, now: dt.datetime) -> list[Section]:
        types = case_types()
        open_cases = _open_cases([mission.code], types, now)
        today = mission_today(mission, now)
        recent: dict[str, dict[str, Any]] = {
            row["case_type"]: dict(row)
            for row in CaseDay.objects.filter(
                mission=mission.code,
                day__gte=today - dt.timedelta(days=WINDOW_DAYS - 1),
                day__lte=today,
            )
            .values("case_type")
            .annotate(
                opened=Sum("opened"),
                closed=Sum("closed"),
                granted=Sum("granted"),
                refused=Sum("refused"),
                decision_days=Sum("decision_days"),
            )
            .order_by()
        }
        rows = []
        for case_type in types:
            backlog: dict[str, Any] = open_cases.get((mission.code, case_type.code), {})
            sums: dict[str, Any] = recent.get(case_type.code, {})
            decided = sums.get("granted", 0) + sums.get("refused", 0)
            closed = sums.get("closed", 0)
            oldest = backlog.get("oldest")
            rows.append(
                {
                    "case_type": Coded(case_type.label, case_type.code),
                    "target_days": case_type.target_days,
                    "open": backlog.get("open", 0),
                    "oldest_days": _days_between(oldest, now) if oldest else None,
                    "overdue": backlog.get("overdue", 0),
                    "opened_30d": sums.get("opened", 0),
                    "decided_30d": decided,
                    "refused_30d": sums.get("refused", 0),
                    "refusal_rate_30d": sums.get("refused", 0) / decided if decided else None,
                    "mean_decision_days_30d": (
                        sums.get("decision_days", 0) / closed if closed else None
                    ),
                }
            )
        return [
            Section(
                key="cases.types",
                title=_("Cases by type"),
                columns=SECTION_COLUMNS,
                rows=rows,
                empty=_("No kind of case is registered."),
                note=_(
                    "Open: opened and not yet decided or withdrawn. A visa application is open "
                    "here from the day its file is complete; HQ's visa statistics count it as "
                    "open from its submission."
                ),
            )
        ]
