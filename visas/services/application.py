"""The applicant's side of a visa application: start a draft for a category the mission offers,
save it as it is typed (from any device: the draft is the account's), add a file for each item of
the category's checklist, submit, send the corrections asked for, book the appointment once the
file is complete, withdraw.

During corrections only what the officer asked to correct changes: the file of an item asked
for, the form when a correction was asked on it; an accepted document or the identity the
officer checked and screened stays as it was.

Each verb checks that the application is the acting person's (anyone else's is not found) and
runs in one transaction with its history and outbox event; e-mails are queued on commit.

What a person types goes through `FIELD_CLEANERS`, one place for the form, the autosave and the
submission: a value is cleaned or refused with its message, never stored half-checked."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from appointments.models import Booking, Service, ServicePurpose
from appointments.selectors import booking_holds_place
from appointments.services import PersonInput, booking_cancel, booking_create
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from consulate.kernel.reference import country_name
from consulate.kernel.seal import country_alpha2
from consulate.kernel.text import date_clean, text_clean
from fees.models import SubjectType
from fees.reference.models import ServiceCode
from fees.services import assessment_create
from missions.selectors import current_mission
from passports.mrz.codes import code_is_known
from passports.photo import photo_check
from sync.services import outbox_event_record

from .. import locks
from ..error_codes import VisaError
from ..events import VisaTopic
from ..models import (
    FORM_ITEM,
    Entries,
    ItemReview,
    ReviewStatus,
    Sex,
    Step,
    Upload,
    VisaApplication,
    VisaStatus,
)
from ..reference.models import (
    CategoryQuestion,
    ChecklistItem,
    ItemKind,
    QuestionKind,
    VisaCategory,
    VisaType,
)
from .common import reference_new, step_record

# --- cleaning what a person types ------------------------------------------------------------

# Dates at the ends of the calendar (year 1, 9999) are refused with a message, never stored.
OLDEST_BIRTH = dt.date(1900, 1, 1)
# A journey is planned at most this far ahead (a visa is applied for at most six months before
# the journey under the Visa Code; two years leaves room for a long stay's plans).
JOURNEY_HORIZON_DAYS = 730
# A passport's validity is read within this many years of today either way.
PASSPORT_YEARS = 20
# The Visa Code (art. 12): the passport is valid at least three months after the departure.
PASSPORT_VALID_AFTER_EXIT_DAYS = 90
# Text limits: a name, a one-line text, an address, a declaration.
NAME_LIMIT = 100
LINE_LIMIT = 200
ADDRESS_LIMIT = 500
TEXT_LIMIT = 2000
ANSWER_LIMIT = 1000

_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-’.][^\W\d_]+)*\.?$")
# A foreign passport's number: 6 to 9 letters and digits (Doc 9303's document number field).
_PASSPORT = re.compile(r"^[A-Z0-9]{6,9}$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{6,24}$")
# The form's field for a category's question `code`.
QUESTION_PREFIX = "q_"
# The missing list's key for a checklist item `code`.
ITEM_PREFIX = "item_"


def _invalid(message: Any, field: str) -> ApplicationError:
    return ApplicationError(VisaError.INVALID, message, field=field)


def _text(value: Any, *, field: str, limit: int) -> str:
    return text_clean(value, field=field, limit=limit, code=VisaError.INVALID)


def _name(value: Any, *, field: str) -> str:
    text = " ".join(_text(value, field=field, limit=NAME_LIMIT).split())
    if text and not _NAME.match(text):
        raise _invalid(
            _("Use letters only (spaces, hyphens and apostrophes between them are fine)."), field
        )
    return text


def _date(value: Any, *, field: str) -> dt.date | None:
    return date_clean(value, field=field, code=VisaError.INVALID)


def _birth_date(value: Any, *, field: str = "birth_date") -> dt.date | None:
    day = _date(value, field=field)
    if day is not None and not OLDEST_BIRTH <= day <= current_mission().today():
        raise _invalid(_("Enter a date of birth between 1900 and today."), field)
    return day


def _journey_date(value: Any, *, field: str) -> dt.date | None:
    day = _date(value, field=field)
    if day is None:
        return None
    today = current_mission().today()
    if day < today:
        raise _invalid(_("This date is in the past."), field)
    if day > today + dt.timedelta(days=JOURNEY_HORIZON_DAYS):
        raise _invalid(_("Apply at most two years before the journey."), field)
    return day


def _passport_expiry(value: Any, *, field: str = "passport_expires_on") -> dt.date | None:
    day = _date(value, field=field)
    if day is None:
        return None
    today = current_mission().today()
    low = today.replace(year=today.year - PASSPORT_YEARS, day=min(today.day, 28))
    high = today.replace(year=today.year + PASSPORT_YEARS, day=min(today.day, 28))
    if not low <= day <= high:
        raise _invalid(_("Enter the expiry date printed in the passport."), field)
    if day < today:
        raise _invalid(_("This passport has expired."), field)
    return day


def _state_code(value: Any, *, field: str) -> str:
    """An ICAO Doc 9303 code of a state (three letters, Germany "D"), as in the passport's
    machine-readable zone."""
    text = _text(value, field=field, limit=3).upper().rstrip("<")
    if text and not code_is_known(text):
        raise _invalid(
            _("Enter the three-letter code printed in the passport, e.g. TUR, DEU or USA."), field
        )
    return text


def _nationality(value: Any) -> str:
    """The applicant's nationality: a state's code, and not the issuing state's own, whose
    citizens need no visa to enter it (they apply for a passport)."""
    text = _state_code(value, field="nationality")
    own = settings.CONSULATE_ISSUING_STATE
    if text and text == own:
        raise _invalid(
            _("Citizens of %(country)s need no visa to enter it: apply for a passport instead.")
            % {"country": country_name(country_alpha2(own) or own)},
            "nationality",
        )
    return text


def _passport_number(value: Any, *, field: str = "passport_number") -> str:
    text = "".join(_text(value, field=field, limit=40).upper().split()).replace("-", "")
    if text and not _PASSPORT.match(text):
        raise _invalid(_("Enter the passport number: 6 to 9 letters and digits."), field)
    return text


def _phone(value: Any, *, field: str = "phone") -> str:
    text = " ".join(_text(value, field=field, limit=24).split())
    if text and not _PHONE.match(text):
        raise _invalid(_("Enter a phone number with its country code, e.g. +49 30 1234567."), field)
    return text


def _choice(value: Any, *, field: str, choices: list[str]) -> str:
    text = _text(value, field=field, limit=2).upper()
    if text and text not in choices:
        raise _invalid(_("Choose one of the options."), field)
    return text


def _entries(value: Any, *, field: str = "entries") -> str:
    text = _choice(value, field=field, choices=list(Entries.values))
    return text or Entries.SINGLE


# The fields typed as free text, with what each keeps at most (`text_clean` refuses more; the
# form's boxes say the limit, and none cuts a pasted text).
TEXT_LIMITS: dict[str, int] = {
    "birth_place": NAME_LIMIT,
    "address": ADDRESS_LIMIT,
    "occupation": LINE_LIMIT,
    "stay_address": ADDRESS_LIMIT,
    "host_name": LINE_LIMIT,
    "host_address": ADDRESS_LIMIT,
    "previous_visas": TEXT_LIMIT,
    "previous_refusals": TEXT_LIMIT,
    "means": TEXT_LIMIT,
}


def _free_text(name: str) -> Callable[[Any], str]:
    return lambda value: _text(value, field=name, limit=TEXT_LIMITS[name])


# What an applicant may fill in, and how each value is cleaned. One place: the form, the
# draft's autosave and the submission all go through it. The category's own questions
# (`q_<code>`) are cleaned by their kind (`_answer`).
FIELD_CLEANERS: dict[str, Callable[[Any], Any]] = {
    # identity and passport
    "surname": lambda v: _name(v, field="surname"),
    "given_names": lambda v: _name(v, field="given_names"),
    "birth_date": _birth_date,
    "birth_place": _free_text("birth_place"),
    "sex": lambda v: _choice(v, field="sex", choices=list(Sex.values)),
    "nationality": _nationality,
    "passport_number": _passport_number,
    "passport_issuing_state": lambda v: _state_code(v, field="passport_issuing_state"),
    "passport_expires_on": _passport_expiry,
    "address": _free_text("address"),
    "phone": _phone,
    "occupation": _free_text("occupation"),
    # the journey
    "entry_date": lambda v: _journey_date(v, field="entry_date"),
    "exit_date": lambda v: _journey_date(v, field="exit_date"),
    "entries": _entries,
    "stay_address": _free_text("stay_address"),
    # host or employer
    "host_name": _free_text("host_name"),
    "host_address": _free_text("host_address"),
    # previous visas and refusals
    "previous_visas": _free_text("previous_visas"),
    "previous_refusals": _free_text("previous_refusals"),
    # means of support
    "means": _free_text("means"),
}
# The steps of the form, in order, and the fields each one shows.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "identity": (
        "surname", "given_names", "birth_date", "birth_place", "sex", "nationality",
        "passport_number", "passport_issuing_state", "passport_expires_on", "address", "phone",
        "occupation",
    ),
    "travel": ("entry_date", "exit_date", "entries", "stay_address"),
    "host": ("host_name", "host_address"),
    "history": ("previous_visas", "previous_refusals"),
    "means": ("means",),
}  # fmt: skip
# What every application needs before it is submitted (the host too for a long stay).
REQUIRED = (
    "surname", "birth_date", "birth_place", "sex", "nationality", "passport_number",
    "passport_issuing_state", "passport_expires_on", "address", "phone", "occupation",
    "entry_date", "exit_date", "stay_address", "means",
)  # fmt: skip
_INDEXED = {"surname": "surname_index", "passport_number": "passport_index"}


def _answer(question: CategoryQuestion, value: Any) -> str:
    name = QUESTION_PREFIX + question.code
    if question.kind == QuestionKind.DATE:
        day = _date(value, field=name)
        if day is None:
            return ""
        if not OLDEST_BIRTH <= day <= dt.date(2100, 12, 31):
            raise _invalid(_("Enter a date between 1900 and 2100."), name)
        return day.isoformat()
    if question.kind == QuestionKind.YES_NO:
        text = _text(value, field=name, limit=20).lower()
        if text not in ("", "yes", "no"):
            raise _invalid(_("Answer yes or no."), name)
        return text
    return _text(value, field=name, limit=ANSWER_LIMIT)


def application_answers(*, application: VisaApplication) -> dict[str, str]:
    """The category's questions' answers so far: {question code: answer}."""
    if not application.answers:
        return {}
    try:
        answers = json.loads(application.answers)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in answers.items()} if isinstance(answers, dict) else {}


def application_category(*, application: VisaApplication) -> VisaCategory | None:
    """The application's category as offered here (a per-mission addition first)."""
    code = current_mission().code
    return (
        VisaCategory.objects.filter(code=application.category, mission__in=["", code])
        .order_by("-mission")
        .first()
    )


