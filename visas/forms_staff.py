"""Forms of the mission's visa casework: they parse; the services decide (and refuse with the
reason shown)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import ENTRIES_LABEL, FORM_ITEM, FORM_LABEL, Entries, HitResolution, RefusalGround
from .reference.models import ChecklistItem

_TEXT = {"rows": 3}


class DateInput(forms.DateInput):
    """A browser's date field: its value is always ISO (YYYY-MM-DD), whatever the language (a
    Turkish 04/12/2026 would leave it empty)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, str] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class CompletenessForm(forms.Form):
    """One accept / correct choice and a reason for the application form and for each checklist
    item, and the corrections' date. No choice is made for the officer (a missed click accepted
    the form): the service refuses an item left undecided, beside it. A reason is typed text
    that the service cleans and judges (`text_clean`): the field only keeps the browser to its
    length."""

    due_on = forms.DateField(
        label=_("Corrections due by (the mission's local date)"),
        required=False,
        widget=DateInput,
        help_text=_("Empty: 14 days from today. At most 60 days."),
    )

    def __init__(self, *args: Any, items: list[ChecklistItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels: dict[str, Any] = {FORM_ITEM: FORM_LABEL} | {item.code: item.label for item in items}
        self.codes = list(labels)
        for code, label in labels.items():
            self.fields[f"item_{code}"] = forms.ChoiceField(
                label=label,
                choices=[
                    ("accept", pgettext_lazy("a checklist item", "Accept")),
                    ("correct", _("Ask for a correction")),
                ],
                widget=forms.RadioSelect,
                required=False,
            )
            self.fields[f"reason_{code}"] = forms.CharField(
                # each box names its item: a screen reader lists the fields by their labels
                label=_("What to correct in “%(item)s” (the applicant reads it)") % {"item": label},
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "maxlength": "2000"}),
            )

    def decisions(self) -> dict[str, tuple[bool, str]]:
        chosen: dict[str, tuple[bool, str]] = {}
        for code in self.codes:
            choice = self.cleaned_data.get(f"item_{code}")
            if choice in ("accept", "correct"):
                chosen[code] = (choice == "accept", self.cleaned_data[f"reason_{code}"])
        return chosen

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """Each choice with its reason: the form first, then the checklist's items."""
        return [(self[f"item_{code}"], self[f"reason_{code}"]) for code in self.codes]


class AttendForm(forms.Form):
    identity_confirmed = forms.BooleanField(
        label=_("I checked the person against the passport and the application"), required=False
    )


class HitResolveForm(forms.Form):
    resolution = forms.ChoiceField(
        label=_("This match is"),
        choices=[
            (HitResolution.CLEARED, HitResolution.CLEARED.label),
            (HitResolution.CONFIRMED, HitResolution.CONFIRMED.label),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Why (required)"), max_length=2000, widget=forms.Textarea(attrs=_TEXT)
    )


def _grounds_field(label: Any) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=RefusalGround.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class RecommendForm(forms.Form):
    recommendation = forms.ChoiceField(
        label=_("Recommendation"),
        choices=[("issue", _("Issue the visa")), ("refuse", _("Refuse"))],
        widget=forms.RadioSelect,
    )
    grounds = _grounds_field(_("Grounds (at least one to refuse)"))
    note = forms.CharField(
        label=_("Note for the consul (the proposed validity, entries)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs=_TEXT),
    )


class DecideForm(forms.Form):
    grounds = _grounds_field(_("Grounds of a refusal (the applicant reads them)"))
    note = forms.CharField(
        label=_("Explanation (optional; the applicant reads it) or, to send back, the reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs=_TEXT),
    )
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=DateInput)
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DateInput)
    entries = forms.ChoiceField(
        label=ENTRIES_LABEL,
        choices=[("", "—"), *Entries.choices],
        required=False,
    )
    duration_days = forms.IntegerField(
        label=_("Days of stay"), required=False, min_value=1, max_value=3650
    )


class ExtendForm(forms.Form):
    until = forms.DateField(label=_("New decision date"), widget=DateInput)
    reason = forms.CharField(
        label=_("Reason (the applicant reads it)"),
        max_length=2000,
        widget=forms.Textarea(attrs=_TEXT),
    )


class AppealRecordForm(forms.Form):
    lodged_on = forms.DateField(label=_("Received on"), widget=DateInput)
    statement = forms.CharField(
        label=_("The appellant's grounds"), max_length=2000, widget=forms.Textarea(attrs=_TEXT)
    )


class AppealDecideForm(forms.Form):
    note = forms.CharField(
        label=_("Reasons for the decision (the applicant reads them)"),
        max_length=2000,
        widget=forms.Textarea(attrs=_TEXT),
    )


class VisaEndForm(forms.Form):
    grounds = _grounds_field(_("Grounds (at least one)"))
    note = forms.CharField(
        label=_("Explanation (the holder reads it)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs=_TEXT),
    )
