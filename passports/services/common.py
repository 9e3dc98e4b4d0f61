"""What the passport services share: the cleaning of each field a person types, the steps a
case shows its citizen (with their e-mail), and the look-up in the lost and stolen reports."""

from __future__ import annotations

import datetime as dt
import importlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from consulate.kernel.tenancy import task_queue_on_commit
from consulate.kernel.text import date_clean, text_clean
from missions.selectors import current_mission

from ..error_codes import PassportError
from ..models import Application, ApplicationStep, Sex, Step

# The oldest date of birth taken: nobody alive was born earlier, and dates at the ends of the
# calendar (year 1, 9999) are refused with a message rather than stored.
OLDEST_BIRTH = dt.date(1900, 1, 1)
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-’][^\W\d_]+)*$")
_DOCUMENT = re.compile(r"^[A-Z0-9]{6,9}$")
_NATIONAL_ID = re.compile(r"^[A-Z0-9]{5,20}$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{6,24}$")
# What people type between the groups of a number: hyphens and dashes of every script (a
# Japanese keyboard gives "ー"), besides the spaces every code loses.
_SEPARATORS = str.maketrans("", "", "-‐‑‒–—―−ー")


@dataclass(frozen=True)
class NationalIdRule:
    """The issuing state's national identity number, as its citizens know it."""

    pattern: re.Pattern[str]
    # what the number is, when a value does not match the pattern
    message: Any
    # the field's hint: what to type and where to find it
    hint: Any
    # python-stdnum's module for it, whose check digits catch a slip of the keyboard on the form
    # rather than at the officer's desk; "" when there is none
    check: str = ""
    # all digits: the form asks for the numeric keyboard
    digits: bool = False


# By the issuing state's Doc 9303 code (CONSULATE_ISSUING_STATE). A state not listed is held to
# the general rule.
NATIONAL_ID_RULES = {
    "TUR": NationalIdRule(
        pattern=re.compile(r"^[0-9]{11}$"),
        message=_("Enter the national ID number: 11 digits."),
        hint=_("11 digits, on the front of your ID card."),
        check="stdnum.tr.tckimlik",
        digits=True,
    ),
}
NATIONAL_ID_GENERAL = NationalIdRule(
    pattern=_NATIONAL_ID,
    message=_("Enter the national ID number: 5 to 20 letters and digits."),
    hint=_("As on your national ID card: 5 to 20 letters and digits."),
)


def national_id_rule() -> NationalIdRule:
    """The rule of the issuing state's national identity number (the form's hint reads it)."""
    return NATIONAL_ID_RULES.get(settings.CONSULATE_ISSUING_STATE, NATIONAL_ID_GENERAL)


def _text(value: Any, *, field: str, limit: int) -> str:
    return text_clean(value, field=field, limit=limit, code=PassportError.INVALID)


def _name(value: Any, *, field: str) -> str:
    text = " ".join(_text(value, field=field, limit=100).split())
    if text and not _NAME.match(text):
        raise ApplicationError(
            PassportError.INVALID,
            _("Use letters only (spaces, hyphens and apostrophes between them are fine)."),
            field=field,
        )
    return text


def _code(value: Any, *, field: str, pattern: re.Pattern[str], message: Any) -> str:
    """A number a person typed, as kept: compatibility forms folded (NFKC: the full-width
    "１２３" of a Japanese or Chinese keyboard is "123"), in capitals, without the spaces and
    hyphens typed between its groups."""
    text = unicodedata.normalize("NFKC", _text(value, field=field, limit=40)).upper()
    text = "".join(text.split()).translate(_SEPARATORS)
    if text and not pattern.match(text):
        raise ApplicationError(PassportError.INVALID, message, field=field)
    return text


def _birth_date(value: Any, *, field: str = "birth_date") -> dt.date | None:
    if value in (None, ""):
        return None
    day = date_clean(value, field=field, code=PassportError.INVALID)
    if day is None:
        return None
    if not OLDEST_BIRTH <= day <= current_mission().today():
        raise ApplicationError(
            PassportError.INVALID,
            _("Enter a date of birth between 1900 and today."),
            field=field,
        )
    return day


