"""Reads of HQ's fee reference data (public tables; visible from mission schemas too)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from .models import ExchangeRate, ExemptionCategory, FeeScheduleEntry, RoundingRule, base_currency


def fee_schedule_entry_in_force(
    *, service: str, on: dt.date, visa_category: str = "", nationality: str = ""
) -> FeeScheduleEntry | None:
    """The most specific entry valid on `on`: nationality and category beat the general fee."""
    candidates = (
        FeeScheduleEntry.objects.filter(service=service, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on))
        .filter(visa_category__in=["", visa_category], nationality__in=["", nationality])
    )
    best = None
    for entry in candidates:
        key = (entry.nationality != "", entry.visa_category != "", entry.valid_from)
        if best is None or key > best[0]:
            best = (key, entry)
    return best[1] if best else None


def fee_schedule_list_in_force(*, on: dt.date) -> list[FeeScheduleEntry]:
    """General fees (no category, no nationality) valid on `on`, one per service."""
    return list(
        FeeScheduleEntry.objects.filter(visa_category="", nationality="", valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on))
        .order_by("service")
    )


def exchange_rate_in_force(*, currency: str, on: dt.date) -> ExchangeRate | None:
    return (
        ExchangeRate.objects.filter(
            currency=currency, base_currency=base_currency(), effective_date__lte=on
        )
        .order_by("-effective_date")
        .first()
    )


def rounding_rule_for(*, currency: str) -> RoundingRule | None:
    return RoundingRule.objects.filter(currency=currency).first()


def exemption_category_list_active() -> list[ExemptionCategory]:
    return list(ExemptionCategory.objects.filter(is_active=True).order_by("code"))


def exemption_category_names() -> dict[str, str]:
    """Every category's name by code, in the reader's language (English where it has none):
    one query, for pages that list waivers by their category's code."""
    return {category.code: category.name for category in ExemptionCategory.objects.all()}
