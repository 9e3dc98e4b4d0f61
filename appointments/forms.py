"""Forms of the booking pages: they only shape input; the rules are in the services."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from .services import PersonInput


class PersonForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("As in the passport."),
    )
    document_number = forms.CharField(
        label=_("Passport or ID card number"),
        max_length=30,
        help_text=_("Letters and digits, such as U12345678."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def person(self) -> PersonInput:
        data = self.cleaned_data
        return PersonInput(data["full_name"], data["date_of_birth"], data["document_number"])


PersonFormSet = forms.formset_factory(PersonForm, extra=0, min_num=1, validate_min=True)


class CheckInForm(forms.Form):
    reference = forms.CharField(
        label=_("Booking reference"),
        max_length=40,
        help_text=_("Scan the barcode or type the reference."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autofocus": True, "autocapitalize": "characters"}
        ),
    )


class DayForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))

    @staticmethod
    def initial_day(value: str | None, default: dt.date) -> dt.date:
        try:
            return dt.date.fromisoformat(value) if value else default
        except ValueError:
            return default


class WaitlistForm(PersonForm):
    day_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    day_to = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
