"""HQ's Django admin for fee reference data. Amounts and rates are versioned: existing
schedule entries are read-only; a change is a new version from a later date."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    ExchangeRate,
    ExemptionCategory,
    FeeScheduleEntry,
    RoundingRule,
    base_currency,
)


class FeeScheduleEntryForm(forms.ModelForm):
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
class FeeScheduleEntryAdmin(SimpleHistoryAdmin):
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

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from fees.money import Money

        from .services import fee_schedule_entry_publish

        if change:
            return
        saved = fee_schedule_entry_publish(
            service=obj.service,
            visa_category=obj.visa_category,
            nationality=obj.nationality,
            amount=Money(obj.amount_minor, obj.currency),
            valid_from=obj.valid_from,
            acting_user=request.user,
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ExemptionCategory)
class ExemptionCategoryAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "rule", "age_under", "percent_waived", "is_active"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(SimpleHistoryAdmin):
    list_display = ["currency", "base_currency", "rate", "effective_date", "source"]
    list_filter = ["currency"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RoundingRule)
class RoundingRuleAdmin(SimpleHistoryAdmin):
    list_display = ["currency", "increment_minor", "mode"]
