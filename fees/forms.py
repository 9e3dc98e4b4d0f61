"""Input forms: they parse and shape input; the rules are in the services."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol, parse_decimal
from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import form_checked
from consulate.kernel.http import QueryStringForm, SearchForm

from .models import Account
from .money import Money, MoneyError, minor_units, number_format
from .reference.models import OPTION_CODES, ServiceCode
from .selectors import revenue_report_period_check

MAIN_SERVICES = [(c.value, c.label) for c in ServiceCode if c not in OPTION_CODES]


# A minus sign as people type it (hyphen-minus or the minus sign), before digits.
_NEGATIVE = re.compile(r"^\s*[-\u2212]\s*\d")


def _reader_locale(locale: str | None) -> str:
    return (locale or translation.get_language() or "en").replace("-", "_")


def amount_example(currency: str, locale: str | None = None) -> str:
    """How an amount of `currency` is typed in `locale`: "1,234.500" (KWD, English),
    "1.234,50" (EUR, Turkish), "1,234" (JPY, English)."""
    digits = minor_units(currency)
    return number_format(
        Decimal("1234.5") if digits else Decimal(1234), digits, _reader_locale(locale)
    )


MAX_AMOUNT_DIGITS = 15  # digits typed, decimals included: 10^12 major units at the most


def parse_amount(text: str, currency: str, locale: str | None = None) -> Money:
    """An amount typed in major units of `currency` by a reader of `locale` (the active
    language by default), exact to the minor unit: "48.200" is KWD 48.200 in English and
    "48,200" in Turkish; "16,400" is ¥16,400 in English and "16.400" in Turkish.

    The locale's separators (babel/CLDR: English "," between thousands and "." before the
    decimals, Turkish the other way round) and the currency's decimals decide. Anything the two
    conventions read differently is refused, never guessed: one separator followed by three
    digits is a thousands separator in one and a decimal point in the other, so "48,200" is
    refused for KWD in English (48,200 dinars, or 48.200?) and "1.000" for JPY (¥1, or
    ¥1,000?). Signs, exponents, spaces, currency symbols and more decimals than the currency
    has are refused too. Every message names the currency and shows how to type an amount in
    the reader's locale."""
    loc = _reader_locale(locale)
    digits = minor_units(currency)
    raw = text.strip()
    decimal_symbol, group_symbol = get_decimal_symbol(loc), get_group_symbol(loc)
    example = amount_example(currency, loc)
    if _NEGATIVE.match(raw):
        raise forms.ValidationError(_("Enter an amount above zero."), code="negative")
    separators = re.escape(decimal_symbol + group_symbol)
    if not re.fullmatch(rf"[0-9][0-9{separators}]*", raw) or not raw[-1].isdigit():
        raise forms.ValidationError(_unclear(currency, example, loc), code="unclear")
    if len(re.sub(r"\D", "", raw)) > MAX_AMOUNT_DIGITS:
        # far beyond any fee, and beyond what the ledger's 64-bit minor units hold
        raise forms.ValidationError(
            _("That amount is too large for %(currency)s.") % {"currency": currency},
            code="too_large",
        )
    single = re.fullmatch(rf"(\d{{1,3}})([{separators}])(\d{{3}})", raw)
    if single:
        whole, separator, three = single.groups()
        thousands = Money.from_decimal(Decimal(whole + three), currency)
        point = Decimal(f"{whole}.{three}")
        if separator == group_symbol and digits >= 3 and point != thousands.to_decimal():
            # the locale's thousands, or another convention's decimals: both are amounts
            point_money = Money.from_decimal(point, currency)
            raise _ambiguous(raw, thousands, point_money, currency, example, loc)
        if (
            separator == decimal_symbol
            and digits < 3
            and three.endswith("0" * (3 - digits))
            and point != thousands.to_decimal()
        ):
            # the locale's decimals (with zeros the currency does not have), or thousands
            point_money = Money.from_decimal(point.normalize(), currency)
            raise _ambiguous(raw, point_money, thousands, currency, example, loc)
    try:
        value = parse_decimal(raw, locale=loc, strict=True)
    except NumberFormatError as error:
        raise forms.ValidationError(_unclear(currency, example, loc), code="unclear") from error
    decimals = raw.split(decimal_symbol, 1)[1] if decimal_symbol in raw else ""
    if len(decimals) > digits:
        raise forms.ValidationError(
            (
                _("%(currency)s amounts have no decimals: type it as in %(example)s.")
                if digits == 0
                else _(
                    "%(currency)s amounts have at most %(digits)s decimals: type it as in "
                    "%(example)s."
                )
            )
            % {"currency": currency, "digits": digits, "example": example},
            code="decimals",
        )
    try:
        return Money.from_decimal(value, currency)
    except MoneyError as error:  # not reached: the checks above are stricter
        raise forms.ValidationError(_unclear(currency, example, loc), code="unclear") from error