def _height(value: Any, *, field: str = "height_cm") -> int | None:
    if value in (None, ""):
        return None
    try:
        height = int(str(value).strip())
    except ValueError:
        height = 0
    if not 30 <= height <= 260:
        raise ApplicationError(
            PassportError.INVALID, _("Enter the height in centimetres (30 to 260)."), field=field
        )
    return height


def _sex(value: Any, *, field: str = "sex") -> str:
    text = _text(value, field=field, limit=1).upper()
    if text and text not in Sex.values:
        raise ApplicationError(PassportError.INVALID, _("Choose one of the options."), field=field)
    return text


def _consent(value: Any, *, field: str = "other_parent_consent") -> bool:
    return str(value).lower() in {"1", "true", "on", "yes"}


# What a citizen may fill in on a draft, and how each value is cleaned. One place: the form,
# the draft's autosave and the submission all go through it.
FIELD_CLEANERS: dict[str, Callable[..., Any]] = {
    "surname": lambda v: _name(v, field="surname"),
    "given_names": lambda v: _name(v, field="given_names"),
    "birth_date": _birth_date,
    "birth_place": lambda v: _text(v, field="birth_place", limit=100),
    "sex": _sex,
    "national_id": lambda v: _national_id(v),
    "height_cm": _height,
    "address": lambda v: _text(v, field="address", limit=500),
    "phone": lambda v: _code_phone(v),
    "previous_document": lambda v: document_number_clean(v, field="previous_document"),
    "other_parent_name": lambda v: _name(v, field="other_parent_name"),
    "other_parent_consent": _consent,
}


def _national_id(value: Any, *, field: str = "national_id") -> str:
    rule = national_id_rule()
    text = _code(value, field=field, pattern=rule.pattern, message=rule.message)
    if text and rule.check and not importlib.import_module(rule.check).is_valid(text):
        raise ApplicationError(
            PassportError.INVALID,
            _("This national ID number is not valid: check each digit against the ID card."),
            field=field,
        )
    return text


def _code_phone(value: Any) -> str:
    text = " ".join(_text(value, field="phone", limit=24).split())
    if text and not _PHONE.match(text):
        raise ApplicationError(
            PassportError.INVALID,
            _("Enter a phone number with its country code, e.g. +49 30 1234567."),
            field="phone",
        )
    return text


def document_number_clean(value: Any, *, field: str = "document_number") -> str:
    return _code(
        value,
        field=field,
        pattern=_DOCUMENT,
        message=_("Enter the passport number: 6 to 9 letters and digits."),
    )


# Steps the citizen is not mailed about: the photo (they are on the page), HQ receiving the
# case and the arrival (the next e-mail, printed and ready, says it).
UNMAILED = frozenset({Step.PHOTO_ACCEPTED, Step.SENT, Step.ARRIVED})


def step_record(
    *,
    application: Application,
    step: Step,
    note: str = "",
    mail: bool = True,
    at: dt.datetime | None = None,
) -> None:
    """Add a step to the citizen's timeline (once per step; `at` when it happened elsewhere,
    at HQ) and queue its e-mail on commit."""
    from .. import tasks

    row, created = ApplicationStep.objects.get_or_create(
        application=application,
        step=step,
        defaults={"happened_at": at or timezone.now(), "note": note},
    )
    if created and mail and step not in UNMAILED:
        task_queue_on_commit(tasks.send_application_step, row.pk)


def four_eyes_require(*, case: Any, acting_user: Any, refused: Any) -> None:
    """The consul who decides never recommended this case: now, or before a send-back cleared
    the recommendation (its history remembers every recommender). Passports and visas alike;
    `refused` is the app's own error code."""
    recommended_before = case.history.filter(recommended_by_id=acting_user.pk).order_by().exists()
    if case.recommended_by_id == acting_user.pk or recommended_before:
        raise ApplicationError(refused, _("You recommended this case: another consul decides it."))
