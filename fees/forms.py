"""Input forms: they parse and shape input; the rules are in the services."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Account
from .money import Money, MoneyError, minor_units
from .reference.models import OPTION_CODES, ServiceCode

MAIN_SERVICES = [(c.value, c.label) for c in ServiceCode if c not in OPTION_CODES]


def parse_amount(text: str, currency: str) -> Money:
    """ "12.250" → Money(12250, "KWD"); refuses more decimals than the currency has."""
    try:
        return Money.from_decimal(Decimal(text.strip().replace(",", ".")), currency)
    except (InvalidOperation, MoneyError, ValueError) as error:
        raise forms.ValidationError(
            _("Enter an amount in %(currency)s with at most %(digits)s decimals.")
            % {"currency": currency, "digits": minor_units(currency)}
        ) from error


class CounterForm(forms.Form):
    payer_name = forms.CharField(label=_("Payer's name"), max_length=200)
    payer_language = forms.ChoiceField(
        label=_("Receipt language"), choices=settings.LANGUAGES, initial="en"
    )
    service = forms.ChoiceField(label=_("Service"), choices=MAIN_SERVICES)
    express = forms.BooleanField(label=_("Express handling"), required=False)
    courier = forms.BooleanField(label=_("Courier delivery"), required=False)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=64,
        required=False,
        help_text=_("Case or booking number, if there is one."),
    )

    def services(self) -> list[str]:
        """The service and the options ticked, in the order the fee lines are written."""
        data = self.cleaned_data
        return [data["service"]] + [c for c in OPTION_FIELDS if data[c]]


OPTION_FIELDS = ("express", "courier")


class WaiverForm(forms.Form):
    """Asking for a waiver of one fee line; the categories offered are HQ's active ones."""

    line = forms.IntegerField(widget=forms.HiddenInput)
    category = forms.ChoiceField(label=_("Exemption category"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    applicant_age = forms.IntegerField(
        label=_("Applicant's age"), required=False, min_value=0, max_value=150
    )
    applicant_nationality = forms.CharField(
        label=_("Applicant's nationality"), required=False, max_length=2
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .reference.selectors import exemption_category_list_active

        super().__init__(*args, **kwargs)
        category: forms.ChoiceField = self.fields["category"]  # type: ignore[assignment]
        category.choices = [(c.code, c.name) for c in exemption_category_list_active()]


_MAJOR_UNITS = re.compile(r"\d+(?:[.,]\d+)?")


class BankTransferForm(forms.Form):
    """One line of the bank statement. The amount is typed in major units of the mission's
    currency and parsed exactly to minor units: no sign, no exponent, no extra decimals."""

    reference = forms.CharField(
        label=_("Payer's reference"),
        max_length=40,
        help_text=_("The reference the payer quoted, as it appears on the statement."),
    )
    amount = forms.CharField(
        label=_("Amount"),
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    value_date = forms.DateField(
        label=_("Value date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    bank_transaction_id = forms.CharField(
        label=_("Bank's transaction id"),
        max_length=100,
        help_text=_("Recording the same bank transaction twice posts it only once."),
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        digits = minor_units(currency)
        self.fields["amount"].label = _("Amount in %(currency)s") % {"currency": currency}
        self.fields["amount"].help_text = (
            _("Whole %(currency)s only, for example 1500.") % {"currency": currency}
            if digits == 0
            else _("In %(currency)s with up to %(digits)s decimals, for example %(example)s.")
            % {
                "currency": currency,
                "digits": digits,
                "example": "12." + "5" * digits,
            }
        )

    def clean_amount(self) -> Money:
        text = self.cleaned_data["amount"].strip()
        if not _MAJOR_UNITS.fullmatch(text):
            raise forms.ValidationError(
                _(
                    "Enter the amount as digits with at most %(digits)s decimals, without a "
                    "sign, currency or thousands separator."
                )
                % {"digits": minor_units(self.currency)}
            )
        amount = parse_amount(text, self.currency)
        if amount.amount_minor <= 0:
            raise forms.ValidationError(_("Enter an amount above zero."))
        return amount


class AmountForm(forms.Form):
    """An amount typed in major units of `currency` (cash, a transfer to expect, a refund), with
    the idempotency key of the page that sent it. The service judges the amount; the form only
    parses it exactly."""

    amount = forms.CharField(max_length=30)
    idempotency_key = forms.CharField(required=False)
    reason = forms.CharField(required=False)

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> Money:
        return parse_amount(self.cleaned_data["amount"], self.currency)


class DayCloseForm(forms.Form):
    """The cash counted in each drawer that holds money on the day, and a reason where it
    differs: `counted_<cashier id>` and `reason_<cashier id>`, as the day-close page names them.
    `cleaned_data["counted"]` maps cashier ids to Money, `cleaned_data["reasons"]` to text."""

    def __init__(self, *args: Any, drawers: list[tuple[Account, Money]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drawers = [(int(account.qualifier), expected) for account, expected in drawers]
        for cashier, _expected in self.drawers:
            self.fields[f"counted_{cashier}"] = forms.CharField(max_length=30)
            self.fields[f"reason_{cashier}"] = forms.CharField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        counted: dict[int, Money] = {}
        reasons: dict[int, str] = {}
        for cashier, expected in self.drawers:
            text = data.get(f"counted_{cashier}")
            if text is None:
                continue  # the field's own error says it is required
            try:
                counted[cashier] = parse_amount(text, expected.currency)
            except forms.ValidationError as error:
                self.add_error(f"counted_{cashier}", error)
            reasons[cashier] = data.get(f"reason_{cashier}", "")
        data["counted"] = counted
        data["reasons"] = reasons
        return data


class DayForm(forms.Form):
    """`?date=YYYY-MM-DD`; anything else means `default` (today)."""

    date = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    @classmethod
    def day(cls, data: Any, *, default: dt.date) -> dt.date:
        form = cls(data)
        form.is_valid()  # a bad value is dropped from cleaned_data: the default applies
        return form.cleaned_data.get("date") or default


class PeriodForm(forms.Form):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` of a report; a missing or bad bound takes its default
    (the first of this month, today)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("from", "to"):  # the query's names, which are Python keywords
            self.fields[name] = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    @classmethod
    def period(cls, data: Any, *, today: dt.date) -> tuple[dt.date, dt.date]:
        form = cls(data)
        form.is_valid()
        return (
            form.cleaned_data.get("from") or today.replace(day=1),
            form.cleaned_data.get("to") or today,
        )


class MonthForm(forms.Form):
    """`?month=YYYY-MM`; anything else means this month. Answers the month's first day."""

    month = forms.DateField(required=False, input_formats=["%Y-%m"])

    @classmethod
    def month_of(cls, data: Any, *, today: dt.date) -> dt.date:
        form = cls(data)
        form.is_valid()
        return (form.cleaned_data.get("month") or today).replace(day=1)