def _unclear(currency: str, example: str, locale: str) -> str:
    return _(
        "Enter the amount in %(currency)s as in %(example)s: digits, “%(group)s” between "
        "thousands if you like, no sign or currency."
    ) % {"currency": currency, "example": example, "group": get_group_symbol(locale)}


def _ambiguous(
    text: str, one: Money, other: Money, currency: str, example: str, locale: str
) -> forms.ValidationError:
    return forms.ValidationError(
        _(
            "“%(text)s” could mean %(one)s or %(other)s. Type %(currency)s amounts as in "
            "%(example)s."
        )
        % {
            "text": text,
            "one": one.format(locale),
            "other": other.format(locale),
            "currency": currency,
            "example": example,
        },
        code="ambiguous",
    )


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

    def services(self) -> list[str]:
        """The service and the options ticked, in the order the fee lines are written."""
        data = self.cleaned_data
        return [data["service"]] + [c for c in OPTION_FIELDS if data[c]]

    def fees_withheld(self, services: Collection[str]) -> None:
        """Offer none of `services` (charged already for the quoted reference, as the page
        says): the service's list loses them, an option's box goes. For showing the form only:
        it is called once the form was read (the service refuses a fee charged already)."""
        service: forms.ChoiceField = self.fields["service"]  # type: ignore[assignment]
        offered = [(code, label) for code, label in MAIN_SERVICES if code not in services]
        if len(offered) < len(MAIN_SERVICES):
            # the cashier chooses: the list would fall on its first fee left, and after a
            # refused charge a second press charged that one to the case (seen in a trial)
            offered = [("", _("Choose a service")), *offered]
        service.choices = offered
        for name in OPTION_FIELDS:
            if name in services:
                del self.fields[name]


OPTION_FIELDS = ("express", "courier")


class AssessmentSearchForm(SearchForm):
    """The counter's search: a payer's full name (up to 200 characters) or a reference."""

    q = forms.CharField(required=False, max_length=200)


