"""Forms of the booking pages: they only shape input; the rules are in the services."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import WEEKDAY_NAMES, ClosureKind, Counter, ReleaseMode, Service
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


class ServiceForm(forms.Form):
    """The settings of a catalogue entry; the code and counters are given when it is created."""

    name = forms.CharField(label=_("Name"), max_length=120)
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=5)
    buffer_minutes = forms.IntegerField(label=_("Buffer (minutes)"), min_value=0)
    max_persons = forms.IntegerField(label=_("People per booking"), min_value=1, max_value=20)
    horizon_days = forms.IntegerField(label=_("Booking horizon (days)"), min_value=1)
    min_notice_hours = forms.IntegerField(label=_("Minimum notice (hours)"), min_value=0)
    cancel_cutoff_hours = forms.IntegerField(label=_("Cancellation cutoff (hours)"), min_value=0)
    release_mode = forms.ChoiceField(label=_("Release mode"), choices=ReleaseMode.choices)
    release_lead_days = forms.IntegerField(label=_("Released days ahead"), min_value=0)
    release_time = forms.TimeField(
        label=_("Release time"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    is_active = forms.BooleanField(label=_("Offered"), required=False)


class ClosureForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(
        label=_("Kind"), choices=ClosureKind.choices, initial=ClosureKind.AD_HOC
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)
    counter = forms.ModelChoiceField(
        label=_("Counter"),
        queryset=Counter.objects.all(),
        required=False,
        help_text=_("Only for a counter absence."),
    )


class OpeningHoursForm(forms.Form):
    weekday = forms.TypedChoiceField(
        label=_("Weekday"),
        coerce=int,
        choices=list(enumerate(WEEKDAY_NAMES)),
    )
    spans = forms.CharField(
        label=_("Opening hours"),
        required=False,
        help_text=_("Such as 09:00-12:30, 14:00-16:00. Empty: closed that day."),
    )

    def clean_spans(self) -> list[tuple[dt.time, dt.time]]:
        result = []
        for part in self.cleaned_data["spans"].replace(" ", "").split(","):
            if not part:
                continue
            try:
                opens, closes = (dt.time.fromisoformat(t) for t in part.split("-"))
            except ValueError as error:
                raise forms.ValidationError(
                    _("Write each span as HH:MM-HH:MM, separated by commas.")
                ) from error
            result.append((opens, closes))
        return result


class CounterForm(forms.Form):
    name = forms.CharField(label=_("Counter name"), max_length=50)


class NewServiceForm(forms.Form):
    code = forms.SlugField(
        label=_("Code"), max_length=40, help_text=_("Short, in the address: such as apostille.")
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    counters = forms.ModelMultipleChoiceField(
        label=_("Counters that serve it"),
        queryset=Counter.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
    )


class LotteryRoundForm(forms.Form):
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.filter(release_mode=ReleaseMode.LOTTERY)
    )
    period_start = forms.DateField(
        label=_("Appointments from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=_("Appointments until"), widget=forms.DateInput(attrs={"type": "date"})
    )
    window_opens_at = forms.DateTimeField(
        label=_("Registration opens"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Mission time."),
    )
    window_closes_at = forms.DateTimeField(
        label=_("Registration closes"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Mission time. The draw runs within minutes after this."),
    )
