"""The fees contributor to HQ monitoring (missions/monitoring.py, docs/monitoring.md, "Cases,
staff and revenue"): net revenue from HQ's revenue register (`RevenueDay`, `RevenueMonth`).
Registered by `fees.apps.FeesConfig.ready`.

Net revenue is payments less refunds by business date: this month's is the mission's month
(its local date), in its local currency and in HQ's base currency as the mission converted it
when it took the money. One query a method, whatever the number of missions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import Sum
from django.db.models.functions import TruncWeek
from django.utils import formats, translation
from django.utils.translation import gettext_lazy as _

from fees.money import Money, MoneyError
from fees.reference.models import base_currency
from missions.monitoring import Column, Section, Trend, mission_today, month_back

from .models import RevenueDay, RevenueMonth

if TYPE_CHECKING:
    from missions.models import Mission

MONTHS_SHOWN = 12


@functools.total_ordering
@dataclasses.dataclass(frozen=True)
class Revenue:
    """A mission's revenue in its own currency, shown and written as such, but sorted by its
    value in HQ's base currency (`base_minor`): the dashboard sorts missions of different
    currencies together, and `Money` refuses to compare euros with yen."""

    money: Money
    base_minor: int

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Revenue):
            return NotImplemented
        return (self.base_minor, self.money.currency, self.money.amount_minor) < (
            other.base_minor,
            other.money.currency,
            other.money.amount_minor,
        )


def _as_money(value: Any) -> Money | None:
    if isinstance(value, Revenue):
        return value.money
    return value if isinstance(value, Money) else None


def money_display(value: Any) -> str:
    """A `Money` (or `Revenue`) as the reader's language writes it ("€1,234.50", Turkish
    "€1.234,50")."""
    money = _as_money(value)
    if money is None:
        return "–"
    return money.format(translation.get_language() or "en")


def money_csv(value: Any) -> str:
    """A `Money` (or `Revenue`) in a CSV: the decimal amount and the currency code
    ("1234.50 EUR")."""
    money = _as_money(value)
    if money is None:
        return ""
    return f"{money.to_decimal()} {money.currency}"


def _money(amount_minor: int, currency: str) -> Money | None:
    try:
        return Money(int(amount_minor), currency)
    except MoneyError:  # a currency the platform no longer knows: no figure rather than a 500
        return None


COLUMNS: tuple[Column, ...] = (
    Column(
        key="fees.revenue_mtd",
        label=_("Revenue this month"),
        kind="money",
        help=_(
            "Payments less refunds since the first of the month (the mission's date), in the "
            "mission's currency."
        ),  # its value a `Revenue`: sorted by the amount in the base currency
        display=money_display,
        csv=money_csv,
        worse_high=False,
    ),
    Column(
        key="fees.revenue_mtd_base",
        label=_("Revenue this month (base currency)"),
        kind="money",
        help=_(
            "The same in HQ's base currency, at the rates the mission used when it took the money."
        ),
        display=money_display,
        csv=money_csv,
        worse_high=False,
    ),
)


def month_display(month: dt.date) -> str:
    """A month as the reader's language names it ("December 2026", "Aralık 2026")."""
    return str(formats.date_format(month, "YEAR_MONTH_FORMAT"))


# The month is the first of the month (a date): the page names it in the reader's language,
# the CSV writes it in ISO 8601 ("2026-12"). Each amount is written by the monitoring CSV's one
# writer (missions.monitoring.figure_csv_cells): the amount, then its currency's code in a
# column of its own, never "0 JPY" in one cell.
SECTION_COLUMNS: tuple[Column, ...] = (
    Column(
        key="month",
        label=_("Month"),
        kind="text",
        display=month_display,
        csv=lambda month: f"{month:%Y-%m}",
    ),
    Column(key="payments", label=_("Payments"), kind="count", worse_high=False),
    Column(key="refunds", label=_("Refunds"), kind="count"),
    Column(
        key="net",
        label=_("Net revenue"),
        kind="money",
        display=money_display,
        csv=money_csv,
        worse_high=False,
    ),
    Column(
        key="net_base",
        label=_("Net revenue (base currency)"),
        kind="money",
        display=money_display,
        csv=money_csv,
        worse_high=False,
    ),
)


def _this_month(mission: Mission, now: dt.datetime) -> dt.date:
    return mission_today(mission, now).replace(day=1)