def category_items(*, category: VisaCategory | None) -> list[ChecklistItem]:
    return list(category.items.order_by("order", "code")) if category is not None else []


def category_questions(*, category: VisaCategory | None) -> list[CategoryQuestion]:
    return list(category.questions.order_by("order", "code")) if category is not None else []


@dataclass
class DraftCleaned:
    """What a batch of typed values comes to: each valid value cleaned (by field), the answers
    merged into the ones already given, and each refused value's message."""

    values: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, str] | None = None
    errors: dict[str, str] = field(default_factory=dict)


def draft_values_clean(*, application: VisaApplication, data: Mapping[str, Any]) -> DraftCleaned:
    """Clean each value `data` holds (unknown names are ignored), then check the journey as a
    whole against what is already saved: the departure not before the arrival, the stay no
    longer than the category allows."""
    result = DraftCleaned()
    for name, raw in data.items():
        cleaner = FIELD_CLEANERS.get(name)
        if cleaner is None:
            continue
        try:
            result.values[name] = cleaner(raw)
        except ApplicationError as error:
            result.errors[name] = str(error.message)
    category = application_category(application=application)
    questions = {q.code: q for q in category_questions(category=category)}
    given: dict[str, Any] = {}
    raw_answers = data.get("answers")
    if isinstance(raw_answers, Mapping):
        given.update({str(k): v for k, v in raw_answers.items()})
    for name, raw in data.items():
        if isinstance(name, str) and name.startswith(QUESTION_PREFIX):
            given[name[len(QUESTION_PREFIX) :]] = raw
    if given:
        answers = application_answers(application=application)
        changed = False
        for code, raw in given.items():
            question = questions.get(code)
            if question is None:
                continue
            try:
                answer = _answer(question, raw)
            except ApplicationError as error:
                result.errors[QUESTION_PREFIX + code] = str(error.message)
                continue
            if answers.get(code, "") != answer:
                answers[code] = answer
                changed = True
        if changed:
            result.answers = {k: v for k, v in answers.items() if v != ""}
    _journey_check(application=application, category=category, result=result)
    return result