class ReferenceQuoteForm(QueryStringForm):
    """The case a cashier is about to charge (`?reference=`): the counter shows which of its
    fees are charged already and offers only the others."""

    reference = forms.CharField(
        label=_("Case reference"),
        max_length=64,
        required=False,
        help_text=_("The counter shows which of its fees are charged already."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "quote_%s")  # beside the charge form's own reference
        super().__init__(*args, **kwargs)

    def quoted(self) -> str:
        """The reference quoted, or "" (none, or refused: the reason is beside the field)."""
        return self.cleaned_data["reference"].strip() if self.is_valid() else ""


class WaiverForm(forms.Form):
    """Asking for a waiver of one fee line; the categories offered are HQ's active ones."""

    line = forms.IntegerField(widget=forms.HiddenInput)
    category = forms.ChoiceField(label=_("Exemption category"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    applicant_age = forms.IntegerField(
        label=_("Applicant's age"), required=False, min_value=0, max_value=150
    )
    applicant_nationality = forms.CharField(
        label=_("Applicant's nationality"), required=False, max_length=2
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .reference.selectors import exemption_category_list_active

        super().__init__(*args, **kwargs)
        category: forms.ChoiceField = self.fields["category"]  # type: ignore[assignment]
        category.choices = [(c.code, c.name) for c in exemption_category_list_active()]


class BankTransferForm(forms.Form):
    """One line of the bank statement. The amount is typed in major units of the mission's
    currency, in the reader's locale, and parsed exactly to minor units (`parse_amount`): no
    sign, no exponent, no extra decimals, nothing ambiguous."""

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
        values = {"currency": currency, "digits": digits, "example": amount_example(currency)}
        self.fields["amount"].help_text = (
            _("Whole %(currency)s only, for example %(example)s.") % values
            if digits == 0
            else _("In %(currency)s with up to %(digits)s decimals, for example %(example)s.")
            % values
        )

    def clean_amount(self) -> Money:
        amount = parse_amount(self.cleaned_data["amount"], self.currency)
        if amount.amount_minor <= 0:
            raise forms.ValidationError(_("Enter an amount above zero."))
        return amount


# The largest amount a form takes in minor units: more than any fee, well inside a bigint.
MAX_AMOUNT_MINOR = 10**15


class AmountForm(forms.Form):
    """An amount of `currency` (cash, a transfer to expect, a refund), with the idempotency key
    of the page that sent it: typed by a person in their locale (`amount`, parsed exactly by
    `parse_amount`), or written by the page itself in minor units (`amount_minor`: a hidden
    field, or the amount a person already saw shown back and confirmed). The service judges
    the amount; the form only parses it. `cleaned_data["amount"]` is Money, and
    `cleaned_data["confirmed"]` says whether it came in minor units."""

    amount = forms.CharField(max_length=30, required=False)
    amount_minor = forms.IntegerField(required=False, min_value=0, max_value=MAX_AMOUNT_MINOR)
    idempotency_key = forms.CharField(required=False)
    reason = forms.CharField(required=False)

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> Money | None:
        text = self.cleaned_data["amount"]
        return parse_amount(text, self.currency) if text.strip() else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        minor = data.get("amount_minor")
        data["confirmed"] = minor is not None
        if minor is not None:
            data["amount"] = Money(minor, self.currency)
        elif data.get("amount") is None:
            self.add_error("amount", _("Enter an amount."))
        return data


class DayCloseForm(forms.Form):
    """The cash counted in each drawer that holds money on the day, and a reason where it
    differs: `counted_<cashier id>` and `reason_<cashier id>`, as the day-close page names them.
    `cleaned_data["counted"]` maps cashier ids to Money, `cleaned_data["reasons"]` to text."""

    def __init__(self, *args: Any, drawers: list[tuple[Account, Money]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drawers = [(int(account.qualifier), expected) for account, expected in drawers]
        for cashier, _expected in self.drawers:
            self.fields[f"counted_{cashier}"] = forms.CharField(max_length=30)
            self.fields[f"reason_{cashier}"] = forms.CharField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        counted: dict[int, Money] = {}
        reasons: dict[int, str] = {}
        for cashier, expected in self.drawers:
            text = data.get(f"counted_{cashier}")
            if text is None:
                continue  # the field's own error says it is required
            try:
                counted[cashier] = parse_amount(text, expected.currency)
            except forms.ValidationError as error:
                self.add_error(f"counted_{cashier}", error)
            reasons[cashier] = data.get(f"reason_{cashier}", "")
        data["counted"] = counted
        data["reasons"] = reasons
        return data


class DayForm(forms.Form):
    """`?date=YYYY-MM-DD`; anything else means `default` (today)."""

    date = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    @classmethod
    def day(cls, data: Any, *, default: dt.date) -> dt.date:
        form = cls(data)
        form.is_valid()  # a bad value is dropped from cleaned_data: the default applies
        return form.cleaned_data.get("date") or default


class PeriodForm(QueryStringForm):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` of the revenue report; a bound not given takes its
    default (the first of this month, today). A date that does not exist or is not written so
    (`2026-02-31`, `7.12.2026`), a control character (`QueryStringForm`: the view is marked
    `query_string_cleaned_by`) and a period that ends before it starts (the selector's rule,
    `revenue_report_period_check`, asked by `clean` through `form_checked`) are refused beside
    their field, every one at once; the page then answers 400 without figures (`form_read`).
    The fields are `from` and `to`, Python keywords, hence set after the class."""

    def __init__(self, data: Any, *, today: dt.date) -> None:
        # the ids of the report's inputs (`from`, `to`), which the error summary links to
        super().__init__(data, auto_id="%s")
        self.today = today

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if not self.errors and not self.control_refused:  # a day refused is not a bound
            date_from, date_to = self.period()
            form_checked(
                self,
                lambda: revenue_report_period_check(date_from=date_from, date_to=date_to),
            )
        return cleaned

    def period(self) -> tuple[dt.date, dt.date]:
        """The period understood (after `is_valid()`): a bound not given is its default."""
        data = getattr(self, "cleaned_data", {})
        return (
            data.get("from") or self.today.replace(day=1),
            data.get("to") or self.today,
        )


def _report_day(label: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={
            "invalid": _("Enter a day that exists, written YYYY-MM-DD (such as 2026-12-07).")
        },
    )


PeriodForm.base_fields = PeriodForm.declared_fields = {
    "from": _report_day(_("From")),
    "to": _report_day(_("To")),
}


class MonthForm(forms.Form):
    """`?month=YYYY-MM`; anything else means this month. Answers the month's first day."""

    month = forms.DateField(required=False, input_formats=["%Y-%m"])

    @classmethod
    def month_of(cls, data: Any, *, today: dt.date) -> dt.date:
        form = cls(data)
        form.is_valid()
        return (form.cleaned_data.get("month") or today).replace(day=1)