class FeesContributor:
    name = "fees"
    columns = COLUMNS

    def figures(
        self, *, missions: Sequence[Mission], now: dt.datetime
    ) -> dict[str, dict[str, Any]]:
        if not missions:
            return {}
        base = base_currency()
        months = {m.code: _this_month(m, now) for m in missions}
        local: dict[str, int] = {}
        in_base: dict[str, int] = {}
        currency = {m.code: m.currency for m in missions}
        for row in (
            RevenueMonth.objects.filter(
                mission__in=list(months), month__in=sorted(set(months.values()))
            )
            .values("mission", "month", "currency", "base_currency")
            .annotate(
                p=Sum("payments_minor"),
                r=Sum("refunds_minor"),
                pb=Sum("payments_base_minor"),
                rb=Sum("refunds_base_minor"),
            )
            .order_by()
        ):
            code = row["mission"]
            if row["month"] != months[code]:
                continue
            if row["currency"] == currency[code]:
                local[code] = local.get(code, 0) + row["p"] - row["r"]
            if row["base_currency"] == base:
                in_base[code] = in_base.get(code, 0) + row["pb"] - row["rb"]
        figures: dict[str, dict[str, Any]] = {}
        for code in months:
            money = _money(local.get(code, 0), currency[code])
            figures[code] = {
                "fees.revenue_mtd": Revenue(money, in_base.get(code, 0))
                if money is not None
                else None,
                "fees.revenue_mtd_base": _money(in_base.get(code, 0), base),
            }
        return figures

    def alerts(
        self, *, missions: Sequence[Mission], figures: dict[str, dict[str, Any]], now: dt.datetime
    ) -> list[Any]:
        return []

    def trends(self, *, missions: Sequence[Mission], weeks: Sequence[dt.date]) -> list[Trend]:
        base = base_currency()
        values: dict[dt.date, float | int | None] = dict.fromkeys(weeks, 0)
        if missions and weeks:
            rows = (
                RevenueDay.objects.filter(
                    mission__in=[m.code for m in missions],
                    base_currency=base,
                    business_date__gte=weeks[0],
                    business_date__lt=weeks[-1] + dt.timedelta(days=7),
                )
                .annotate(week=TruncWeek("business_date"))
                .values("week")
                .annotate(p=Sum("payments_base_minor"), r=Sum("refunds_base_minor"))
                .order_by("week")
            )
            for row in rows:
                week = row["week"]
                if isinstance(week, dt.datetime):
                    week = week.date()
                if week in values:
                    values[week] = row["p"] - row["r"]
        return [
            Trend(
                key="fees.net_revenue",
                label=_("Net revenue"),
                kind="money",
                values=values,
                unit=base,
            )
        ]

    def sections(self, *, mission: Mission, now: dt.datetime) -> list[Section]:
        base = base_currency()
        this_month = _this_month(mission, now)
        months = [month_back(this_month, n) for n in range(MONTHS_SHOWN)]  # newest first
        sums: dict[dt.date, list[int]] = {
            month: [0, 0, 0, 0] for month in months
        }  # payments, refunds, net, net base
        for row in (
            RevenueMonth.objects.filter(
                mission=mission.code, month__gte=months[-1], month__lte=this_month
            )
            .values("month", "currency", "base_currency")
            .annotate(
                payments=Sum("payments"),
                refunds=Sum("refunds"),
                p=Sum("payments_minor"),
                r=Sum("refunds_minor"),
                pb=Sum("payments_base_minor"),
                rb=Sum("refunds_base_minor"),
            )
            .order_by()
        ):
            month = sums[row["month"]]
            month[0] += row["payments"]
            month[1] += row["refunds"]
            if row["currency"] == mission.currency:
                month[2] += row["p"] - row["r"]
            if row["base_currency"] == base:
                month[3] += row["pb"] - row["rb"]
        rows = [
            {
                "month": month,
                "payments": payments,
                "refunds": refunds,
                "net": _money(net, mission.currency),
                "net_base": _money(net_base, base),
            }
            for month, (payments, refunds, net, net_base) in sums.items()
        ]
        return [
            Section(
                key="fees.revenue_months",
                title=_("Revenue per month, last 12 months"),
                columns=SECTION_COLUMNS,
                rows=rows,
                empty=_("No revenue registered."),
            )
        ]
