"""Forms of the booking pages: they parse and shape input; the rules are in the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from missions.models import Mission

from .models import WEEKDAY_NAMES, ClosureKind, Counter, ReleaseMode, Service, ServicePurpose
from .services import PersonInput

# The days a page or form works with. Past this range the arithmetic on a day (the next one,
# its bounds in UTC in the mission's time zone) would leave Python's date range: a 500.
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)


def _out_of_range() -> forms.ValidationError:
    return forms.ValidationError(
        _("Choose a day between %(first)s and %(last)s."),
        code="out_of_range",
        params={"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
    )


class DayField(forms.DateField):
    """A calendar day between FIRST_DAY and LAST_DAY."""

    widget = forms.DateInput(attrs={"type": "date"})

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise _out_of_range()


class DayTimeField(forms.DateTimeField):
    """A wall-clock time on a day between FIRST_DAY and LAST_DAY (the form says in which
    time zone)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"})

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not FIRST_DAY <= value.date() <= LAST_DAY:
            raise _out_of_range()


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


class PersonCountForm(forms.Form):
    """`?persons=` on the booking page: how many people the form asks for."""

    persons = forms.IntegerField(min_value=1, required=False)

    def count(self, *, max_persons: int) -> int:
        value = self.cleaned_data.get("persons") if self.is_valid() else None
        return min(value or 1, max_persons)


class DayForm(forms.Form):
    """`?day=` on the calendar and the day sheet."""

    day = DayField(label=_("Day"), required=False)

    def day_or(self, default: dt.date) -> dt.date:
        """The day asked for, or `default` if none was (or it was not a day)."""
        if not self.is_bound:
            return default
        self.is_valid()
        return self.cleaned_data.get("day") or default

    def day_asked(self) -> dt.date | None:
        """The day asked for, or None if none was (or it was not a day)."""
        if not self.is_bound:
            return None
        self.is_valid()
        return self.cleaned_data.get("day")


class CalendarForm(DayForm):
    """The calendar's query: the day, and the booking being moved (`?reschedule=<reference>`),
    which goes into the page's links, so only a reference's characters are kept."""

    reschedule = forms.RegexField(regex=r"^[A-Za-z0-9]{1,12}$", required=False)

    def reschedule_reference(self) -> str:
        if not self.is_bound:
            return ""
        self.is_valid()
        return str(self.cleaned_data.get("reschedule") or "")


class WaitlistForm(PersonForm):
    day_from = DayField(label=_("First day"))
    day_to = DayField(label=_("Last day"))


class CheckInForm(forms.Form):
    reference = forms.CharField(
        label=_("Booking reference"),
        max_length=40,
        help_text=_("Scan the barcode or type the reference."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autofocus": True, "autocapitalize": "characters"}
        ),
    )


class ServiceForm(forms.Form):
    """The settings of a catalogue entry; the code and counters are given when it is created."""

    name_en = forms.CharField(label=_("Name in English"), max_length=120)
    name_tr = forms.CharField(
        label=_("Name in Turkish"),
        max_length=120,
        required=False,
        help_text=_("Empty: the English name is shown."),
    )
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
    purpose = forms.ChoiceField(
        label=_("Booked for"),
        choices=ServicePurpose.choices,
        required=False,
        help_text=_("The cases that book this service for their visit (one service each)."),
    )

    def __init__(self, data: Any = None, *, service: Service) -> None:
        initial = {f: getattr(service, f) for f in self.base_fields}
        initial["name_tr"] = initial["name_tr"] or ""  # no Turkish name: an empty field
        super().__init__(data, initial=initial)

    def changes(self) -> dict[str, Any]:
        """The settings that differ from the service's."""
        return {k: v for k, v in self.cleaned_data.items() if v != self.initial[k]}


class SettingsForm(forms.Form):
    """A form of the settings page: it knows the mission (its time zone)."""

    def __init__(self, *args: Any, mission: Mission, **kwargs: Any) -> None:
        self.mission = mission
        super().__init__(*args, **kwargs)


class GenerateSlotsForm(SettingsForm):
    """ "Generate slots now": nothing to fill in."""


class ClosureForm(SettingsForm):
    date = DayField(label=_("Date"))
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


class OpeningHoursForm(SettingsForm):
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


class BookingMoveForm(SettingsForm):
    """Move a booking outside the opening hours: its reference and the new time (a slot)."""

    reference = forms.CharField(max_length=40, widget=forms.HiddenInput)
    slot = forms.IntegerField(label=_("New time"), min_value=1)


class BookingCancelByMissionForm(SettingsForm):
    reference = forms.CharField(max_length=40, widget=forms.HiddenInput)


class CounterForm(SettingsForm):
    name = forms.CharField(label=_("Counter name"), max_length=50)


class NewServiceForm(SettingsForm):
    code = forms.SlugField(
        label=_("Code"), max_length=40, help_text=_("Short, in the address: such as apostille.")
    )
    name = forms.CharField(label=_("Name in English"), max_length=120)
    name_tr = forms.CharField(
        label=_("Name in Turkish"),
        max_length=120,
        required=False,
        help_text=_("Empty: the English name is shown."),
    )
    counters = forms.ModelMultipleChoiceField(
        label=_("Counters that serve it"),
        queryset=Counter.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
    )


class LotteryRoundForm(SettingsForm):
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.filter(release_mode=ReleaseMode.LOTTERY)
    )
    period_start = DayField(label=_("Appointments from"))
    period_end = DayField(label=_("Appointments until"))
    window_opens_at = DayTimeField(label=_("Registration opens"), help_text=_("Mission time."))
    window_closes_at = DayTimeField(
        label=_("Registration closes"),
        help_text=_("Mission time. The draw runs within minutes after this."),
    )

    def clean(self) -> dict[str, Any]:
        """The times typed are wall-clock times at the mission."""
        data = super().clean() or {}
        for key in ("window_opens_at", "window_closes_at"):
            if data.get(key) is not None:
                data[key] = data[key].replace(tzinfo=None).replace(tzinfo=self.mission.zone)
        return data
