"""Input forms: they parse and shape input; the rules are in the services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

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