_JOURNEY = ("entry_date", "exit_date")


def _changed(application: VisaApplication, result: DraftCleaned, name: str) -> bool:
    return name in result.values and result.values[name] != getattr(application, name)


def _journey_refuse(result: DraftCleaned, blame: str, message: Any) -> None:
    """Refuse the journey's dates as a pair: the message on `blame`, and neither date kept
    from this batch, so that what is stored never pairs a new date with a saved one it
    contradicts (the database refuses that: `visas_application_journey`)."""
    result.errors.setdefault(blame, str(message))
    for name in _JOURNEY:
        result.values.pop(name, None)


def _journey_check(
    *, application: VisaApplication, category: VisaCategory | None, result: DraftCleaned
) -> None:
    """The dates as they would be once saved (the new values over the saved ones; a refused
    value leaves the saved one): the departure not before the arrival, the stay no longer than
    the category allows, the passport valid three months after the departure. The value that
    changed is blamed (the departure first), and nothing of the conflict is stored."""
    entry = result.values.get("entry_date", application.entry_date)
    exit_ = result.values.get("exit_date", application.exit_date)
    expires = result.values.get("passport_expires_on", application.passport_expires_on)
    exit_changed = _changed(application, result, "exit_date")
    entry_changed = _changed(application, result, "entry_date")
    if entry is not None and exit_ is not None and (entry_changed or exit_changed):
        if exit_ < entry:
            if exit_changed:
                _journey_refuse(
                    result, "exit_date", _("The departure cannot be before the arrival.")
                )
            else:
                _journey_refuse(
                    result, "entry_date", _("The arrival cannot be after the departure.")
                )
            return
        stay = (exit_ - entry).days + 1  # both days count as days of stay
        if category is not None and stay > category.max_stay_days:
            _journey_refuse(
                result,
                "exit_date" if exit_changed else "entry_date",
                _("This visa is for a stay of at most %(days)s days; you entered %(stay)s.")
                % {"days": category.max_stay_days, "stay": stay},
            )
            return
    # the Visa Code (art. 12): the passport outlasts the departure by three months
    expires_changed = _changed(application, result, "passport_expires_on")
    if expires is None or exit_ is None or not (expires_changed or exit_changed):
        return
    if expires >= exit_ + dt.timedelta(days=PASSPORT_VALID_AFTER_EXIT_DAYS):
        return
    if expires_changed:
        result.errors.setdefault(
            "passport_expires_on",
            str(_("The passport must be valid at least three months after your departure.")),
        )
        result.values.pop("passport_expires_on", None)
    else:
        # the last departure this passport allows; when that is before the arrival (or before
        # today), no earlier date helps: only a newer passport does
        latest = expires - dt.timedelta(days=PASSPORT_VALID_AFTER_EXIT_DAYS)
        if latest < max(entry or latest, current_mission().today()):
            message = _(
                "Your passport is valid until %(expires)s, not three months after this journey:"
                " apply with a newer passport."
            ) % {"expires": formats.date_format(expires, "j F Y")}
        else:
            message = _(
                "Your passport must be valid three months after your departure: leave by"
                " %(latest)s at the latest, or apply with a newer passport."
            ) % {"latest": formats.date_format(latest, "j F Y")}
        _journey_refuse(result, "exit_date", message)


