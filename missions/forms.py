"""Parsing of what HQ staff type about a mission: codes (country, currency, language, region,
time zone) as a person types them.

A code field is put in the case the code is written in ("eur" is EUR, "TR" as a language is tr)
before it is validated, and has no length limit in the browser: a `maxlength` of 2 cut "France"
to "Fr", and the error then quoted "Fr", which the person never typed. An error quotes the
whole value as typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from consulate.kernel import reference
from consulate.kernel.errors import ApplicationError, form_checked
from consulate.kernel.http import QueryStringForm

from .models import (
    MissionStatus,
    WorldRegion,
    validate_code,
    validate_country,
    validate_currency,
    validate_language,
    validate_region,
    validate_timezone,
)
from .selectors_monitoring import DashboardFilters, dashboard_filters_check
from .services.sync import sync_file_check

# Longer than any code; a limit only so that a pasted essay is refused, not cut.
TYPED_MAX_LENGTH = 100


def timezone_canonical(typed: str) -> str:
    """ "europe/berlin" is Europe/Berlin; a name that is no zone is left as typed."""
    by_folded = {name.casefold(): name for name in reference.timezone_names()}
    return by_folded.get(typed.casefold(), typed)


def _quoting_typed(error: ValidationError, *, typed: str, normalised: str) -> ValidationError:
    """The validator's own message, quoting what the person typed instead of the normalised
    value it checked."""
    params = {
        key: typed if value == normalised else value for key, value in (error.params or {}).items()
    }
    return ValidationError(error.message, code=error.code, params=params)


def _code_clean(
    typed: str, *, normalise: Callable[[str], str], validator: Callable[[str], None]
) -> str:
    normalised = normalise(typed)
    try:
        validator(normalised)
    except ValidationError as error:
        raise ValidationError(
            [_quoting_typed(e, typed=typed, normalised=normalised) for e in error.error_list]
        ) from error
    return normalised


class CodeField(forms.CharField):
    """One code: stripped, put in its case, then validated; errors quote the typed value."""

    def __init__(
        self, *, normalise: Callable[[str], str], validator: Callable[[str], None], **kwargs: Any
    ) -> None:
        self.normalise, self.code_validator = normalise, validator
        kwargs.setdefault("max_length", TYPED_MAX_LENGTH)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        typed = super().clean(value)
        if typed in self.empty_values:
            return typed
        return _code_clean(typed, normalise=self.normalise, validator=self.code_validator)


class CodeListField(forms.CharField):
    """Codes separated by commas ("de, TR ,en"): each one as `CodeField` takes it; every bad
    one is named in the errors."""

    def __init__(
        self, *, normalise: Callable[[str], str], validator: Callable[[str], None], **kwargs: Any
    ) -> None:
        self.normalise, self.code_validator = normalise, validator
        kwargs.setdefault("max_length", 500)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ",".join(str(item) for item in value)
        return value

    def clean(self, value: Any) -> list[str]:  # type: ignore[override]
        typed = super().clean(value)
        items = [item.strip() for item in (typed or "").split(",") if item.strip()]
        cleaned, errors = [], []
        for item in items:
            try:
                cleaned.append(
                    _code_clean(item, normalise=self.normalise, validator=self.code_validator)
                )
            except ValidationError as error:
                errors.extend(error.error_list)
        if errors:
            raise ValidationError(errors)
        return list(dict.fromkeys(cleaned))  # "tr, TR" once

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.clean(data) != list(initial or [])
        except ValidationError:
            return True


# Each code of a mission, the case it is written in, and the model's rule for it.
MISSION_CODES: dict[str, tuple[type[CodeField | CodeListField], Callable[[str], str], Any]] = {
    "code": (CodeField, str.lower, validate_code),
    "host_country": (CodeField, str.upper, validate_country),
    "currency": (CodeField, str.upper, validate_currency),
    "timezone": (CodeField, timezone_canonical, validate_timezone),
    "languages": (CodeListField, str.lower, validate_language),
    "jurisdiction": (CodeListField, str.upper, validate_region),
}


def mission_code_fields_replace(fields: dict[str, forms.Field]) -> None:
    """Give a mission form's code fields (those it has) the forgiving parsing above, keeping
    their labels, help texts and whether they are required."""
    for name, (field_class, normalise, validator) in MISSION_CODES.items():
        if name not in fields:  # read-only once the mission exists
            continue
        generated = fields[name]
        fields[name] = field_class(
            normalise=normalise,
            validator=validator,
            required=generated.required,
            label=generated.label,
            help_text=generated.help_text,
            initial=generated.initial,
        )


class SyncFileForm(forms.Form):
    """A file for the diplomatic bag, uploaded on a sync page. Its size is checked before it is
    read (`sync_file_check`: the rule is the service's); what it holds is for the service."""

    file = forms.FileField(allow_empty_file=True)

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        try:
            sync_file_check(size=upload.size or 0)
        except ApplicationError as error:
            raise ValidationError(str(error.message), code="invalid") from error
        return bytes(upload.read())


class DashboardFilterForm(QueryStringForm):
    """The HQ dashboard's filters and sort, from the query string. It parses: a value the page
    does not offer (a region, a status, a column to sort by, an order) is an error beside its
    field, and the page answers 400 without figures, never figures that look filtered but are
    not. The rule of a country is the selector's (`dashboard_filters_check`, asked by `clean`).
    A control character in a value is refused beside its field too (`QueryStringForm`: the
    pages are marked `query_string_cleaned_by`, so `BadInputMiddleware` leaves it to the form).
    `columns` are the (key, label) pairs the dashboard can sort by."""

    region = forms.ChoiceField(label=_("Region"), required=False)
    # no max_length: a longer value is the selector's refusal, with its message
    country = forms.CharField(label=_("Country"), required=False, strip=True)
    status = forms.ChoiceField(label=_("Status"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False)
    order = forms.ChoiceField(
        label=_("Order"), required=False, choices=[("", ""), ("asc", ""), ("desc", "")]
    )

    def __init__(self, data: Any, *, columns: list[tuple[str, Any]]) -> None:
        # the ids the filter form's selects have (`f-region`), which the error summary links to
        super().__init__(data, auto_id="f-%s")
        self.fields["region"].choices = [("", ""), *WorldRegion.choices]  # type: ignore[attr-defined]
        self.fields["status"].choices = [("", ""), *MissionStatus.choices]  # type: ignore[attr-defined]
        self.fields["sort"].choices = [("", ""), ("mission", ""), *columns]  # type: ignore[attr-defined]

    def clean_country(self) -> str:
        return str(self.cleaned_data.get("country") or "").upper()

    def clean(self) -> dict[str, Any] | None:
        """The selector's refusals of what the fields understood, beside the fields too, even
        when another field was refused: every reason shows at once (the country's showed only
        once the selects were corrected)."""
        cleaned = super().clean()
        typed = str(self.data.get("country") or "").strip()
        form_checked(self, lambda: dashboard_filters_check(self.filters(), country_typed=typed))
        return cleaned

    def filters(self) -> DashboardFilters:
        """The filters understood (after `is_valid()`): a value refused, by the form or by the
        selector, is not among them."""
        values = {
            name: str(self.cleaned_data.get(name) or "")
            for name in ("region", "country", "status", "sort", "order")
        }
        return DashboardFilters(
            region=values["region"],
            country=values["country"],
            status=values["status"],
            sort=values["sort"],
            descending=values["order"] == "desc",
        )


class TrendsFilterForm(DashboardFilterForm):
    """The trends page's filters: the dashboard's, but the page sorts nothing. It carries the
    dashboard's sort and order back to it (its links, hidden inputs), and one the dashboard
    would refuse (a forged `sort=bogus`, a control character) is not carried: it is dropped
    as a parameter the page does not have, never refused beside a field the page does not
    show."""

    def __init__(self, data: Any, *, columns: list[tuple[str, Any]]) -> None:
        carried = {
            "sort": {"", "mission", *(key for key, _label in columns)},
            "order": {"", "asc", "desc"},
        }
        dropped = [
            name
            for name, allowed in carried.items()
            if name in data and not set(data.getlist(name)) <= allowed
        ]
        if dropped:
            data = data.copy()
            for name in dropped:
                data.pop(name)
        super().__init__(data, columns=columns)
