"""Forms of HQ's visa pages: the statistics' filters, and a watchlist entry."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from appointments.forms import DayField
from consulate.kernel.errors import form_checked
from consulate.kernel.http import QueryStringForm
from missions.models import Mission, MissionKind

from .reference.models import ItemKind, QuestionKind, VisaCategory, VisaType
from .reference.services import CategoryInput, ItemInput, QuestionInput
from .register.models import VisaCase
from .register.statistics import GROUPS, StatisticsFilters, statistics_filters_check


class StatisticsFilterForm(QueryStringForm):
    """The statistics' filters, from the query string. It parses: a value the page does not
    offer (a mission, a category or a grouping it does not list, a day that is not one) is an
    error beside its field, and the page answers 400 without figures, never figures that look
    filtered but are not. The rules of a period and a nationality are the selector's
    (`visas.register.statistics.statistics_filters_check`, asked by `clean`). A control
    character in a value is refused beside its field too (`QueryStringForm`: the pages are
    marked `query_string_cleaned_by`, so `BadInputMiddleware` leaves it to the form)."""

    group = forms.ChoiceField(label=_("Figures per"), required=False)
    mission = forms.ChoiceField(label=_("Mission"), required=False)
    nationality = forms.CharField(
        label=_("Nationality (three letters)"),
        required=False,
        # no max_length: a longer value is the selector's refusal, with its message
        widget=forms.TextInput(attrs={"size": 4, "autocapitalize": "characters"}),
    )
    category = forms.ChoiceField(label=_("Category"), required=False)
    # days between FIRST_DAY and LAST_DAY, so a period's ends stay in Python's date range
    since = DayField(label=_("Submitted from"), required=False)
    until = DayField(label=_("Submitted until"), required=False)

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.fields["group"].choices = list(GROUPS.items())  # type: ignore[attr-defined]
        missions = Mission.objects.exclude(kind=MissionKind.HEADQUARTERS).order_by("code")
        self.fields["mission"].choices = [  # type: ignore[attr-defined]
            ("", _("All missions")),
            *((m.code, str(m.name)) for m in missions),
        ]
        categories: dict[str, str] = {}
        for category in VisaCategory.objects.order_by("order", "code", "-mission"):
            categories[category.code] = str(category.name)
        # and those the register holds that HQ no longer lists
        for code in VisaCase.objects.values_list("category", flat=True).distinct():
            categories.setdefault(code, code)
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", _("All categories")),
            *categories.items(),
        ]

    def clean_nationality(self) -> str:
        return str(self.cleaned_data.get("nationality") or "").strip().upper()

    def clean(self) -> dict[str, Any] | None:
        """The selector's refusals of what the fields understood, beside the fields too, even
        when another field was refused: every reason shows at once (the nationality's showed
        only once the selects and days were corrected)."""
        cleaned = super().clean()
        form_checked(self, lambda: statistics_filters_check(self.filters()))
        return cleaned

    def filters(self) -> StatisticsFilters:
        """The filters read, once the form is valid (what the selector checks and reads); a
        value refused, by the form or by the selector, is not among them."""
        data = self.cleaned_data
        return StatisticsFilters(
            group=str(data.get("group") or "mission"),
            mission=str(data.get("mission") or ""),
            nationality=str(data.get("nationality") or ""),
            category=str(data.get("category") or ""),
            since=data.get("since"),
            until=data.get("until"),
        )


class WatchlistEntryForm(forms.Form):
    names = forms.CharField(
        label=_("Names (one spelling per line, surname first)"),
        widget=forms.Textarea(attrs={"rows": 4, "autocapitalize": "characters"}),
        max_length=2000,
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    birth_year_only = forms.BooleanField(label=_("Only the year is known"), required=False)
    nationality = forms.CharField(
        label=_("Nationality (three letters, as in the passport: DEU)"),
        required=False,
        max_length=3,
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)
    expires_on = forms.DateField(
        label=_("Until (empty: until ended)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


SEPARATOR = "|"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split(SEPARATOR)]


def _flag(value: str, field: str, line: int) -> bool:
    if value in ("", "required", "yes"):
        return True
    if value in ("optional", "no"):
        return False
    raise forms.ValidationError(
        _("Line %(line)s: write “required” or “optional”, not “%(value)s”."),
        params={"line": line, "value": value},
        code=field,
    )


class CategoryForm(forms.Form):
    """A category whole, its checklist and questions as lines of cells separated by “|”:

    documents: code | photo or document | required or optional | English | Turkish |
               English help | Turkish help
    questions: code | text, date or yes_no | required or optional | English | Turkish
    """

    code = forms.RegexField(
        label=_("Code"),
        regex=r"^[a-z][a-z0-9_]{0,29}$",
        help_text=_("Lower-case letters, digits and underscores; it never changes."),
    )
    mission = forms.ChoiceField(label=_("Offered by"), required=False)
    name = forms.CharField(label=_("Name (English)"), max_length=100)
    name_tr = forms.CharField(label=_("Name (Turkish)"), max_length=100, required=False)
    description = forms.CharField(
        label=_("Description (English)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    description_tr = forms.CharField(
        label=_("Description (Turkish)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    visa_type = forms.ChoiceField(label=_("Visa type"), choices=VisaType.choices)
    fee_code = forms.CharField(
        label=_("Fee code"),
        max_length=20,
        required=False,
        help_text=_("The fee schedule's visa category; empty: the category's code."),
    )
    processing_days = forms.IntegerField(
        label=_("Decision due (days)"), min_value=1, max_value=60, initial=15
    )
    max_stay_days = forms.IntegerField(
        label=_("Longest stay (days)"), min_value=1, max_value=3650, initial=90
    )
    order = forms.IntegerField(label=_("Order"), min_value=0, max_value=32767, initial=100)
    active = forms.BooleanField(label=_("Offered"), required=False, initial=True)
    items = forms.CharField(
        label=_("Documents, one per line"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=_(
            "code | photo or document | required or optional | English | Turkish | "
            "English help | Turkish help"
        ),
    )
    questions = forms.CharField(
        label=_("Questions, one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("code | text, date or yes_no | required or optional | English | Turkish"),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        missions = Mission.objects.exclude(kind=MissionKind.HEADQUARTERS).order_by("code")
        self.fields["mission"].choices = [  # type: ignore[attr-defined]
            ("", _("Every mission")),
            *((m.code, str(m.name)) for m in missions),
        ]
        if editing:  # a category is known by its code and mission
            self.fields["code"].disabled = True
            self.fields["mission"].disabled = True

    def clean_items(self) -> list[ItemInput]:
        items = []
        for number, line in enumerate(str(self.cleaned_data["items"]).splitlines(), start=1):
            if not line.strip():
                continue
            cells = [*_cells(line), "", "", "", "", "", ""]
            items.append(
                ItemInput(
                    code=cells[0],
                    kind=cells[1] or ItemKind.DOCUMENT,
                    required=_flag(cells[2], "items", number),
                    label=cells[3],
                    label_tr=cells[4],
                    help_text=cells[5],
                    help_text_tr=cells[6],
                    order=number * 10,
                )
            )
        return items

    def clean_questions(self) -> list[QuestionInput]:
        questions = []
        for number, line in enumerate(str(self.cleaned_data["questions"]).splitlines(), start=1):
            if not line.strip():
                continue
            cells = [*_cells(line), "", "", "", ""]
            questions.append(
                QuestionInput(
                    code=cells[0],
                    kind=cells[1] or QuestionKind.TEXT,
                    required=_flag(cells[2], "questions", number),
                    label=cells[3],
                    label_tr=cells[4],
                    order=number * 10,
                )
            )
        return questions

    def category_input(self) -> CategoryInput:
        data = self.cleaned_data
        return CategoryInput(
            code=data["code"],
            mission=data.get("mission") or "",
            name=data["name"],
            name_tr=data.get("name_tr") or "",
            description=data.get("description") or "",
            description_tr=data.get("description_tr") or "",
            visa_type=data["visa_type"],
            fee_code=data.get("fee_code") or "",
            processing_days=data["processing_days"],
            max_stay_days=data["max_stay_days"],
            order=data["order"],
            active=bool(data.get("active")),
            items=data["items"],
            questions=data["questions"],
        )


def category_initial(category: VisaCategory) -> dict[str, Any]:
    """A category as the form shows it."""

    def column(row: Any, name: str) -> str:
        return str(getattr(row, name) or "")

    items = [
        SEPARATOR.join(
            [
                item.code,
                item.kind,
                "required" if item.required else "optional",
                column(item, "label_en"),
                column(item, "label_tr"),
                column(item, "help_text_en"),
                column(item, "help_text_tr"),
            ]
        ).rstrip(SEPARATOR)
        for item in category.items.order_by("order", "code")
    ]
    questions = [
        SEPARATOR.join(
            [
                question.code,
                question.kind,
                "required" if question.required else "optional",
                column(question, "label_en"),
                column(question, "label_tr"),
            ]
        ).rstrip(SEPARATOR)
        for question in category.questions.order_by("order", "code")
    ]
    return {
        "code": category.code,
        "mission": category.mission,
        "name": column(category, "name_en"),
        "name_tr": column(category, "name_tr"),
        "description": column(category, "description_en"),
        "description_tr": column(category, "description_tr"),
        "visa_type": category.visa_type,
        "fee_code": category.fee_code,
        "processing_days": category.processing_days,
        "max_stay_days": category.max_stay_days,
        "order": category.order,
        "active": category.active,
        "items": "\n".join(items),
        "questions": "\n".join(questions),
    }
