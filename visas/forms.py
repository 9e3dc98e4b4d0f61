"""Forms of the applicant's visa pages: they parse and render what a person types; the services
(`visas.services.application.FIELD_CLEANERS`) decide what is valid."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from consulate.kernel.text import text_limit_hint

from .models import ENTRIES_LABEL, Entries, Sex
from .reference.models import CategoryQuestion, QuestionKind, VisaCategory
from .services.application import ANSWER_LIMIT, QUESTION_PREFIX, STEP_FIELDS, TEXT_LIMITS

# What a browser may send for one file; `visas.uploads` checks the bytes whatever the size
# claims (and has its own, lower limit for a photo).
UPLOAD_MAX_BYTES = 10 * 1024 * 1024

_DATE = {"type": "date"}


def _date_widget(**attrs: str) -> forms.DateInput:
    # always ISO: a date box reads only YYYY-MM-DD, whatever the page's language
    return forms.DateInput(attrs={**_DATE, **attrs}, format="%Y-%m-%d")


class StartForm(forms.Form):
    category = forms.ChoiceField(
        label=_("What is your journey for?"), choices=(), widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, categories: list[VisaCategory], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        if isinstance(field, forms.ChoiceField):
            field.choices = [(row.code, row.name) for row in categories]
        # named so in the error summary: the question with a colon after it reads oddly
        field.summary_label = _("Journey")  # type: ignore[attr-defined]


def _limit_said(field: forms.Field, limit: int) -> None:
    """A box for a longer text says how much it keeps, after its own help: no `maxlength` cuts a
    pasted text without a word; the service refuses more and the page keeps what was typed."""
    hint = text_limit_hint(limit)
    field.help_text = format_lazy("{} {}", field.help_text, hint) if field.help_text else hint


class DescribedForm(forms.Form):
    """A form whose inputs say which help and which message describe them (aria-describedby),
    and which are invalid (aria-invalid), once its errors are known: call `describe()`."""

    def describe(self) -> None:
        for name, bound in self.fields.items():
            field_id = self[name].auto_id
            ids = []
            if self.errors.get(name):
                ids.append(f"{field_id}-message")
                bound.widget.attrs["aria-invalid"] = "true"
            if bound.help_text:
                ids.append(f"{field_id}-help")
            if ids:
                bound.widget.attrs["aria-describedby"] = " ".join(ids)


class ApplicationForm(DescribedForm):
    """Every field of the form, all optional: a draft is saved as it is; what a submission needs
    is said by the service, field by field. A step shows its own (`for_step`)."""

    surname = forms.CharField(
        label=_("Surname"),
        required=False,
        help_text=_("As in your passport."),
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    given_names = forms.CharField(
        label=_("Given names"),
        required=False,
        help_text=_("All of them, as in your passport. Leave empty if it shows none."),
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    birth_date = forms.CharField(
        label=_("Date of birth"), required=False, widget=_date_widget(autocomplete="bday")
    )
    birth_place = forms.CharField(label=_("Place of birth"), required=False)
    sex = forms.ChoiceField(label=_("Sex"), required=False, choices=[("", "—"), *Sex.choices])
    nationality = forms.CharField(
        label=_("Nationality"),
        required=False,
        help_text=_("The three-letter code in your passport, e.g. USA, GBR, IND."),
        widget=forms.TextInput(
            attrs={"autocapitalize": "characters", "autocomplete": "off", "maxlength": "3"}
        ),
    )
    passport_number = forms.CharField(
        label=_("Passport number"),
        required=False,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    passport_issuing_state = forms.CharField(
        label=_("Passport issued by"),
        required=False,
        help_text=_("The three-letter code of the state that issued it."),
        widget=forms.TextInput(
            attrs={"autocapitalize": "characters", "autocomplete": "off", "maxlength": "3"}
        ),
    )
    passport_expires_on = forms.CharField(
        label=_("Passport valid until"),
        required=False,
        help_text=_("It must be valid at least three months after you leave."),
        widget=_date_widget(),
    )
    address = forms.CharField(
        label=_("Home address"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        help_text=_("With the country code, e.g. +49 30 1234567."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    occupation = forms.CharField(label=_("Occupation"), required=False)
    entry_date = forms.CharField(label=_("Date of arrival"), required=False, widget=_date_widget())
    exit_date = forms.CharField(label=_("Date of departure"), required=False, widget=_date_widget())
    entries = forms.ChoiceField(
        label=ENTRIES_LABEL,
        required=False,
        choices=Entries.choices,
    )
    stay_address = forms.CharField(
        label=_("Address during the stay"),
        required=False,
        help_text=_("The hotel, or your host's address."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    host_name = forms.CharField(
        label=_("Host, employer or school"),
        required=False,
        help_text=_("Who invites, employs or teaches you; leave empty for a tourist journey."),
    )
    host_address = forms.CharField(
        label=_("Host's address"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    previous_visas = forms.CharField(
        label=_("Visas in the last five years"),
        required=False,
        help_text=_("Each with its country, dates and number, one per line; leave empty if none."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    previous_refusals = forms.CharField(
        label=_("Refusals in the last five years"),
        required=False,
        help_text=_("Each with its country and date, one per line; leave empty if none."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    means = forms.CharField(
        label=_("Means of support"),
        required=False,
        help_text=_("How you pay for the journey and the stay: savings, salary, a sponsor."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, step: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if step is not None:
            shown = STEP_FIELDS.get(step, ())
            for name in list(self.fields):
                if name not in shown:
                    del self.fields[name]
        for name, field in self.fields.items():
            if name in TEXT_LIMITS and isinstance(field.widget, forms.Textarea):
                _limit_said(field, TEXT_LIMITS[name])


class QuestionsForm(DescribedForm):
    """The category's own questions, `q_<code>` each."""

    def __init__(self, *args: Any, questions: list[CategoryQuestion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for question in questions:
            name = QUESTION_PREFIX + question.code
            field: forms.Field
            if question.kind == QuestionKind.YES_NO:
                field = forms.ChoiceField(
                    label=question.label,
                    required=False,
                    choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))],
                )
            elif question.kind == QuestionKind.DATE:
                field = forms.CharField(label=question.label, required=False, widget=_date_widget())
            else:
                field = forms.CharField(
                    label=question.label, required=False, widget=forms.Textarea(attrs={"rows": 3})
                )
                _limit_said(field, ANSWER_LIMIT)
            self.fields[name] = field


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > UPLOAD_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large: at most 10 MB."))
        return bytes(upload.read())
