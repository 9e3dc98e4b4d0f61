"""Writes of HQ's visa reference data: the categories with their checklists and questions, and
the watchlist.

Only HQ admins manage them (`Action.VISA_REFERENCE_MANAGE`); every service checks it first, at
the connection's mission, and the pages, the demo seeding (as SYSTEM) and tests write only
through these.

Every service is a `reference_change` (as `fees.reference.services`): it writes HQ's tables in
the public schema whatever schema the caller's connection is on (a mission's schema holds a
copy that only sync writes), and once its transaction commits HQ publishes a new signed version
for the missions (`sync.reference`, the set "visas").

What is kept and what is replaced:

- A category is identified by (`code`, `mission`); it is saved whole: its fields, and its
  checklist and questions as the lists given. An item or question missing from the list is
  removed from the category (the history keeps it; applications name items and questions by
  code, so what an applicant already uploaded or answered stays on their application; a
  correction pending on a removed item lapses, docs/visas.md "Corrections"). A
  category is retired with `active=False`, never deleted: applications name it by code.
- A watchlist entry is added, then ended (`ended_at`), never changed or deleted: a screening
  already recorded shows the entry it matched.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from missions.models import Mission, MissionKind
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from passports.mrz import code_is_known
from sync.reference import reference_publish_on_commit

from .error_codes import VisaReferenceError
from .models import (
    CODE_REGEX,
    CategoryQuestion,
    ChecklistItem,
    ItemKind,
    QuestionKind,
    VisaCategory,
    VisaType,
    WatchlistEntry,
)

# The longest stay a short-stay or transit visa allows (90 days in any 180).
SHORT_STAY_MAX_DAYS = 90
# The longest spelling of a name the watchlist takes.
SPELLING_MAX_LENGTH = 200
FEE_CODE_REGEX = r"^[a-z0-9][a-z0-9_-]{0,19}$"


def _require_manager(acting_user: Any) -> None:
    permission_require(
        user=acting_user, mission=current_mission(), action=Action.VISA_REFERENCE_MANAGE
    )


P = ParamSpec("P")
R = TypeVar("R")
_changing: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "visa_reference_change", default=False
)


def reference_change(service: Callable[P, R]) -> Callable[P, R]:
    """A change of HQ's visa reference data: the permission is checked at the caller's mission,
    the rows are written in the public schema (the caller's schema is back on return), and a
    new version is published when the caller's transaction commits (once, however many changes
    it holds; nothing if it rolls back)."""

    @functools.wraps(service)
    def change(*args: P.args, **kwargs: P.kwargs) -> R:
        acting_user = kwargs["acting_user"]
        _require_manager(acting_user)
        outermost = not _changing.get()
        token = _changing.set(True)
        try:
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                result = service(*args, **kwargs)
        finally:
            _changing.reset(token)
        if outermost:
            reference_publish_on_commit(acting_user=acting_user)
        return result

    return change


# --- Categories ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ItemInput:
    """One document of a category's checklist (`code` names it and never changes). Texts in
    English (the value every language falls back to) and Turkish (empty: the English one)."""

    code: str
    label: str
    label_tr: str = ""
    help_text: str = ""
    help_text_tr: str = ""
    kind: str = ItemKind.DOCUMENT
    required: bool = True
    order: int = 100


@dataclasses.dataclass(frozen=True)
class QuestionInput:
    """One question a category asks beyond the common form."""

    code: str
    label: str
    label_tr: str = ""
    kind: str = QuestionKind.TEXT
    required: bool = True
    order: int = 100


@dataclasses.dataclass(frozen=True)
class CategoryInput:
    """A category whole: `items` and `questions` are its complete checklist and questions.
    `mission` empty: every mission offers it; a mission's code: that mission only."""

    code: str
    name: str
    name_tr: str = ""
    description: str = ""
    description_tr: str = ""
    mission: str = ""
    visa_type: str = VisaType.SHORT_STAY
    fee_code: str = ""  # empty: the category's code
    processing_days: int = 15
    max_stay_days: int = 90
    order: int = 100
    active: bool = True
    items: Sequence[ItemInput] = ()
    questions: Sequence[QuestionInput] = ()