# --- who may do what -------------------------------------------------------------------------


def _require_owner(application: VisaApplication, acting_user: Any) -> None:
    if not getattr(acting_user, "is_authenticated", False) or application.user_id != acting_user.pk:
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))


def _require_editable(application: VisaApplication) -> None:
    """The form and the files change in a draft, and while corrections are asked for (then
    only what the officer asked to correct: `_require_form_open`, `_require_item_asked`)."""
    if application.status not in (VisaStatus.DRAFT, VisaStatus.CORRECTIONS):
        raise ApplicationError(
            CommonError.BAD_TRANSITION,
            _("This application was submitted and can no longer be changed."),
        )
    if application.status == VisaStatus.CORRECTIONS:
        _corrections_in_time(application)


def correction_asked(*, application: VisaApplication, item: str) -> ItemReview | None:
    """The correction the last completeness check asked for on `item` (a checklist item's code,
    or `FORM_ITEM` for the form itself), made or not yet; None when it asked for none there."""
    return ItemReview.objects.filter(
        application=application, item=item, status=ReviewStatus.CORRECTION
    ).first()


# Why the form's values cannot change during corrections: said by the refusal, and by the
# form's pages, which show the values as text then.
FORM_NOT_ASKED = _(
    "The officer did not ask for a correction on the form: during corrections, only what "
    "the officer asked to correct can be changed."
)


def form_locked(*, application: VisaApplication, status: str | None = None) -> bool:
    """During corrections the form changes only when the officer asked for a correction on it
    (`FORM_ITEM`): everything else was checked as it stands (and the applicant screened under
    that identity). `status`: the application's as read under its lock, when that is held."""
    return (status or application.status) == VisaStatus.CORRECTIONS and (
        correction_asked(application=application, item=FORM_ITEM) is None
    )


def _require_form_open(application: VisaApplication, *, status: str, names: list[str]) -> None:
    """A change to `names` while the form is locked (`form_locked`) is refused, each named with
    the message."""
    if not names or not form_locked(application=application, status=status):
        return
    raise ApplicationError(
        VisaError.NOT_ASKED,
        FORM_NOT_ASKED,
        field=names[0],
        errors={name: [str(FORM_NOT_ASKED)] for name in names},
    )


def _require_item_asked(application: VisaApplication, *, status: str, item: str) -> None:
    """During corrections a file is replaced only for an item the officer asked to correct:
    the others were accepted as they are, and stay so."""
    if status != VisaStatus.CORRECTIONS:
        return
    if correction_asked(application=application, item=item) is not None:
        return
    raise ApplicationError(
        VisaError.NOT_ASKED,
        _(
            "This document was not asked for again: only the documents the officer asked to "
            "correct can be replaced."
        ),
        field="item",
    )


def _corrections_in_time(application: VisaApplication) -> None:
    """Corrections are made by their deadline (the mission's date); after it nothing changes
    while beat closes the application."""
    due = application.corrections_due_on
    if due is not None and current_mission().today() > due:
        raise ApplicationError(
            VisaError.DEADLINE,
            _("The corrections were due by %(day)s: the application is closed.")
            % {"day": due.isoformat()},
        )


def _language(language: str | None) -> str:
    language = language or translation.get_language() or "en"
    return language if language in dict(settings.LANGUAGES) else "en"


def _facts(application: VisaApplication) -> dict[str, Any]:
    """What every event of an application carries besides its own facts."""
    category = application_category(application=application)
    return {
        "reference": application.reference,
        "category": application.category,
        "nationality": application.nationality,
        "visa_type": category.visa_type if category is not None else "",
    }


# --- the verbs -------------------------------------------------------------------------------


