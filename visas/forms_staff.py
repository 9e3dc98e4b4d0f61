"""Forms of the mission's visa casework: they parse; the services decide (and refuse with the
reason shown)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from consulate.kernel.text import text_limit_hint

from .models import ENTRIES_LABEL, FORM_ITEM, FORM_LABEL, Entries, HitResolution, RefusalGround
from .reference.models import ChecklistItem
from .services.casework import NOTE_LIMIT


def _note(label: Any, *, required: bool = False, rows: int = 3) -> forms.CharField:
    """A box for a note, a reason or a statement staff type: its limit said beside it, and no
    `maxlength` (a browser cuts a pasted note there without a word). The service cleans and
    judges the text (`text_clean`: "Use at most 2000 characters."); the page shows it back in
    its box to shorten."""
    return forms.CharField(
        label=label,
        required=required,
        help_text=text_limit_hint(NOTE_LIMIT),
        widget=forms.Textarea(attrs={"rows": rows}),
    )


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
    that the service cleans and judges (`text_clean`). `kept`: on a re-check, the acceptances
    the service keeps (`selectors_casework.completeness_kept`), which the page shows as text
    instead of a choice; a choice sent for one all the same is parsed and passed on, for the
    service to refuse. Each reason's box is named by its item alone in the page's error
    summary (`summary_label`)."""

    due_on = forms.DateField(
        label=_("Corrections due by (the mission's local date)"),
        required=False,
        widget=DateInput,
        help_text=_("Empty: 14 days from today. At most 60 days."),
    )

    def __init__(
        self,
        *args: Any,
        items: list[ChecklistItem],
        kept: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        labels: dict[str, Any] = {FORM_ITEM: FORM_LABEL} | {item.code: item.label for item in items}
        self.codes = list(labels)
        self.kept = dict(kept or {})
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
            reason = _note(
                # each box names its item: a screen reader lists the fields by their labels
                _("What to correct in “%(item)s” (the applicant reads it)") % {"item": label},
                rows=2,
            )
            reason.summary_label = label  # type: ignore[attr-defined]
            self.fields[f"reason_{code}"] = reason

    def decisions(self) -> dict[str, tuple[bool, str]]:
        chosen: dict[str, tuple[bool, str]] = {}
        for code in self.codes:
            choice = self.cleaned_data.get(f"item_{code}")
            if choice in ("accept", "correct"):
                chosen[code] = (choice == "accept", self.cleaned_data[f"reason_{code}"])
        return chosen

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField, Any]]:
        """Each choice with its reason and the acceptance kept there (None: to decide): the
        form first, then the checklist's items."""
        return [
            (self[f"item_{code}"], self[f"reason_{code}"], self.kept.get(code))
            for code in self.codes
        ]


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
    reason = _note(_("Why (required)"), required=True)


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
    note = _note(_("Note for the consul (the proposed validity, entries)"))


class DecideForm(forms.Form):
    grounds = _grounds_field(_("Grounds of a refusal (the applicant reads them)"))
    note = _note(_("Explanation (optional; the applicant reads it) or, to send back, the reason"))
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
    reason = _note(_("Reason (the applicant reads it)"), required=True)


class AppealRecordForm(forms.Form):
    lodged_on = forms.DateField(label=_("Received on"), widget=DateInput)
    statement = _note(_("The appellant's grounds"), required=True)


class AppealDecideForm(forms.Form):
    note = _note(_("Reasons for the decision (the applicant reads them)"), required=True)


class VisaEndForm(forms.Form):
    grounds = _grounds_field(_("Grounds (at least one)"))
    note = _note(_("Explanation (the holder reads it)"))