def _invalid(code: VisaReferenceError, message: Any, field: str) -> ApplicationError:
    return ApplicationError(code, message, field=field)


def _category_check(category: CategoryInput) -> None:
    error = VisaReferenceError.INVALID_CATEGORY
    if not re.fullmatch(CODE_REGEX, category.code):
        raise _invalid(
            error,
            _("A code is up to 30 lower-case letters, digits and underscores, from a letter."),
            "code",
        )
    if not category.name.strip():
        raise _invalid(error, _("A category needs a name in English."), "name")
    if len(category.name.strip()) > 100 or len(category.name_tr.strip()) > 100:
        raise _invalid(error, _("A name is at most 100 characters."), "name")
    if category.visa_type not in VisaType.values:
        raise _invalid(error, _("Unknown visa type."), "visa_type")
    fee_code = category.fee_code or category.code
    if not re.fullmatch(FEE_CODE_REGEX, fee_code):
        raise _invalid(
            error,
            _("A fee code is up to 20 lower-case letters, digits, hyphens and underscores."),
            "fee_code",
        )
    if not 1 <= category.processing_days <= 60:
        raise _invalid(
            error, _("The processing target is between 1 and 60 days."), "processing_days"
        )
    longest = 3650 if category.visa_type == VisaType.LONG_STAY else SHORT_STAY_MAX_DAYS
    if not 1 <= category.max_stay_days <= longest:
        raise _invalid(
            error,
            _("The longest stay for this visa type is between 1 and %(days)s days.")
            % {"days": longest},
            "max_stay_days",
        )
    if not 0 <= category.order <= 32767:
        raise _invalid(error, _("The order is a number from 0 to 32767."), "order")
    if category.mission and not (
        Mission.objects.filter(code=category.mission)
        .exclude(kind=MissionKind.HEADQUARTERS)
        .exists()
    ):
        raise _invalid(
            error,
            _("There is no mission “%(code)s”.") % {"code": category.mission},
            "mission",
        )
    _items_check(category.items)
    _questions_check(category.questions)