def application_start(
    *, category: str, acting_user: User, language: str | None = None
) -> VisaApplication:
    """A new draft for the signed-in person, for a category this mission offers."""
    from ..selectors import categories_offered

    if not getattr(acting_user, "is_authenticated", False):
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
    offered = {row.code for row in categories_offered()}
    if str(category) not in offered:
        raise ApplicationError(
            VisaError.NO_CATEGORY,
            _("Choose one of the visas this mission offers."),
            field="category",
        )
    for attempt in range(5):
        application = VisaApplication(
            reference=reference_new(),
            user_id=acting_user.pk,
            email=acting_user.email,
            language=_language(language),
            category=str(category),
        )
        try:
            with transaction.atomic():
                set_acting_user(application, acting_user)
                application.save()
                outbox_event_record(
                    topic=VisaTopic.APPLICATION_STARTED,
                    aggregate_id=application.pk,
                    payload=_facts(application),
                    acting_user=acting_user,
                )
        except IntegrityError:
            if attempt == 4:
                raise
            continue
        return application
    raise AssertionError("unreachable")


@dataclass
class DraftSaved:
    application: VisaApplication
    saved: list[str] = field(default_factory=list)
    # field -> message, for each value that was not saved
    errors: dict[str, str] = field(default_factory=dict)


def _draft_store(
    *, application: VisaApplication, cleaned: DraftCleaned, acting_user: User
) -> list[str]:
    changed = _changes(application, cleaned)
    if not changed and cleaned.answers is None:
        return []
    try:
        with transaction.atomic():
            locked = locks.application_lock(pk=application.pk)
            _require_editable(locked)
            _require_form_open(
                application, status=locked.status, names=_attempted(application, cleaned)
            )
            for name in changed:
                setattr(application, name, cleaned.values[name])
            update = list(changed)
            update += [_INDEXED[name] for name in changed if name in _INDEXED]
            if cleaned.answers is not None:
                application.answers = json.dumps(cleaned.answers, ensure_ascii=False)
                update.append("answers")
                changed.append("answers")
            application.status = locked.status
            set_acting_user(application, acting_user)
            application.save(update_fields=[*update, "updated_at"])
            if locked.status == VisaStatus.CORRECTIONS:
                _form_correction_mark(application=application, acting_user=acting_user)
    except IntegrityError as error:
        application.refresh_from_db()
        if "visas_application_one_open_per_passport" not in str(error):
            raise
        raise _already_open() from None
    return changed


def _changes(application: VisaApplication, cleaned: DraftCleaned) -> list[str]:
    """The fields whose cleaned value differs from the saved one."""
    return [name for name, value in cleaned.values.items() if getattr(application, name) != value]


def _attempted(application: VisaApplication, cleaned: DraftCleaned) -> list[str]:
    """What a batch tries to change: the fields that differ, those refused (a refused value is
    not the saved one) and the answers when one differs. A field sent as it is saved (a step's
    page sends every field) changes nothing."""
    names = _changes(application, cleaned)
    names += [name for name in cleaned.errors if name not in names]
    if cleaned.answers is not None and "answers" not in names:
        names.append("answers")
    return names


def _already_open() -> ApplicationError:
    return ApplicationError(
        VisaError.ALREADY_OPEN,
        _(
            "An application for this passport is already open at this mission: follow it, or "
            "withdraw it before you apply again."
        ),
        field="passport_number",
    )


def application_draft_save(
    *, application: VisaApplication, data: Mapping[str, Any], acting_user: User
) -> VisaApplication:
    """Save the form's values (unknown names are ignored). Anything refused refuses the whole
    batch, each value with its message (`errors`), and nothing is changed."""
    _require_owner(application, acting_user)
    _require_editable(application)
    cleaned = draft_values_clean(application=application, data=data)
    _require_form_open(
        application, status=application.status, names=_attempted(application, cleaned)
    )
    if cleaned.errors:
        first = next(iter(cleaned.errors))
        raise ApplicationError(
            VisaError.INVALID,
            cleaned.errors[first],
            field=first,
            errors={name: [message] for name, message in cleaned.errors.items()},
        )
    _draft_store(application=application, cleaned=cleaned, acting_user=acting_user)
    return application


def application_draft_autosave(
    *, application: VisaApplication, data: Mapping[str, Any], acting_user: User
) -> DraftSaved:
    """What the page sends as it is typed: each valid value is kept, each refused one is left
    as it was and answered with its message (nothing invalid is ever stored)."""
    _require_owner(application, acting_user)
    _require_editable(application)
    cleaned = draft_values_clean(application=application, data=data)
    _require_form_open(
        application, status=application.status, names=_attempted(application, cleaned)
    )
    saved = _draft_store(application=application, cleaned=cleaned, acting_user=acting_user)
    return DraftSaved(application=application, saved=saved, errors=cleaned.errors)


def _correction_made(*, application: VisaApplication, item: str, acting_user: User) -> None:
    """During corrections, `item`'s file was uploaded again: the correction asked for on it, if
    any, counts as made (the application's lock is held). The form's is `_form_correction_mark`."""
    review = correction_asked(application=application, item=item)
    if review is None or review.corrected_at is not None:
        return
    review.corrected_at = timezone.now()
    set_acting_user(review, acting_user)
    review.save(update_fields=["corrected_at", "updated_at"])


