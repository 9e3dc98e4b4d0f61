"""Writes of HQ's fee reference data. Versions are added, never overwritten.

Only HQ admins manage reference data (`Action.REFERENCE_DATA_MANAGE`); every service checks it
first, at the connection's mission (HQ's row in the public schema, from the admin), and the
admin, the rates command (as SYSTEM) and the demo seeding (as SYSTEM) write only through these.

Every service is a `reference_change`: it writes HQ's tables in the public schema whatever
schema the caller's connection is on (a mission's schema holds a copy that only sync writes),
and once its transaction commits HQ publishes a new signed version for the missions
(`sync.reference`).
"""

from __future__ import annotations

import contextvars
import csv
import dataclasses
import datetime as dt
import functools
import io
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from fees.money import Money, MoneyError, known_currencies
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.reference import reference_publish_on_commit

from .error_codes import FeeReferenceError
from .models import (
    ExchangeRate,
    ExemptionCategory,
    ExemptionRule,
    FeeScheduleEntry,
    RoundingMode,
    RoundingRule,
    base_currency,
)


def _require_manager(acting_user: Any) -> None:
    permission_require(
        user=acting_user, mission=current_mission(), action=Action.REFERENCE_DATA_MANAGE
    )


P = ParamSpec("P")
R = TypeVar("R")
_changing: contextvars.ContextVar[bool] = contextvars.ContextVar("reference_change", default=False)


def reference_change(service: Callable[P, R]) -> Callable[P, R]:
    """A change of HQ's reference data: the permission is checked at the caller's mission, the
    rows are written in the public schema (the caller's schema is back on return), and a new
    version is published when the caller's transaction commits (once, however many changes it
    holds; nothing if it rolls back)."""

    @functools.wraps(service)
    def change(*args: P.args, **kwargs: P.kwargs) -> R:
        acting_user = kwargs["acting_user"]
        _require_manager(acting_user)
        outermost = not _changing.get()
        token = _changing.set(True)
        try:
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                result = service(*args, **kwargs)
        finally:
            _changing.reset(token)
        if outermost:  # the rates import records each rate through another change: publish once
            reference_publish_on_commit(acting_user=acting_user)
        return result

    return change


@reference_change
def fee_schedule_entry_publish(
    *,
    service: str,
    amount: Money,
    valid_from: dt.date,
    acting_user: Any,
    visa_category: str = "",
    nationality: str = "",
) -> FeeScheduleEntry:
    """A new version of a fee from `valid_from`; the version in force until then ends there."""
    if amount.currency != base_currency():
        raise ApplicationError(
            FeeReferenceError.INVALID_CURRENCY,
            _("Fees are set in the base currency, %(currency)s.") % {"currency": base_currency()},
        )
    if amount.amount_minor < 0:
        raise ApplicationError(FeeReferenceError.INVALID_AMOUNT, _("A fee cannot be negative."))
    with transaction.atomic():
        versions = FeeScheduleEntry.objects.select_for_update().filter(
            service=service, visa_category=visa_category, nationality=nationality
        )
        latest = versions.order_by("-version").first()
        if latest is not None and latest.valid_from >= valid_from:
            raise ApplicationError(
                FeeReferenceError.INVALID_DATE,
                _("A new version must start after the current one (%(date)s).")
                % {"date": latest.valid_from.isoformat()},
            )
        if latest is not None and (latest.valid_to is None or latest.valid_to > valid_from):
            latest.valid_to = valid_from
            set_acting_user(latest, acting_user)
            latest.save(update_fields=["valid_to", "updated_at"])
        entry = FeeScheduleEntry(
            service=service,
            visa_category=visa_category,
            nationality=nationality.upper(),
            amount_minor=amount.amount_minor,
            currency=amount.currency,
            valid_from=valid_from,
            version=(latest.version + 1) if latest else 1,
        )
        set_acting_user(entry, acting_user)
        entry.save()
    return entry


@reference_change
def exchange_rate_record(
    *, currency: str, rate: Decimal, effective_date: dt.date, acting_user: Any, source: str = ""
) -> tuple[ExchangeRate, str]:
    """Record the rate for `currency` from `effective_date`; returns (rate, what happened).

    What happened is "created", "unchanged" or "corrected" (same day, new value: history keeps
    the old one; fee lines already assessed keep the rate frozen on them).
    """
    currency = currency.strip().upper()
    if currency not in known_currencies() or currency == base_currency():
        raise ApplicationError(
            FeeReferenceError.INVALID_CURRENCY,
            _("“%(currency)s” is not a currency that needs a rate.") % {"currency": currency},
        )
    if not rate.is_finite() or rate <= 0:
        raise ApplicationError(FeeReferenceError.INVALID_RATE, _("A rate must be positive."))
    with transaction.atomic():
        existing = (
            ExchangeRate.objects.select_for_update()
            .filter(currency=currency, base_currency=base_currency(), effective_date=effective_date)
            .first()
        )
        if existing is not None:
            if existing.rate == rate:
                return existing, "unchanged"
            existing.rate = rate
            existing.source = source
            set_acting_user(existing, acting_user)
            existing.save(update_fields=["rate", "source", "updated_at"])
            return existing, "corrected"
        created = ExchangeRate(
            currency=currency,
            base_currency=base_currency(),
            rate=rate,
            effective_date=effective_date,
            source=source,
        )
        set_acting_user(created, acting_user)
        created.save()
        return created, "created"


