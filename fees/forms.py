"""Input forms: they parse and shape input; the rules are in the services."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

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


class WaiverForm(forms.Form):
    line = forms.IntegerField(widget=forms.HiddenInput)
    category = forms.ChoiceField(label=_("Exemption category"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    applicant_age = forms.IntegerField(
        label=_("Applicant's age"), required=False, min_value=0, max_value=150
    )
    applicant_nationality = forms.CharField(
        label=_("Applicant's nationality"), required=False, max_length=2
    )


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