def _form_correction_mark(*, application: VisaApplication, acting_user: User) -> None:
    """The form was saved during corrections (the application's lock is held, its history row
    written): the correction asked for on it counts as made while some value differs from the
    form as it was when asked (`form_as_asked`); changed back, it is outstanding again."""
    review = correction_asked(application=application, item=FORM_ITEM)
    if review is None:
        return
    before = form_as_asked(application=application)
    made = before is None or bool(form_changed_fields(before=before, after=application))
    if made == (review.corrected_at is not None):
        return
    review.corrected_at = timezone.now() if made else None
    set_acting_user(review, acting_user)
    review.save(update_fields=["corrected_at", "updated_at"])


# What the applicant fills in on the form: the fields, then the category's own questions.
FORM_FIELDS = (*FIELD_CLEANERS, "answers")


def form_as_asked(*, application: VisaApplication) -> VisaApplication | None:
    """The form as it stood when the last completeness check asked for corrections: the
    application's history row just before its last run in corrections (the check changes no
    value of the form, and nothing does while the application waits for it). None when it never
    was in corrections. Encrypted values read back from the history as they were."""
    history = application.history.order_by("-history_date", "-history_id")
    last = history.filter(status=VisaStatus.CORRECTIONS).first()
    if last is None:
        return None
    before = (
        history.filter(history_date__lt=last.history_date)
        .exclude(status=VisaStatus.CORRECTIONS)
        .first()
    )
    return before.instance if before is not None else None


def form_changed_fields(*, before: VisaApplication, after: VisaApplication) -> list[str]:
    """The names in `FORM_FIELDS` whose values differ between two states of one application
    (the answers compared as what they say, not as their JSON text)."""
    changed = [name for name in FIELD_CLEANERS if getattr(before, name) != getattr(after, name)]
    if application_answers(application=before) != application_answers(application=after):
        changed.append("answers")
    return changed


def application_upload_add(
    *, application: VisaApplication, item: str, data: bytes, filename: str, acting_user: User
) -> Upload:
    """Add the file for one checklist item: checked (`visas.uploads.upload_check`; a photo also
    as a passport photo, ICAO's rules), stored re-encoded and encrypted, and current for the item;
    the one it replaces stays on record. A refused file keeps nothing."""
    from ..uploads import upload_check

    _require_owner(application, acting_user)
    _require_editable(application)
    category = application_category(application=application)
    checklist = {row.code: row for row in category_items(category=category)}
    entry = checklist.get(str(item))
    if entry is None:
        raise _invalid(_("Choose one of the documents of the checklist."), "item")
    _require_item_asked(application, status=application.status, item=entry.code)
    name = filename_clean(filename)
    checked = upload_check(data=data, filename=name, kind=entry.kind)
    content, content_type, sha256 = checked.content, checked.content_type, checked.sha256
    if entry.kind == ItemKind.PHOTO:
        photo = photo_check(data=checked.content)
        if not photo.ok or photo.jpeg is None:
            messages = [str(problem.label) for problem in photo.problems]
            raise ApplicationError(
                VisaError.UPLOAD_REFUSED,
                " ".join(messages),
                field="file",
                errors={"file": messages},
                details={"problems": [str(problem.value) for problem in photo.problems]},
            )
        content, content_type = photo.jpeg, "image/jpeg"
        sha256 = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        locked = locks.application_lock(pk=application.pk)
        _require_editable(locked)
        _require_item_asked(application, status=locked.status, item=entry.code)
        # the file it replaces stays on record, no longer the current one (with history)
        for previous in Upload.objects.filter(
            application=application, item=entry.code, is_current=True
        ):
            previous.is_current = False
            set_acting_user(previous, acting_user)
            previous.save(update_fields=["is_current", "updated_at"])
        upload = Upload(
            application=application,
            item=entry.code,
            content=base64.b64encode(content).decode("ascii"),
            content_type=content_type,
            filename=name,
            size=len(content),
            sha256=sha256,
            pages=checked.pages,
            is_current=True,
        )
        set_acting_user(upload, acting_user)
        upload.save()
        if locked.status == VisaStatus.CORRECTIONS:
            _correction_made(application=application, item=entry.code, acting_user=acting_user)
    return upload


def filename_clean(filename: Any) -> str:
    """The name the applicant's device gave the file, kept only to show it back: control
    characters and folders dropped, at most 200 characters. It decides nothing."""
    text = unicodedata.normalize("NFC", str(filename or ""))
    text = "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cs"))
    return text.replace("\\", "/").rsplit("/", 1)[-1].strip()[:LINE_LIMIT]


