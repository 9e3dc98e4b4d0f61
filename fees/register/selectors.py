"""Reads of HQ's revenue register for HQ pages: one query each, whatever the number of
missions or events (the sums are kept as events apply: `projector.py`). Amounts are integer
minor units of the currency named beside them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet, Sum

from .models import RevenueDay, RevenueMonth, RevenuePosting


def revenue_days(*, mission: str, date_from: dt.date, date_to: dt.date) -> QuerySet[RevenueDay]:
    """A mission's payments and refunds per business date and currency, `date_from` to
    `date_to` inclusive."""
    return RevenueDay.objects.filter(
        mission=mission, business_date__gte=date_from, business_date__lte=date_to
    ).order_by("business_date", "currency")


def revenue_per_mission_per_month(
    *, date_from: dt.date, date_to: dt.date, mission: str = ""
) -> list[dict[str, Any]]:
    """Per mission and month (its first day) in HQ's base currency: payments, refunds (both
    counted and summed) and `net_base_minor`, for the months from `date_from`'s to `date_to`'s
    (whole months, from the month sums: a year of every mission is twelve rows each)."""
    months = RevenueMonth.objects.filter(month__gte=date_from.replace(day=1), month__lte=date_to)
    if mission:
        months = months.filter(mission=mission)
    rows = (
        months.values("mission", "month", "base_currency")
        .annotate(
            payments=Sum("payments"),
            payments_base_minor=Sum("payments_base_minor"),
            refunds=Sum("refunds"),
            refunds_base_minor=Sum("refunds_base_minor"),
        )
        .order_by("mission", "month", "base_currency")
    )
    return [
        {**row, "net_base_minor": row["payments_base_minor"] - row["refunds_base_minor"]}
        for row in rows
    ]


def revenue_postings(*, mission: str, business_date: dt.date) -> QuerySet[RevenuePosting]:
    """The payments and refunds behind one day's sums (the audit trail), in seq order."""
    return RevenuePosting.objects.filter(mission=mission, business_date=business_date).order_by(
        "seq"
    )
