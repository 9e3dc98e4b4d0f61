"""HQ's Django admin for fee reference data. Amounts and rates are versioned: existing
schedule entries are read-only; a change is a new version from a later date.

Who may do what is the permission table's answer, not Django's model permissions: HQ staff who
may see fees read these pages, only those who may manage reference data (HQ admins) add or
change, and nobody deletes. Every write goes through `fees.reference.services`, which checks
the table again.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin
from simple_history.admin import SimpleHistoryAdmin

from consulate.kernel.errors import ApplicationError
from missions.permissions import Action, permissions_held
from missions.selectors import current_mission

from .models import (
    ExchangeRate,
    ExemptionCategory,
    FeeScheduleEntry,
    RoundingRule,
    base_currency,
)
from .services import (
    ExemptionCategoryInput,
    exchange_rate_record,
    exemption_category_set,
    fee_schedule_entry_publish,
    rounding_rule_set,
)


def _held(request: HttpRequest) -> frozenset[Action]:
    return permissions_held(user=request.user, mission=current_mission())


class ReferenceDataAdmin(SimpleHistoryAdmin):
    """Reads for whoever may see fees; writes for reference-data managers, via the services."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return Action.FEES_VIEW in _held(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return Action.FEES_VIEW in _held(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return Action.REFERENCE_DATA_MANAGE in _held(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return Action.REFERENCE_DATA_MANAGE in _held(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # reference data is versioned or retired, never deleted

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # History's "revert" posts here too, with only a view permission checked before.
        allowed = (
            self.has_change_permission(request, obj) if change else self.has_add_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        # The forms check what the services check, so a refusal here is a permission one.
        try:
            saved = self.save_through_service(request, obj, change)
        except ApplicationError as error:
            if error.code.name in ("NOT_ALLOWED", "NOT_FOUND"):
                raise PermissionDenied from error
            raise
        obj.pk = saved.pk

    def save_through_service(self, request: HttpRequest, obj: Any, change: bool) -> Any:
        raise NotImplementedError

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # no inlines or many-to-many here; the service wrote everything


class FeeScheduleEntryForm(forms.ModelForm):  # type: ignore[type-arg]
    """Checks what `fee_schedule_entry_publish` will check, so the admin shows a message."""

    class Meta:
        model = FeeScheduleEntry
        fields = [
            "service",
            "visa_category",
            "nationality",
            "amount_minor",
            "currency",
            "valid_from",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "currency" in self.fields:
            self.fields["currency"].initial = base_currency()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("currency") and data["currency"] != base_currency():
            self.add_error(
                "currency", _("Fees are set in the base currency, %(c)s.") % {"c": base_currency()}
            )
        if data.get("amount_minor") is not None and data["amount_minor"] < 0:
            self.add_error("amount_minor", _("A fee cannot be negative."))
        latest = (
            FeeScheduleEntry.objects.filter(
                service=data.get("service"),
                visa_category=data.get("visa_category", ""),
                nationality=(data.get("nationality") or "").upper(),
            )
            .order_by("-version")
            .first()
        )
        if latest and data.get("valid_from") and data["valid_from"] <= latest.valid_from:
            self.add_error(
                "valid_from",
                _("A new version must start after %(date)s.")
                % {"date": latest.valid_from.isoformat()},
            )
        return data


@admin.register(FeeScheduleEntry)
class FeeScheduleEntryAdmin(ReferenceDataAdmin):
    form = FeeScheduleEntryForm
    list_display = [
        "service",
        "visa_category",
        "nationality",
        "amount_minor",
        "currency",
        "valid_from",
        "valid_to",
        "version",
    ]
    list_filter = ["service", "currency"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["version", "valid_to"]
        return [f.name for f in FeeScheduleEntry._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_through_service(self, request: HttpRequest, obj: Any, change: bool) -> Any:
        from fees.money import Money

        return fee_schedule_entry_publish(
            service=obj.service,
            visa_category=obj.visa_category,
            nationality=obj.nationality,
            amount=Money(obj.amount_minor, obj.currency),
            valid_from=obj.valid_from,
            acting_user=request.user,
        )


@admin.register(ExemptionCategory)
class ExemptionCategoryAdmin(TranslationAdmin, ReferenceDataAdmin):  # type: ignore[misc]
    """The name is edited in every language (`name_en`, `name_tr`): modeltranslation's admin."""

    list_display = ["code", "name", "rule", "age_under", "percent_waived", "is_active"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["code"] if obj is not None else []  # waivers name it

    def save_through_service(self, request: HttpRequest, obj: Any, change: bool) -> Any:
        category, _created = exemption_category_set(
            category=ExemptionCategoryInput(
                code=obj.code,
                name=obj.name_en or "",
                name_tr=obj.name_tr or "",
                rule=obj.rule,
                percent_waived=obj.percent_waived,
                age_under=obj.age_under,
                nationalities=obj.nationalities,
                is_active=obj.is_active,
            ),
            acting_user=request.user,
        )
        return category


def _clean_currency(value: str) -> str:
    from fees.money import known_currencies

    currency = value.strip().upper()
    if currency not in known_currencies():
        raise forms.ValidationError(_("Unknown currency."))
    return currency


class ExchangeRateForm(forms.ModelForm):  # type: ignore[type-arg]
    """Checks what `exchange_rate_record` will check."""

    class Meta:
        model = ExchangeRate
        fields = ["currency", "rate", "effective_date", "source"]

    def clean_currency(self) -> str:
        currency = _clean_currency(self.cleaned_data["currency"])
        if currency == base_currency():
            raise forms.ValidationError(_("The base currency needs no rate."))
        return currency

    def clean_rate(self) -> Any:
        rate = self.cleaned_data["rate"]
        if rate is None or not rate.is_finite() or rate <= 0:
            raise forms.ValidationError(_("A rate must be positive."))
        return rate


class RoundingRuleForm(forms.ModelForm):  # type: ignore[type-arg]
    """Checks what `rounding_rule_set` will check."""

    class Meta:
        model = RoundingRule
        fields = ["currency", "increment_minor", "mode"]

    def clean_currency(self) -> str:
        return _clean_currency(self.cleaned_data["currency"])


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ReferenceDataAdmin):
    form = ExchangeRateForm
    list_display = ["currency", "base_currency", "rate", "effective_date", "source"]
    list_filter = ["currency"]
    fields = ["currency", "rate", "effective_date", "source"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # a rate is corrected on its day; another currency or day is another rate
        return ["currency", "effective_date"] if obj is not None else []

    def save_through_service(self, request: HttpRequest, obj: Any, change: bool) -> Any:
        rate, _what = exchange_rate_record(
            currency=obj.currency,
            rate=obj.rate,
            effective_date=obj.effective_date,
            source=obj.source,
            acting_user=request.user,
        )
        return rate


@admin.register(RoundingRule)
class RoundingRuleAdmin(ReferenceDataAdmin):
    form = RoundingRuleForm
    list_display = ["currency", "increment_minor", "mode"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["currency"] if obj is not None else []

    def save_through_service(self, request: HttpRequest, obj: Any, change: bool) -> Any:
        return rounding_rule_set(
            currency=obj.currency,
            increment_minor=obj.increment_minor,
            mode=obj.mode,
            acting_user=request.user,
        )