def application_missing(*, application: VisaApplication) -> dict[str, str]:
    """What still stops the submission (or, during corrections, their sending), each named: a
    field (its form name), a question (`q_<code>`), a checklist item (`item_<code>`) -> what to
    do."""
    missing: dict[str, str] = {}
    category = application_category(application=application)
    needed = list(REQUIRED)
    if category is not None and category.visa_type == VisaType.LONG_STAY:
        needed += ["host_name", "host_address"]
    for name in needed:
        if getattr(application, name) in (None, ""):
            missing[name] = str(_("This is needed."))
    if category is None or not category.active:
        missing["category"] = str(_("This visa is no longer offered: start a new application."))
    answers = application_answers(application=application)
    questions = category_questions(category=category)
    if application.status == VisaStatus.CORRECTIONS and form_locked(application=application):
        # a question HQ added since the check cannot be answered while the form is not asked
        # for: the officer's next check decides on the form as it stands
        questions = []
    for question in questions:
        if question.required and not answers.get(question.code):
            missing[QUESTION_PREFIX + question.code] = str(_("Answer this question."))
    current = set(
        Upload.objects.filter(application=application, is_current=True).values_list(
            "item", flat=True
        )
    )
    items = category_items(category=category)
    if application.status == VisaStatus.CORRECTIONS:
        # a document HQ added to the checklist since the check is not asked for yet (nor can it
        # be uploaded now: `_require_item_asked`): the officer's next check asks for it
        reviewed = set(
            ItemReview.objects.filter(application=application).values_list("item", flat=True)
        )
        items = [item for item in items if item.code in reviewed]
    for item in items:
        if item.required and item.code not in current:
            if item.kind == ItemKind.PHOTO:
                missing[ITEM_PREFIX + item.code] = str(_("Add a photo that passes the checks."))
            else:
                missing[ITEM_PREFIX + item.code] = str(_("Add this document."))
    today = current_mission().today()
    if application.entry_date is not None and application.entry_date < today:
        missing["entry_date"] = str(_("This date is in the past."))
    if application.passport_expires_on is not None:
        if application.passport_expires_on < today:
            missing["passport_expires_on"] = str(
                _("This passport has expired: apply with a valid one.")
            )
        elif application.exit_date is not None and application.passport_expires_on < (
            application.exit_date + dt.timedelta(days=PASSPORT_VALID_AFTER_EXIT_DAYS)
        ):
            missing["passport_expires_on"] = str(
                _("The passport must be valid at least three months after your departure.")
            )
    return missing


def _incomplete(missing: dict[str, str]) -> ApplicationError:
    return ApplicationError(
        VisaError.INCOMPLETE,
        _("Some of the application is missing."),
        errors={name: [message] for name, message in missing.items()},
    )


def application_submit(*, application: VisaApplication, acting_user: User) -> VisaApplication:
    """Send the application to the mission. From a draft: everything needed is there; the fee is
    assessed at the schedule's rate for the category (and nationality where it differs), to be
    paid online or at the appointment. From corrections: every correction asked for is made (its
    item uploaded again, or the form changed)."""
    _require_owner(application, acting_user)
    if application.status == VisaStatus.CORRECTIONS:
        return _corrections_send(application=application, acting_user=acting_user)
    if application.status != VisaStatus.DRAFT:
        raise ApplicationError(
            CommonError.BAD_TRANSITION, _("This application was submitted already.")
        )
    missing = application_missing(application=application)
    if missing:
        raise _incomplete(missing)
    category = application_category(application=application)
    if category is None:  # application_missing says so; a race with HQ's change
        raise _incomplete({"category": str(_("This visa is no longer offered."))})
    now = timezone.now()
    try:
        with transaction.atomic():
            locked = locks.application_lock(pk=application.pk)
            if locked.status != VisaStatus.DRAFT:
                raise ApplicationError(
                    CommonError.BAD_TRANSITION, _("This application was submitted already.")
                )
            application.move_to(VisaStatus.SUBMITTED)
            application.submitted_at = now
            update = ["status", "submitted_at", "updated_at"]
            if locked.assessment_id is None:
                assessment = assessment_create(
                    subject_type=SubjectType.CASE,
                    subject_ref=application.reference,
                    subject_path=reverse("visas:application", args=[application.reference]),
                    payer_name=f"{application.given_names} {application.surname}".strip(),
                    payer_language=application.language,
                    services=[ServiceCode.VISA],
                    visa_category=category.fee_code,
                    nationality=country_alpha2(application.nationality) or "",
                    acting_user=SYSTEM,
                )
                application.assessment_id = assessment.pk
                update.append("assessment_id")
            set_acting_user(application, acting_user)
            application.save(update_fields=update)
            outbox_event_record(
                topic=VisaTopic.APPLICATION_SUBMITTED,
                aggregate_id=application.pk,
                payload={
                    **_facts(application),
                    "submitted_at": now.isoformat(),
                    "assessment_id": application.assessment_id,
                },
                acting_user=acting_user,
            )
            step_record(application=application, step=Step.SUBMITTED)
    except IntegrityError as error:
        application.refresh_from_db()
        if "visas_application_one_open_per_passport" not in str(error):
            raise
        raise _already_open() from None
    return application


def review_items(*, category: VisaCategory | None) -> set[str]:
    """What a completeness check of an application in `category` reviews now: the form
    (`FORM_ITEM`) and each item of the category's checklist as it stands. An application keeps
    no copy of the checklist: HQ's change reaches every open application (an item added is asked
    for at the next check, an item removed is no longer asked for). The category's prefetched
    items are used when there are."""
    if category is None:
        return {FORM_ITEM}
    return {FORM_ITEM, *(item.code for item in category.items.all())}