@dataclasses.dataclass
class ImportResult:
    created: int = 0
    corrected: int = 0
    unchanged: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


@reference_change
def exchange_rate_import_csv(*, text: str, acting_user: Any, source: str) -> ImportResult:
    """Import `currency,rate,effective_date` rows (a header line is required).

    All or nothing: any bad row refuses the whole file, so a half-imported file never sets
    rates for some currencies and not others.
    """
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text))
    rows: list[tuple[int, str, Decimal, dt.date]] = []
    for line, row in enumerate(reader, start=2):
        try:
            currency = (row.get("currency") or "").strip().upper()
            rate = Decimal((row.get("rate") or "").strip())
            day = dt.date.fromisoformat((row.get("effective_date") or "").strip())
        except (InvalidOperation, ValueError):
            result.errors.append(f"line {line}: needs currency, rate and effective_date")
            continue
        rows.append((line, currency, rate, day))
    if result.errors:
        return result
    try:
        with transaction.atomic():
            for line, currency, rate, day in rows:
                try:
                    _rate, what = exchange_rate_record(
                        currency=currency,
                        rate=rate,
                        effective_date=day,
                        acting_user=acting_user,
                        source=source,
                    )
                except ApplicationError as error:
                    result.errors.append(f"line {line}: {error.message}")
                    raise
                setattr(result, what, getattr(result, what) + 1)
    except ApplicationError:
        result.created = result.corrected = result.unchanged = 0
    return result


@reference_change
def rounding_rule_set(
    *, currency: str, increment_minor: int, mode: str, acting_user: Any
) -> RoundingRule:
    """How converted fees are rounded in `currency`: created, or changed (history keeps the old
    rule; fee lines already assessed keep their amounts)."""
    if mode not in RoundingMode.values:
        raise ApplicationError(FeeReferenceError.INVALID_ROUNDING, _("Unknown rounding mode."))
    if currency not in known_currencies():
        raise ApplicationError(FeeReferenceError.INVALID_CURRENCY, _("Unknown currency."))
    try:
        Money(increment_minor, currency)
    except MoneyError as error:
        raise ApplicationError(FeeReferenceError.INVALID_AMOUNT, str(error)) from error
    with transaction.atomic():
        rule = RoundingRule.objects.select_for_update().filter(currency=currency).first()
        if rule is None:
            rule = RoundingRule(currency=currency, increment_minor=increment_minor, mode=mode)
            set_acting_user(rule, acting_user)
            rule.save()
            return rule
        rule.increment_minor = increment_minor
        rule.mode = mode
        set_acting_user(rule, acting_user)
        rule.save(update_fields=["increment_minor", "mode", "updated_at"])
        return rule


@dataclasses.dataclass(frozen=True)
class ExemptionCategoryInput:
    """What defines an exemption category (its `code` names it and never changes)."""

    code: str
    name: str  # in English: the value every language falls back to
    rule: str
    percent_waived: int = 100
    age_under: int | None = None
    nationalities: str = ""
    is_active: bool = True
    name_tr: str = ""  # in Turkish; empty: Turkish readers see the English name


@reference_change
def exemption_category_set(
    *, category: ExemptionCategoryInput, acting_user: Any
) -> tuple[ExemptionCategory, bool]:
    """Create the category `category.code`, or change it; returns (category, created).

    The name has a value per language (`name_en`, `name_tr`; see `translation.py`); the plain
    `name` column keeps the English one. Waivers already approved keep their amounts; a
    category is retired (`is_active` False), never deleted, so the waivers that name it keep
    their meaning."""
    code = category.code.strip()
    if not code or not category.name.strip() or category.rule not in ExemptionRule.values:
        raise ApplicationError(
            FeeReferenceError.INVALID_CATEGORY, _("A category needs a code, a name and a rule.")
        )
    if not 1 <= category.percent_waived <= 100:
        raise ApplicationError(
            FeeReferenceError.INVALID_CATEGORY,
            _("The percentage waived is between 1 and 100."),
            field="percent_waived",
        )
    if category.rule == ExemptionRule.CHILD_UNDER_AGE and category.age_under is None:
        raise ApplicationError(
            FeeReferenceError.INVALID_CATEGORY,
            _("Say under which age children are exempt."),
            field="age_under",
        )
    values = {
        "name": category.name.strip(),
        "name_en": category.name.strip(),
        "name_tr": category.name_tr.strip() or None,
        "rule": category.rule,
        "percent_waived": category.percent_waived,
        "age_under": category.age_under,
        "nationalities": " ".join(category.nationalities.upper().split()),
        "is_active": category.is_active,
    }
    # `name` is modeltranslation's: it reads and writes the active language's column, and the
    # plain column is saved from it; in English, it is the English name.
    with transaction.atomic(), translation.override("en"):
        existing = ExemptionCategory.objects.select_for_update().filter(code=code).first()
        if existing is None:
            created = ExemptionCategory(code=code, **values)
            set_acting_user(created, acting_user)
            created.save()
            return created, True
        for field, value in values.items():
            setattr(existing, field, value)
        set_acting_user(existing, acting_user)
        existing.save(update_fields=[*values, "updated_at"])
        return existing, False