def _codes_check(codes: Iterable[str], error: VisaReferenceError, field: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if not re.fullmatch(CODE_REGEX, code):
            raise _invalid(
                error,
                _("“%(code)s” is not a code: up to 30 lower-case letters, digits and underscores.")
                % {"code": code},
                field,
            )
        if code in seen:
            raise _invalid(error, _("“%(code)s” is listed twice.") % {"code": code}, field)
        seen.add(code)


def _items_check(items: Sequence[ItemInput]) -> None:
    error = VisaReferenceError.INVALID_ITEM
    _codes_check((item.code for item in items), error, "items")
    for item in items:
        if not item.label.strip():
            raise _invalid(
                error, _("The document “%(code)s” needs a label.") % {"code": item.code}, "items"
            )
        if len(item.label.strip()) > 150 or len(item.label_tr.strip()) > 150:
            raise _invalid(error, _("A document's label is at most 150 characters."), "items")
        if item.kind not in ItemKind.values:
            raise _invalid(error, _("Unknown kind of document."), "items")
        if not 0 <= item.order <= 32767:
            raise _invalid(error, _("The order is a number from 0 to 32767."), "items")
    photos = [item for item in items if item.kind == ItemKind.PHOTO]
    # The visa and the e-visa carry the applicant's photo: every category asks for one.
    if len(photos) != 1 or not photos[0].required:
        raise _invalid(
            error, _("The checklist needs exactly one photo, and it is required."), "items"
        )


def _questions_check(questions: Sequence[QuestionInput]) -> None:
    error = VisaReferenceError.INVALID_QUESTION
    _codes_check((question.code for question in questions), error, "questions")
    for question in questions:
        if not question.label.strip():
            raise _invalid(
                error,
                _("The question “%(code)s” needs a label.") % {"code": question.code},
                "questions",
            )
        if len(question.label.strip()) > 200 or len(question.label_tr.strip()) > 200:
            raise _invalid(error, _("A question is at most 200 characters."), "questions")
        if question.kind not in QuestionKind.values:
            raise _invalid(error, _("Unknown kind of question."), "questions")
        if not 0 <= question.order <= 32767:
            raise _invalid(error, _("The order is a number from 0 to 32767."), "questions")


def _upsert(
    model: type[models.Model],
    existing: models.Model | None,
    lookup: dict[str, Any],
    values: dict[str, Any],
    acting_user: Any,
) -> models.Model:
    """Create the row, or change the fields that differ (a row unchanged is not saved, so its
    history and `updated_at` say when it last changed)."""
    if existing is None:
        row = model(**lookup, **values)
        set_acting_user(row, acting_user)
        row.save()
        return row
    changed = [field for field, value in values.items() if getattr(existing, field) != value]
    if changed:
        for field in changed:
            setattr(existing, field, values[field])
        set_acting_user(existing, acting_user)
        existing.save(update_fields=[*changed, "updated_at"])
    return existing


def _texts(field: str, english: str, turkish: str) -> dict[str, Any]:
    """A translated field's columns (modeltranslation): the plain one and `_en` hold English,
    `_tr` Turkish or None (Turkish readers then see the English)."""
    return {
        field: english.strip(),
        f"{field}_en": english.strip(),
        f"{field}_tr": turkish.strip() or None,
    }


@reference_change
def category_save(*, category: CategoryInput, acting_user: Any) -> tuple[VisaCategory, bool]:
    """Create the category (`category.code`, `category.mission`) or change it; returns
    (category, created). Its checklist and questions become the lists given (see the module's
    docstring for what a removed item means)."""
    _category_check(category)
    values = {
        **_texts("name", category.name, category.name_tr),
        **_texts("description", category.description, category.description_tr),
        "visa_type": category.visa_type,
        "fee_code": category.fee_code or category.code,
        "processing_days": category.processing_days,
        "max_stay_days": category.max_stay_days,
        "order": category.order,
        "active": category.active,
    }
    # `name` and the like are modeltranslation's: in English they read and write English.
    with transaction.atomic(), translation.override("en"):
        existing = (
            VisaCategory.objects.select_for_update()
            .filter(code=category.code, mission=category.mission)
            .first()
        )
        saved = _upsert(
            VisaCategory,
            existing,
            {"code": category.code, "mission": category.mission},
            values,
            acting_user,
        )
        if not isinstance(saved, VisaCategory):  # pragma: no cover - _upsert made it
            raise TypeError(saved)
        items = {item.code: item for item in ChecklistItem.objects.filter(category=saved)}
        for item in category.items:
            _upsert(
                ChecklistItem,
                items.pop(item.code, None),
                {"category": saved, "code": item.code},
                {
                    **_texts("label", item.label, item.label_tr),
                    **_texts("help_text", item.help_text, item.help_text_tr),
                    "kind": item.kind,
                    "required": item.required,
                    "order": item.order,
                },
                acting_user,
            )
        for gone in items.values():
            set_acting_user(gone, acting_user)
            gone.delete()
        questions = {q.code: q for q in CategoryQuestion.objects.filter(category=saved)}
        for question in category.questions:
            _upsert(
                CategoryQuestion,
                questions.pop(question.code, None),
                {"category": saved, "code": question.code},
                {
                    **_texts("label", question.label, question.label_tr),
                    "kind": question.kind,
                    "required": question.required,
                    "order": question.order,
                },
                acting_user,
            )
        for gone_question in questions.values():
            set_acting_user(gone_question, acting_user)
            gone_question.delete()
    return saved, existing is None


# --- Watchlist ----------------------------------------------------------------------------------


def spellings_normalise(names: Sequence[str] | str) -> list[str]:
    """One spelling per line (or per list element), in capitals, spaces collapsed, each once."""
    lines = (
        names.splitlines()
        if isinstance(names, str)
        else [line for name in names for line in name.splitlines()]
    )
    spellings: list[str] = []
    for line in lines:
        spelling = " ".join(line.upper().split())
        if spelling and spelling not in spellings:
            spellings.append(spelling)
    return spellings


@reference_change
def watchlist_entry_add(
    *,
    names: Sequence[str] | str,
    reason: str,
    acting_user: Any,
    birth_date: dt.date | None = None,
    birth_year_only: bool = False,
    nationality: str = "",
    expires_on: dt.date | None = None,
) -> WatchlistEntry:
    """Add a person to the watchlist: every known spelling of their name (surname first), the
    date of birth (or only its year: `birth_year_only`, kept as 1 January), the nationality as
    an ICAO code (“DEU”), why, and until when (None: until ended)."""
    error = VisaReferenceError.INVALID_WATCHLIST
    spellings = spellings_normalise(names)
    if not spellings:
        raise _invalid(error, _("Give at least one spelling of the name."), "names")
    if any(len(spelling) > SPELLING_MAX_LENGTH for spelling in spellings):
        raise _invalid(
            error,
            _("A spelling is at most %(length)s characters.") % {"length": SPELLING_MAX_LENGTH},
            "names",
        )
    if any(not any(c.isalpha() for c in spelling) for spelling in spellings):
        raise _invalid(error, _("Every spelling needs letters."), "names")
    today = timezone.localdate()
    if birth_date is not None and birth_date > today:
        raise _invalid(error, _("The date of birth is in the future."), "birth_date")
    if birth_year_only:
        if birth_date is None:
            raise _invalid(
                error, _("Give the year of birth, or leave “only the year” unticked."), "birth_date"
            )
        birth_date = dt.date(birth_date.year, 1, 1)
    nationality = nationality.strip().upper()
    if nationality and (len(nationality) != 3 or not code_is_known(nationality)):
        raise _invalid(
            error,
            _("“%(code)s” is not a three-letter nationality code (ICAO Doc 9303).")
            % {"code": nationality},
            "nationality",
        )
    reason = " ".join(reason.split())
    if not reason:
        raise _invalid(error, _("Say why the person is on the watchlist."), "reason")
    if len(reason) > 300:
        raise _invalid(error, _("The reason is at most 300 characters."), "reason")
    if expires_on is not None and expires_on <= today:
        raise _invalid(error, _("The end date must be after today."), "expires_on")
    with transaction.atomic():
        entry = WatchlistEntry(
            names="\n".join(spellings),
            birth_date=birth_date,
            birth_year_only=birth_year_only,
            nationality=nationality,
            reason=reason,
            expires_on=expires_on,
        )
        set_acting_user(entry, acting_user)
        entry.save()
    return entry


@reference_change
def watchlist_entry_end(*, entry: WatchlistEntry, acting_user: Any) -> WatchlistEntry:
    """End an entry now: it is no longer screened against (it stays, with its history)."""
    with transaction.atomic():
        locked = WatchlistEntry.objects.select_for_update().filter(pk=entry.pk).first()
        if locked is None:
            raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
        if locked.ended_at is not None:
            raise ApplicationError(
                VisaReferenceError.ENDED, _("This entry has already been ended.")
            )
        locked.ended_at = timezone.now()
        set_acting_user(locked, acting_user)
        locked.save(update_fields=["ended_at", "updated_at"])
    return locked


@reference_change
def category_active_set(*, category: VisaCategory, active: bool, acting_user: Any) -> VisaCategory:
    """Offer the category again, or retire it (applications already made keep it)."""
    with transaction.atomic():
        locked = VisaCategory.objects.select_for_update().filter(pk=category.pk).first()
        if locked is None:
            raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
        if locked.active != active:
            locked.active = active
            set_acting_user(locked, acting_user)
            locked.save(update_fields=["active", "updated_at"])
    return locked