def corrections_outstanding(*, application: VisaApplication) -> list[ItemReview]:
    """The corrections asked for and not yet made, on the form or on an item still in the
    checklist. One on an item HQ removed from the checklist since lapses: nothing can be
    uploaded for it any more, so it never stops the sending (the officer's case lists it as
    withdrawn: `selectors_casework.case_corrections_withdrawn`)."""
    reviewed = review_items(category=application_category(application=application))
    return [
        review
        for review in ItemReview.objects.filter(
            application=application, status=ReviewStatus.CORRECTION, corrected_at__isnull=True
        )
        if review.item in reviewed
    ]


def _corrections_send(*, application: VisaApplication, acting_user: User) -> VisaApplication:
    _corrections_in_time(application)
    outstanding = corrections_outstanding(application=application)
    missing = application_missing(application=application)
    if outstanding:
        for review in outstanding:
            missing.setdefault(
                ITEM_PREFIX + review.item,
                str(_("Correct this as asked: %(reason)s") % {"reason": review.reason}),
            )
    if missing:
        raise _incomplete(missing)
    now = timezone.now()
    try:
        with transaction.atomic():
            locked = locks.application_lock(pk=application.pk)
            if locked.status != VisaStatus.CORRECTIONS:
                raise ApplicationError(
                    CommonError.BAD_TRANSITION, _("These corrections were sent already.")
                )
            application.move_to(VisaStatus.SUBMITTED)
            set_acting_user(application, acting_user)
            application.save(update_fields=["status", "updated_at"])
            outbox_event_record(
                topic=VisaTopic.APPLICATION_CORRECTED,
                aggregate_id=application.pk,
                payload={**_facts(application), "corrected_at": now.isoformat()},
                acting_user=acting_user,
            )
            step_record(application=application, step=Step.CORRECTED)
    except IntegrityError as error:
        application.refresh_from_db()
        if "visas_application_one_open_per_passport" not in str(error):
            raise
        raise _already_open() from None
    return application


def visit_service() -> Service:
    """The appointment service the visa appointment is booked through (its purpose, set once on
    the mission's service settings)."""
    service = Service.objects.filter(purpose=ServicePurpose.VISA, is_active=True).first()
    if service is None:
        raise ApplicationError(
            VisaError.NO_VISIT_SERVICE,
            _("This mission does not take visa appointments online. Please call it."),
        )
    return service


def application_visit_book(
    *, application: VisaApplication, slot_id: int, acting_user: User
) -> VisaApplication:
    """Book the appointment (identity, fingerprints, the fee) once the file is complete; the
    booking is linked to the application. A booking made already is moved from its own page."""
    _require_owner(application, acting_user)
    if not application.can_book():
        raise ApplicationError(
            VisaError.NOT_COMPLETE,
            _("The appointment is booked once the mission has found your file complete."),
        )
    booked = _("Your appointment is booked already; you can move it from the booking's page.")
    if booking_holds_place(booking_id=application.booking_id):
        raise ApplicationError(VisaError.INVALID, booked)
    service = visit_service()
    with transaction.atomic():
        locked = locks.application_lock(pk=application.pk)
        if not locked.can_book():
            raise ApplicationError(
                VisaError.NOT_COMPLETE,
                _("The appointment is booked once the mission has found your file complete."),
            )
        if booking_holds_place(booking_id=locked.booking_id):
            raise ApplicationError(VisaError.INVALID, booked)
        booking = booking_create(
            slot_id=slot_id,
            service=service,
            persons=[
                PersonInput(
                    full_name=f"{application.given_names} {application.surname}".strip(),
                    date_of_birth=application.birth_date or dt.date(1900, 1, 1),
                    document_number=application.passport_number,
                )
            ],
            user=acting_user,
            language=application.language,
            acting_user=acting_user,
            from_case=True,
        )
        application.booking_id = booking.pk
        set_acting_user(application, acting_user)
        application.save(update_fields=["booking_id", "updated_at"])
        step_record(application=application, step=Step.BOOKED)
    return application


def application_withdraw(*, application: VisaApplication, acting_user: User) -> VisaApplication:
    """The applicant withdraws, up to the appointment. A booked appointment is given back to
    others; a fee already paid is refunded by the cashier (fees app)."""
    _require_owner(application, acting_user)
    now = timezone.now()
    with transaction.atomic():
        locked = locks.application_lock(pk=application.pk)
        if not locked.can_withdraw():
            raise ApplicationError(
                CommonError.BAD_TRANSITION,
                _("This application can no longer be withdrawn: the mission has examined it."),
            )
        was_draft = locked.status == VisaStatus.DRAFT
        application.status = locked.status
        application.move_to(VisaStatus.WITHDRAWN)
        set_acting_user(application, acting_user)
        application.save(update_fields=["status", "updated_at"])
        booking = (
            Booking.objects.filter(pk=locked.booking_id).first()
            if locked.booking_id is not None
            else None
        )
        if booking is not None and booking.can_cancel():
            booking_cancel(booking=booking, acting_user=acting_user)
        outbox_event_record(
            topic=VisaTopic.APPLICATION_WITHDRAWN,
            aggregate_id=application.pk,
            payload={**_facts(application), "closed_at": now.isoformat(), "was_draft": was_draft},
            acting_user=acting_user,
        )
        if not was_draft:
            step_record(application=application, step=Step.WITHDRAWN)
    return application
