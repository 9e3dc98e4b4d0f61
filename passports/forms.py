"""Forms of the passports pages: they parse what a person typed; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ApplicationKind, Recommendation, ReportKind, Sex
from .services.common import national_id_rule

# The photo a browser may send; `passports.photo` checks the bytes whatever the size claims.
PHOTO_MAX_BYTES = 10 * 1024 * 1024


class StartForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What are you applying for?"),
        choices=ApplicationKind.choices,
        widget=forms.RadioSelect,
    )


class ApplicationForm(forms.Form):
    """The draft as the citizen fills it in. Fields are all optional here: a draft is saved as
    it is; what a submission needs is said by the service, field by field."""

    surname = forms.CharField(
        label=_("Surname"),
        required=False,
        max_length=100,
        help_text=_("As in the civil registration, in the national alphabet."),
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    given_names = forms.CharField(
        label=_("Given names"),
        required=False,
        max_length=100,
        help_text=_("All of them, in order. Leave empty only if the name is a single name."),
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    birth_date = forms.CharField(
        label=_("Date of birth"),
        required=False,
        # always ISO: a date box reads only YYYY-MM-DD, whatever the page's language
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
    )
    birth_place = forms.CharField(label=_("Place of birth"), required=False, max_length=100)
    sex = forms.ChoiceField(label=_("Sex"), required=False, choices=[("", "—"), *Sex.choices])
    national_id = forms.CharField(
        label=_("National ID number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    height_cm = forms.CharField(
        label=_("Height (cm)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[0-9]*"}),
    )
    address = forms.CharField(
        label=_("Address abroad"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=24,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    previous_document = forms.CharField(
        label=_("Number of the passport it replaces"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    other_parent_name = forms.CharField(
        label=_("Other parent's full name"), required=False, max_length=100
    )
    other_parent_consent = forms.BooleanField(
        label=_("The other parent consents to this passport"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the issuing state's number: its hint, and the numeric keyboard when it is all digits
        rule = national_id_rule()
        field = self.fields["national_id"]
        field.help_text = rule.hint
        field.widget.attrs["inputmode"] = "numeric" if rule.digits else "text"


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label=_("Photo"),
        help_text=_(
            "A recent colour photo, 35 x 45 mm in shape: your face straight on, eyes open, plain "
            "light background. JPEG or PNG."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )

    def clean_photo(self) -> bytes:
        upload = self.cleaned_data["photo"]
        if upload.size > PHOTO_MAX_BYTES:
            raise forms.ValidationError(_("The photo is too large: at most 10 MB."))
        return bytes(upload.read())


class ReportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("The passport was"), choices=ReportKind.choices, widget=forms.RadioSelect
    )
    document_number = forms.CharField(label=_("Passport number"), max_length=40)
    circumstances = forms.CharField(
        label=_("What happened, where and when"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For a theft, the police report's reference if you have one."),
    )


class BiometricsForm(forms.Form):
    identity_confirmed = forms.BooleanField(
        label=_("I checked the person against the application and any previous passport"),
        required=False,
    )


class RecommendForm(forms.Form):
    recommendation = forms.ChoiceField(
        label=_("Recommendation"), choices=Recommendation.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason (required to refuse)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DecideForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (required to refuse or send back; the citizen reads a refusal's)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CollectForm(forms.Form):
    identity_confirmed = forms.BooleanField(
        label=_("I checked the holder's identity"), required=False
    )
    old_document_cancelled = forms.BooleanField(
        label=_("The old passport was presented and cancelled (corner cut, stamped)"),
        required=False,
    )
    signed_for = forms.BooleanField(
        label=_("The holder signed the receipt for the new passport"), required=False
    )


class MrzCheckForm(forms.Form):
    """The two lines of a machine-readable zone, typed or scanned at the counter."""

    line1 = forms.CharField(
        label=_("First line"),
        max_length=100,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
                   "class": "mrz-input"}
        ),
    )  # fmt: skip
    line2 = forms.CharField(
        label=_("Second line"),
        max_length=100,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
                   "class": "mrz-input"}
        ),
    )  # fmt: skip
