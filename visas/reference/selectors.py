"""Reads of the visa reference data. At a mission they read the mission's copy (its schema is
first on its search path), at HQ HQ's tables: the same code for both.

What a mission offers applicants is `visas.selectors.categories_offered` (active, for every
mission or this one); these are the lists HQ's pages and the screening read."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from visas.matching import Candidate

from .models import CategoryQuestion, ChecklistItem, VisaCategory, WatchlistEntry

WATCHLIST_SOURCE = "watchlist"


def category_list(*, mission: str | None = None) -> QuerySet[VisaCategory]:
    """Every category, retired ones too, with its checklist and questions; `mission`: only those
    for every mission and that mission's additions."""
    categories = VisaCategory.objects.prefetch_related(
        Prefetch("items", queryset=ChecklistItem.objects.order_by("order", "code")),
        Prefetch("questions", queryset=CategoryQuestion.objects.order_by("order", "code")),
    ).order_by("order", "code", "mission")
    if mission is not None:
        categories = categories.filter(mission__in=["", mission])
    return categories


def watchlist_active_filter(on: dt.date) -> Q:
    return Q(ended_at__isnull=True) & (Q(expires_on__isnull=True) | Q(expires_on__gte=on))


def watchlist_list(*, include_past: bool = False) -> QuerySet[WatchlistEntry]:
    """The entries screened against today (newest first), or every entry with `include_past`."""
    entries = WatchlistEntry.objects.order_by("-created_at", "-id")
    if include_past:
        return entries
    return entries.filter(watchlist_active_filter(timezone.localdate()))


def watchlist_candidates(*, on: dt.date | None = None) -> list[Candidate]:
    """The entries in force on `on` (today by default) as candidates for
    `visas.matching.screen`; each candidate's `reference` is "watchlist/<entry id>"."""
    on = on or timezone.localdate()
    return [
        Candidate(
            names=tuple(entry.spellings()),
            birth_date=entry.birth_date,
            nationality=entry.nationality or None,
            reference=f"{WATCHLIST_SOURCE}/{entry.pk}",
        )
        for entry in WatchlistEntry.objects.filter(watchlist_active_filter(on)).order_by("id")
    ]
