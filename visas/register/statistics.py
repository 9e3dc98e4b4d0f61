"""HQ's visa statistics from the register of visa cases (docs/visas.md, "Statistics"): per
mission, nationality or category, how many applied, were issued, refused, withdrawn or are
still open, the refusal rate, and the decision times against the legal deadline.

Definitions (the page's and the CSV's):

- applications: cases submitted in the period (`submitted_at`, HQ's dates, inclusive).
- issued: decided to issue (a visa later annulled or revoked counts: it was issued); refused:
  refused (a refusal overturned on appeal is open again until decided anew); withdrawn:
  withdrawn or deemed withdrawn; open: no outcome yet.
- refusal rate: refused / (issued + refused); none without a decision.
- decision time: calendar days from the date the file became admissible to the date of the
  decision, both in the mission's time zone; the median over the decisions (issued or refused)
  that have both.
- within the deadline: the share of those decisions made on or before `decision_due_on` (the
  mission's date, extension included).
- overdue: open cases whose decision date has passed (the mission's today).

The rows are read in one query and summed in Python (a few hundred thousand cases a year are
seconds at most); the permission is checked here as well as by the page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from missions.models import Mission, MissionKind
from missions.permissions import Action, permission_require
from missions.selectors import mission_hq
from passports.mrz.codes import code_is_known
from visas.error_codes import VisaError
from visas.reference.models import VisaCategory

from .models import CaseOutcome, VisaCase

GROUPS = {
    "mission": _("Mission"),
    "nationality": _("Nationality"),
    "category": _("Category"),
}
# each grouping's table, as a sentence (its label is a heading's, capitalised)
CAPTIONS = {
    "mission": _("Visa applications per mission"),
    "nationality": _("Visa applications per nationality"),
    "category": _("Visa applications per category"),
}
ISSUED = frozenset({CaseOutcome.ISSUED, CaseOutcome.ANNULLED, CaseOutcome.REVOKED})
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class StatisticsFilters:
    group: str = "mission"
    mission: str = ""
    nationality: str = ""
    category: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    def query(self) -> str:
        """The filters as a query string (for the CSV link)."""
        from urllib.parse import urlencode

        values = {
            "group": self.group if self.group != "mission" else "",
            "mission": self.mission,
            "nationality": self.nationality,
            "category": self.category,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return urlencode({k: v for k, v in values.items() if v})


@dataclass
class StatisticsRow:
    key: str
    label: str
    applications: int = 0
    issued: int = 0
    refused: int = 0
    withdrawn: int = 0
    open: int = 0
    overdue: int = 0
    decision_days: list[int] = field(default_factory=list)
    within_deadline: int = 0
    with_deadline: int = 0

    @property
    def refusal_rate(self) -> float | None:
        decided = self.issued + self.refused
        return self.refused / decided if decided else None

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.decision_days) if self.decision_days else None

    @property
    def within_deadline_share(self) -> float | None:
        return self.within_deadline / self.with_deadline if self.with_deadline else None


@dataclass(frozen=True)
class Statistics:
    filters: StatisticsFilters
    rows: list[StatisticsRow]
    total: StatisticsRow


def _zones() -> dict[str, zoneinfo.ZoneInfo]:
    return {
        code: zoneinfo.ZoneInfo(zone)
        for code, zone in Mission.objects.exclude(kind=MissionKind.HEADQUARTERS).values_list(
            "code", "timezone"
        )
    }


def _labels(group: str, keys: Iterable[str]) -> dict[str, str]:
    keys = set(keys)
    if group == "mission":
        return {m.code: str(m.name) for m in Mission.objects.filter(code__in=keys)}
    if group == "category":
        labels: dict[str, str] = {}
        # the category for every mission names it; a per-mission addition otherwise
        for category in VisaCategory.objects.filter(code__in=keys).order_by("-mission"):
            labels[category.code] = str(category.name)
        return labels
    return {}


def _count(
    row: StatisticsRow, case: dict[str, Any], zone: zoneinfo.ZoneInfo, today: dt.date
) -> None:
    row.applications += 1
    outcome = case["outcome"]
    if outcome in ISSUED:
        row.issued += 1
    elif outcome == CaseOutcome.REFUSED:
        row.refused += 1
    elif outcome == CaseOutcome.WITHDRAWN:
        row.withdrawn += 1
    else:
        row.open += 1
        if case["decision_due_on"] is not None and case["decision_due_on"] < today:
            row.overdue += 1
    if (outcome in ISSUED or outcome == CaseOutcome.REFUSED) and case["decided_at"] is not None:
        decided_on = timezone.localtime(case["decided_at"], zone).date()
        if case["admissible_at"] is not None:
            admissible_on = timezone.localtime(case["admissible_at"], zone).date()
            row.decision_days.append((decided_on - admissible_on).days)
        if case["decision_due_on"] is not None:
            row.with_deadline += 1
            row.within_deadline += decided_on <= case["decision_due_on"]


def statistics_filters_check(filters: StatisticsFilters) -> None:
    """Refuse filters that would not filter what they say (`ApplicationError`, `INVALID`, each
    refused field with its reason in `errors`, the first one as its `field`): a grouping the
    page does not offer, a nationality that is not a three-letter code, a period that ends
    before it starts. Figures for everything under a filter the reader still sees would look
    filtered, so they are never the answer to a bad one. Every refusal is named at once, so
    that the reader corrects them in one go."""
    refused: dict[str, list[str]] = {}
    if filters.group not in GROUPS:
        refused["group"] = [gettext("Choose the figures per mission, nationality or category.")]
    code = filters.nationality
    if code and (len(code) != 3 or not code_is_known(code)):
        refused["nationality"] = [
            gettext("“%(code)s” is not a three-letter nationality code (ICAO Doc 9303).")
            % {"code": code[:20]}
        ]
    if filters.since and filters.until and filters.since > filters.until:
        refused["until"] = [gettext("The start date is after the end date.")]
    if refused:
        field, reasons = next(iter(refused.items()))
        raise ApplicationError(VisaError.INVALID, reasons[0], field=field, errors=refused)


def statistics_read(*, filters: StatisticsFilters, acting_user: Any) -> Statistics:
    """The figures per `filters.group`, the groups by applications (most first), and the total.
    Filters that do not filter are refused first (`statistics_filters_check`)."""
    permission_require(user=acting_user, mission=mission_hq(), action=Action.VISA_STATISTICS_VIEW)
    statistics_filters_check(filters)
    cases = VisaCase.objects.all()
    if filters.mission:
        cases = cases.filter(mission=filters.mission)
    if filters.nationality:
        cases = cases.filter(nationality=filters.nationality)
    if filters.category:
        cases = cases.filter(category=filters.category)
    zones = _zones()
    hq_zone = timezone.get_current_timezone()
    if filters.since:
        start = dt.datetime.combine(filters.since, dt.time(), tzinfo=hq_zone)
        cases = cases.filter(submitted_at__gte=start)
    if filters.until and filters.until < dt.date.max:  # the last day has no "next day"
        end = dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time(), tzinfo=hq_zone)
        cases = cases.filter(submitted_at__lt=end)
    group = filters.group
    rows: dict[str, StatisticsRow] = {}
    total = StatisticsRow(key="", label=str(_("All")))
    now = timezone.now()
    todays: dict[str, dt.date] = {}
    utc = zoneinfo.ZoneInfo("UTC")
    case: dict[str, Any]
    for case in cases.values(  # type: ignore[assignment]  # a row as a plain dict
        "mission",
        "nationality",
        "category",
        "outcome",
        "admissible_at",
        "decision_due_on",
        "decided_at",
    ).iterator(chunk_size=5000):
        zone = zones.get(case["mission"], utc)
        today = todays.get(case["mission"])
        if today is None:
            today = todays[case["mission"]] = timezone.localtime(now, zone).date()
        key = case[group] or ""
        row = rows.get(key)
        if row is None:
            row = rows[key] = StatisticsRow(key=key, label=key)
        _count(row, case, zone, today)
        _count(total, case, zone, today)
    labels = _labels(group, rows)
    for row in rows.values():
        row.label = labels.get(row.key, row.key) or str(_("Not known"))
    ordered = sorted(rows.values(), key=lambda r: (-r.applications, r.label))
    return Statistics(filters=filters, rows=ordered, total=total)


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


CSV_HEADER = [
    "group",
    "key",
    "name",
    "applications",
    "issued",
    "refused",
    "withdrawn",
    "open",
    "refusal_rate",
    "median_decision_days",
    "decided_within_deadline",
    "overdue_open",
]


def _csv_row(group: str, row: StatisticsRow) -> Sequence[Any]:
    median = row.median_days
    return [
        group,
        row.key,
        "" if group == "total" else _text(row.label),
        row.applications,
        row.issued,
        row.refused,
        row.withdrawn,
        row.open,
        _share(row.refusal_rate),
        "" if median is None else f"{median:g}",
        _share(row.within_deadline_share),
        row.overdue,
    ]


def statistics_csv(*, filters: StatisticsFilters, acting_user: Any) -> str:
    """The page's table as CSV (stable keys, shares from 0 to 1, a dot for decimals), with the
    total as the last row (group "total")."""
    figures = statistics_read(filters=filters, acting_user=acting_user)
    group = filters.group
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in figures.rows:
        writer.writerow(_csv_row(group, row))
    writer.writerow(_csv_row("total", figures.total))
    return out.getvalue()
