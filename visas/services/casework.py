"""The mission's side of a visa application: the completeness check (with its deadline for
corrections, and the deemed withdrawal when they do not come), the visit, the officer's
recommendation, the consul's decision (four eyes: never the officer who recommended, which the
database refuses too), the extension of the decision period, the appeal and the end of an issued
visa.

Every verb asks the permission table first (`Action.VISA_PROCESS`, `VISA_DECIDE`), then its
guard, then takes the application's lock (`visas/locks.py`, in its documented order) and writes
the change, its history, its event and the applicant's timeline step in one transaction; the
step's e-mail is queued on commit (`common.step_record`).

The legal clock: the decision is due `category.processing_days` calendar days after the file
became admissible, counted on the mission's local dates (a day is a day, whatever the clocks do
on a change to or from summer time), extendable up to `EXTENSION_MAX_DAYS` after it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from appointments.services import booking_visit_record
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError, CommonError, FieldRefusals
from consulate.kernel.history import set_acting_user
from consulate.kernel.text import text_clean
from fees.models import Assessment, AssessmentStatus
from fees.selectors import assessment_get
from fees.services import assessment_cancel
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from passports.devices import FingerprintDevice, fingerprints_keep, index_fingers_capture
from passports.models import Finger
from passports.services.common import four_eyes_require
from sync.services import SealedForHq, outbox_event_record

from .. import locks
from ..error_codes import VisaError
from ..events import VisaTopic
from ..models import (
    CLOCK_RUNNING,
    FORM_ITEM,
    FORM_LABEL,
    Appeal,
    AppealStatus,
    Entries,
    ItemReview,
    Recommendation,
    RefusalGround,
    ReviewStatus,
    Step,
    Upload,
    VisaApplication,
    VisaFingerprint,
    VisaStatus,
)
from ..reference.models import ChecklistItem, VisaCategory
from .common import step_record
from .issuance import MAX_VALIDITY_DAYS, visa_validity_check

# Corrections: the applicant has this many days unless the officer sets another date, never
# more than `CORRECTIONS_MAX_DAYS` ahead.
CORRECTIONS_DEFAULT_DAYS = 14
CORRECTIONS_MAX_DAYS = 60
# The decision period may be extended to at most this many days after admissibility (Visa
# Code, art. 23(2): up to 45 calendar days in individual cases).
EXTENSION_MAX_DAYS = 45
# A refusal may be appealed within this many calendar days of the decision, counted on the
# mission's local dates, in writing to the mission. The period is the law of the issuing state;
# 30 days is the common one and what the refusal letter tells the applicant.
APPEAL_DAYS = 30

# What a note, a reason or a statement the staff type keeps at most (`text_clean` refuses
# more, the typed text left in its box; the pages say the limit beside each box).
NOTE_LIMIT = 2000


# --- what the services share -----------------------------------------------------------------


def _text(value: Any, *, field: str, limit: int = NOTE_LIMIT) -> str:
    return text_clean(value, field=field, limit=limit, code=VisaError.INVALID)


def _reason(value: Any, *, field: str = "reason") -> str:
    text = _text(value, field=field)
    if not text:
        raise ApplicationError(VisaError.REASON_REQUIRED, _("State the reason."), field=field)
    return text


def grounds_clean(grounds: Iterable[str], *, field: str = "grounds") -> list[str]:
    """One or more of the standard grounds (`RefusalGround` codes), in the order of the list."""
    chosen = set(grounds or ())
    unknown = chosen - set(RefusalGround.values)
    if unknown:
        raise ApplicationError(
            VisaError.INVALID, _("Choose among the listed grounds."), field=field
        )
    if not chosen:
        raise ApplicationError(
            VisaError.GROUNDS_REQUIRED, _("Name at least one ground."), field=field
        )
    return [code for code in RefusalGround.values if code in chosen]


def grounds_labels(grounds: Iterable[str]) -> list[Any]:
    """The grounds in words (lazy: rendered in the reader's language)."""
    return [RefusalGround(code).label for code in grounds if code in RefusalGround.values]


def local_date(instant: dt.datetime) -> dt.date:
    """The mission's local date of `instant` (its business day)."""
    return timezone.localdate(instant, current_mission().zone)


def decision_due_on(*, category: VisaCategory, admissible_on: dt.date) -> dt.date:
    """The legal clock's end for a file that became admissible on `admissible_on` (the
    mission's local date): `category.processing_days` calendar days later. The one rule: the
    completeness check sets it, and the applicant is warned of an arrival before it."""
    return admissible_on + dt.timedelta(days=category.processing_days)


def category_of(application: VisaApplication) -> VisaCategory:
    """The application's category in the mission's copy of the reference data: the mission's
    own addition first, else the one every mission offers."""
    rows = VisaCategory.objects.filter(code=application.category).filter(
        mission__in=["", current_mission().code]
    )
    category = max(rows, key=lambda row: row.mission != "", default=None)
    if category is None:
        raise ApplicationError(
            VisaError.NO_CATEGORY, _("This visa category is not known at this mission.")
        )
    return category


def checklist_of(application: VisaApplication) -> list[ChecklistItem]:
    return list(ChecklistItem.objects.filter(category=category_of(application)))


def application_paid(*, application: VisaApplication) -> bool:
    """The fee is paid in full (its assessment settled), online or at the counter."""
    if application.assessment_id is None:
        return False
    return assessment_get(pk=application.assessment_id).status == AssessmentStatus.SETTLED


def appeal_deadline(application: VisaApplication) -> dt.date | None:
    """The last day (the mission's local date) to appeal a refusal."""
    if application.decided_at is None:
        return None
    return local_date(application.decided_at) + dt.timedelta(days=APPEAL_DAYS)


def extension_limit(application: VisaApplication) -> dt.date | None:
    if application.admissible_at is None:
        return None
    return local_date(application.admissible_at) + dt.timedelta(days=EXTENSION_MAX_DAYS)


def _facts(application: VisaApplication, category: VisaCategory | None = None) -> dict[str, Any]:
    """What every event of an application carries: ids and facts, no names."""
    try:
        category = category or category_of(application)
        visa_type = category.visa_type
    except ApplicationError:
        visa_type = ""
    return {
        "reference": application.reference,
        "category": application.category,
        "nationality": application.nationality,
        "visa_type": visa_type,
    }


def _sealed_identity(application: VisaApplication) -> SealedForHq:
    """Who a decision is about, for HQ's register of visa cases only (screening elsewhere)."""
    return SealedForHq(
        mission=current_mission().code,
        data={
            "surname": application.surname,
            "given_names": application.given_names,
            "birth_date": application.birth_date.isoformat() if application.birth_date else None,
            "passport_index": application.passport_index,
        },
    )


def _in_language(application: VisaApplication, message: Any, **values: Any) -> str:
    """`message` in the applicant's language (a step's note is read by them, on their page and
    in the e-mail), dates as the mission writes them."""
    with translation.override(application.language or "en"):
        rendered = {
            key: date_format(value, "j F Y") if isinstance(value, dt.date) else str(value)
            for key, value in values.items()
        }
        return str(message) % rendered if rendered else str(message)


def _grounds_note(application: VisaApplication, grounds: list[str], note: str) -> str:
    with translation.override(application.language or "en"):
        lines = [f"• {label}" for label in map(str, grounds_labels(grounds))]
    if note:
        lines += ["", note]
    return "\n".join(lines)


# --- the completeness check -------------------------------------------------------------------


def completeness_review(
    *,
    application: VisaApplication,
    decisions: dict[str, tuple[bool, str]],
    due_on: dt.date | None = None,
    acting_user: Any,
) -> VisaApplication:
    """The officer's word on every checklist item of a submitted application, and on the form
    itself (`decisions[FORM_ITEM]`): accepted, or a correction asked for with its reason. Nothing
    is taken as accepted that no check accepted: the form and every item with a file (or
    required) need a decision, and each one without is refused beside it, the message naming
    them all (an optional item nobody uploaded has nothing to review). On a re-check after
    corrections, what the last check accepted and has not changed since keeps its acceptance
    (`acceptances_kept`): only what was sent back, and what is new, is decided again, and a
    decision sent for a kept acceptance is refused (`NOT_ASKED`: a page read before the last
    check, or a forged request). All accepted: the file is complete and admissible, the legal
    clock starts and the applicant may book the visit. Otherwise the applicant is asked for the
    corrections by `due_on` (the mission's local date; 14 days by default), after which the
    application is deemed withdrawn. A correction asked on the form lets the applicant change
    its values until they send (`form_locked`, services/application.py)."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_PROCESS)
    category = category_of(application)
    items = checklist_of(application)
    codes = {item.code for item in items}
    unknown = set(decisions) - codes - {FORM_ITEM}
    if unknown:
        raise ApplicationError(
            VisaError.INVALID,
            _("These are not items of the checklist: %(items)s.") % {"items": ", ".join(unknown)},
        )
    current = {
        upload.item: upload
        for upload in Upload.objects.filter(application=application, is_current=True)
    }
    kept = acceptances_kept(
        reviews=ItemReview.objects.filter(application=application), current=current
    )
    names: dict[str, Any] = {FORM_ITEM: FORM_LABEL} | {item.code: item.label for item in items}
    decided_again = [code for code in names if code in kept and code in decisions]
    if decided_again:
        raise ApplicationError(
            VisaError.NOT_ASKED,
            _(
                "Accepted at the last check and not changed since, these keep their acceptance:"
                " %(items)s. Decide only what was sent back."
            )
            % {"items": ", ".join(str(names[code]) for code in decided_again)},
            field=f"item_{decided_again[0]}",
            errors={f"item_{code}": [str(KEPT_MESSAGE)] for code in decided_again},
        )
    reviewed: dict[str, tuple[bool, str]] = {}
    errors: dict[str, list[str]] = {}
    # not decided: {field: label}, for the message that names them
    undecided: dict[str, Any] = {}
    # a reason refused, by its field: none given, or one `text_clean` refuses
    refusals: dict[str, ApplicationError] = {}
    # the form first, as the officer's page shows it; then each item, with whether it needs a
    # file (required) and whether it has one (an optional item nobody uploaded: nothing to review)
    entries = [(FORM_ITEM, FORM_LABEL, False, True)] + [
        (item.code, item.label, item.required, item.code in current) for item in items
    ]
    entries = [entry for entry in entries if entry[0] not in kept]
    for code, label, needs_file, has_file in entries:
        accepted, reason = decisions.get(code, (None, ""))
        if accepted is None and not needs_file and not has_file:
            accepted = True
        if accepted is None:
            undecided[f"item_{code}"] = label
            errors[f"item_{code}"] = [str(_("Accept this item or ask for a correction."))]
            continue
        if accepted and needs_file and not has_file:
            errors[f"item_{code}"] = [
                str(_("Nothing was uploaded for this item: ask for it instead."))
            ]
            continue
        refusal = _decision_keep(code, bool(accepted), reason, reviewed=reviewed)
        if refusal is not None:
            errors[f"reason_{code}"] = [str(refusal.message)]
            refusals[f"reason_{code}"] = refusal
    if undecided:
        raise ApplicationError(
            VisaError.INVALID,
            _("Accept or ask for a correction on each item. Not decided: %(items)s.")
            % {"items": ", ".join(str(label) for label in undecided.values())},
            field=next(iter(undecided)),
            errors=errors,
        )
    if errors:
        field, messages = next(iter(errors.items()))
        first = refusals.get(field)
        raise ApplicationError(
            first.code if first is not None else VisaError.INVALID,
            messages[0],
            field=field,
            errors=errors,
        )
    complete = all(accepted for accepted, _reason_text in reviewed.values())
    today = current_mission().today()
    if not complete:
        due_on = due_on or today + dt.timedelta(days=CORRECTIONS_DEFAULT_DAYS)
        if not today < due_on <= today + dt.timedelta(days=CORRECTIONS_MAX_DAYS):
            raise ApplicationError(
                VisaError.DEADLINE,
                _("Give the applicant a date after today and at most %(days)s days ahead.")
                % {"days": CORRECTIONS_MAX_DAYS},
                field="due_on",
            )
    now = timezone.now()
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        application.move_to(VisaStatus.COMPLETE if complete else VisaStatus.CORRECTIONS)
        for code, (accepted, text) in reviewed.items():
            review = ItemReview.objects.filter(application=application, item=code).first()
            review = review or ItemReview(application=application, item=code)
            review.status = ReviewStatus.ACCEPTED if accepted else ReviewStatus.CORRECTION
            review.reason = text
            review.upload = current.get(code)
            review.reviewed_by_id = acting_user.pk
            review.corrected_at = None
            set_acting_user(review, acting_user)
            review.save()
        if complete:
            application.admissible_at = now
            application.decision_due_on = decision_due_on(
                category=category, admissible_on=local_date(now)
            )
            application.corrections_due_on = None
        else:
            application.corrections_due_on = due_on
        set_acting_user(application, acting_user)
        application.save(
            update_fields=[
                "status", "admissible_at", "decision_due_on", "corrections_due_on", "updated_at",
            ]
        )  # fmt: skip
        facts = _facts(application, category)
        if complete:
            outbox_event_record(
                topic=VisaTopic.APPLICATION_ADMISSIBLE,
                aggregate_id=application.pk,
                payload={
                    **facts,
                    "admissible_at": now.isoformat(),
                    "decision_due_on": str(application.decision_due_on),
                },
                acting_user=acting_user,
            )
            step_record(
                application=application,
                step=Step.COMPLETE,
                note=_in_language(
                    application,
                    _(
                        "Your application is complete. The mission decides on it by %(day)s"
                        " (%(zone)s). Book your appointment at the mission now."
                    ),
                    day=application.decision_due_on,
                    zone=current_mission().timezone,
                ),
                at=now,
            )
        else:
            asked = [code for code, decision in reviewed.items() if not decision[0]]
            outbox_event_record(
                topic=VisaTopic.APPLICATION_CORRECTIONS_ASKED,
                aggregate_id=application.pk,
                payload={**facts, "items": asked, "corrections_due_on": str(due_on)},
                acting_user=acting_user,
            )
            with translation.override(application.language or "en"):
                # each name as the applicant reads it (an item's: the reference's translation)
                labels = {FORM_ITEM: str(FORM_LABEL)} | {item.code: item.label for item in items}
                lines = [f"• {labels[code]}: {reviewed[code][1]}" for code in asked]
            lines += [
                "",
                _in_language(
                    application,
                    _(
                        "Send the corrections by %(day)s (%(zone)s). If they do not reach the"
                        " mission by then, the application is closed."
                    ),
                    day=due_on,
                    zone=current_mission().timezone,
                ),
            ]
            step_record(
                application=application,
                step=Step.CORRECTIONS_ASKED,
                note="\n".join(lines),
                at=now,
            )
    return application


# Beside an item whose acceptance a re-check keeps, when a decision is sent for it all the same.
KEPT_MESSAGE = _("Accepted at the last check and not changed since: it stays accepted.")


def acceptances_kept(
    *, reviews: Iterable[ItemReview], current: Mapping[str, Upload]
) -> dict[str, ItemReview]:
    """The acceptances of the last completeness check that the next one keeps, by item: an
    item accepted whose file is still the one the officer looked at (`current`: each item's
    current upload; none then and none now counts as the same), and the form accepted (it
    cannot change during corrections unless a correction was asked on it: `form_locked`). A
    file replaced since, an item asked to be corrected, an item new to the checklist: decided
    again. The re-check asks only what is not kept; the case page shows the kept ones as
    accepted, by whom and when."""
    return {
        review.item: review
        for review in reviews
        if review.status == ReviewStatus.ACCEPTED
        and (
            review.item == FORM_ITEM
            or review.upload_id == (current[review.item].pk if review.item in current else None)
        )
    }


def _decision_keep(
    code: str, accepted: bool, reason: Any, *, reviewed: dict[str, tuple[bool, str]]
) -> ApplicationError | None:
    """One decision of the completeness check into `reviewed`, or why not: a correction says
    what to correct, typed text under `text_clean`'s rule (the check names every refusal at
    once, each beside its box)."""
    try:
        text = "" if accepted else _text(reason, field=f"reason_{code}")
    except ApplicationError as refusal:
        return refusal
    if not accepted and not text:
        return ApplicationError(
            VisaError.REASON_REQUIRED, _("Say what to correct."), field=f"reason_{code}"
        )
    reviewed[code] = (accepted, text)
    return None


def _assessment_cancel_if_unpaid(application: VisaApplication) -> None:
    """A closed application's fee, when nothing was paid on it, is no longer owed."""
    if application.assessment_id is None:
        return
    assessment = Assessment.objects.filter(pk=application.assessment_id).first()
    if assessment is None or assessment.status != AssessmentStatus.OPEN:
        return
    try:
        with transaction.atomic():
            assessment_cancel(assessment=assessment, acting_user=SYSTEM)
    except ApplicationError:
        pass  # something was paid: the cashier refunds it with a credit note


def application_deem_withdrawn(*, application: VisaApplication) -> bool:
    """One application whose corrections are overdue, closed (beat, as SYSTEM); False when it
    was corrected or closed meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if (
            application.status != VisaStatus.CORRECTIONS
            or application.corrections_due_on is None
            or application.corrections_due_on >= local_date(now)
        ):
            return False
        application.move_to(VisaStatus.DEEMED_WITHDRAWN)
        application.closed_at = now
        set_acting_user(application, SYSTEM)
        application.save(update_fields=["status", "closed_at", "updated_at"])
        _assessment_cancel_if_unpaid(application)
        outbox_event_record(
            topic=VisaTopic.APPLICATION_DEEMED_WITHDRAWN,
            aggregate_id=application.pk,
            payload={**_facts(application), "closed_at": now.isoformat()},
            acting_user=SYSTEM,
        )
        step_record(
            application=application,
            step=Step.DEEMED_WITHDRAWN,
            note=_in_language(
                application,
                _(
                    "The corrections asked for were not made by %(day)s, so the application is"
                    " closed. You may apply again."
                ),
                day=application.corrections_due_on,
            ),
            at=now,
        )
    return True


def corrections_expire() -> int:
    """Every application of this mission whose corrections were due before today (the mission's
    local date) is deemed withdrawn; how many (beat, per mission)."""
    today = current_mission().today()
    overdue = VisaApplication.objects.filter(
        status=VisaStatus.CORRECTIONS, corrections_due_on__lt=today
    ).order_by("id")
    return sum(application_deem_withdrawn(application=application) for application in overdue)


# --- the visit --------------------------------------------------------------------------------


def application_attend(
    *,
    application: VisaApplication,
    identity_confirmed: bool,
    acting_user: Any,
    device: FingerprintDevice | None = None,
) -> VisaApplication:
    """At the visit: the officer has checked the person against the passport and the
    application, the fee is verified paid, and both index fingers are captured through the
    device (`passports.devices`; the simulator unless configured). A capture under the minimum
    quality is refused: nothing is recorded, capture again. The appointment's booking, if the
    application has one, follows in the same transaction
    (`appointments.services.booking_visit_record`: served on its day, cancelled by the mission
    with its place given back when the person came before it, else left as it is)."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_PROCESS)
    if not identity_confirmed:
        raise ApplicationError(
            VisaError.INVALID,
            _("Confirm that you checked the person's identity against the passport."),
            field="identity_confirmed",
        )
    if application.status != VisaStatus.COMPLETE:
        raise ApplicationError(
            CommonError.BAD_TRANSITION,
            _("The visit is recorded once, for a complete application."),
        )
    if not application_paid(application=application):
        raise ApplicationError(
            VisaError.NOT_PAID, _("The fee is not paid yet: the cashier takes it first.")
        )
    captures = index_fingers_capture(device=device, refused=VisaError.FINGERPRINT_QUALITY)
    now = timezone.now()
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if application.status != VisaStatus.COMPLETE:
            raise ApplicationError(
                CommonError.BAD_TRANSITION,
                _("The visit is recorded once, for a complete application."),
            )
        if application.booking_id is not None:
            # an internal step: VISA_PROCESS, checked above, is what allows it
            booking_visit_record(
                booking_id=application.booking_id, visited_at=now, acting_user=acting_user
            )
        fingerprints_keep(
            model=VisaFingerprint,
            captures=captures,
            acting_user=acting_user,
            application=application,
        )
        application.move_to(VisaStatus.ATTENDED)
        application.attended_at = now
        application.attended_by_id = acting_user.pk
        set_acting_user(application, acting_user)
        application.save(update_fields=["status", "attended_at", "attended_by_id", "updated_at"])
        outbox_event_record(
            topic=VisaTopic.APPLICATION_ATTENDED,
            aggregate_id=application.pk,
            payload={
                **_facts(application),
                "attended_at": now.isoformat(),
                "qualities": {finger: captures[finger].quality for finger in Finger.values},
            },
            acting_user=acting_user,
        )
        step_record(application=application, step=Step.ATTENDED, at=now)
    return application


# --- recommendation and decision ---------------------------------------------------------------


def application_recommend(
    *,
    application: VisaApplication,
    issue: bool,
    grounds: list[str] | None = None,
    note: str = "",
    acting_user: Any,
) -> VisaApplication:
    """The officer recommends issuing (a note is optional: the proposed validity, the number
    of entries) or refusing (one ground at least), once the latest screening is run after the
    last change to the application and has no match left to look at."""
    from .screening import screening_ready

    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_PROCESS)
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if application.status != VisaStatus.ATTENDED:
            raise ApplicationError(
                CommonError.BAD_TRANSITION,
                _("A recommendation is made after the visit, once per examination."),
            )
        screening_ready(application=application)
        # the case as it stands first, then every field refused at once (as the decision)
        refusals = FieldRefusals()
        chosen = [] if issue else refusals.check(lambda: grounds_clean(grounds or [])) or []
        text = refusals.check(lambda: _text(note, field="note")) or ""
        refusals.raise_any()
        application.move_to(VisaStatus.RECOMMENDED)
        application.recommendation = Recommendation.ISSUE if issue else Recommendation.REFUSE
        application.recommendation_grounds = chosen
        application.recommendation_note = text
        application.recommended_by_id = acting_user.pk
        application.recommended_at = timezone.now()
        set_acting_user(application, acting_user)
        application.save(
            update_fields=[
                "status", "recommendation", "recommendation_grounds", "recommendation_note",
                "recommended_by_id", "recommended_at", "updated_at",
            ]
        )  # fmt: skip
        outbox_event_record(
            topic=VisaTopic.APPLICATION_RECOMMENDED,
            aggregate_id=application.pk,
            payload={
                **_facts(application),
                "recommendation": application.recommendation,
                "grounds": chosen,
            },
            acting_user=acting_user,
        )
    return application


def _validity(
    application: VisaApplication,
    category: VisaCategory,
    *,
    valid_from: dt.date | None,
    valid_until: dt.date | None,
    entries: str | None,
    duration_days: int | None,
) -> tuple[dt.date, dt.date, str, int]:
    """The visa's validity: what the consul set, else the journey the applicant declared, judged
    by the rule the issue applies (`issuance.visa_validity_check`, every field at once)."""
    today = current_mission().today()
    horizon = today + dt.timedelta(days=MAX_VALIDITY_DAYS)
    start = valid_from if valid_from is not None else max(application.entry_date or today, today)
    # a default is worked out only from a first day within bounds: never an overflow
    if today <= start <= horizon:
        if valid_until is None:
            valid_until = (
                application.exit_date
                if application.exit_date and application.exit_date >= start
                else start + dt.timedelta(days=category.max_stay_days - 1)
            )
        if duration_days is None and valid_until <= horizon:
            duration_days = min(max((valid_until - start).days + 1, 1), category.max_stay_days)
    entries = entries or application.entries or Entries.SINGLE
    visa_validity_check(
        application=application, category=category, valid_from=start, valid_until=valid_until,
        entries=entries, duration_days=duration_days, today=today,
    )  # fmt: skip
    # the check refuses a missing last day or stay
    return start, cast(dt.date, valid_until), entries, cast(int, duration_days)


def _refusal_note(application: VisaApplication, grounds: list[str], note: str) -> str:
    """The refusal as the applicant reads it: the grounds in words, the consul's explanation,
    and how and by when to appeal."""
    deadline = appeal_deadline(application)
    mission = current_mission()
    with translation.override(application.language or "en"):
        # where to write, as the letter in the e-mail says it (missions/mail.py)
        where = f"{mission.name}, {mission.address_line}"
    appeal = _in_language(
        application,
        _(
            "You may appeal against this decision within %(days)s days, by %(day)s (%(zone)s):"
            " write to %(where)s, giving your reference %(reference)s and why the decision"
            " should be changed."
        ),
        days=APPEAL_DAYS,
        day=deadline,
        zone=mission.timezone,
        where=where,
        reference=application.reference,
    )
    return _grounds_note(application, grounds, note) + "\n\n" + appeal


def application_decide(
    *,
    application: VisaApplication,
    issue: bool,
    grounds: list[str] | None = None,
    note: str = "",
    acting_user: Any,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    entries: str | None = None,
    duration_days: int | None = None,
) -> VisaApplication:
    """A consul who did not recommend the case issues the visa (a number is taken and the
    visa composed, `issuance.visa_issue`) or refuses it on one ground or more, which the
    applicant reads with how to appeal. Only a recommended case (examined at the visit, its fee
    paid) is decided."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_DECIDE)
    now = timezone.now()
    try:
        with transaction.atomic():
            application = locks.application_lock(pk=application.pk)
            if application.status != VisaStatus.RECOMMENDED:
                raise ApplicationError(
                    CommonError.BAD_TRANSITION,
                    _(
                        "Only a recommended application is decided: complete, seen at the"
                        " visit and recommended by an officer."
                    ),
                )
            four_eyes_require(
                case=application, acting_user=acting_user, refused=VisaError.FOUR_EYES
            )
            if not application_paid(application=application):
                raise ApplicationError(VisaError.NOT_PAID, _("The fee is not paid."))
            # the case as it stands first (a case decided meanwhile says so), then every field
            # refused at once, judged against the locked case
            category = category_of(application)
            refusals = FieldRefusals()
            chosen = [] if issue else refusals.check(lambda: grounds_clean(grounds or [])) or []
            text = refusals.check(lambda: _text(note, field="note")) or ""
            validity = (
                refusals.check(
                    lambda: _validity(
                        application,
                        category,
                        valid_from=valid_from,
                        valid_until=valid_until,
                        entries=entries,
                        duration_days=duration_days,
                    )
                )
                if issue
                else None
            )
            refusals.raise_any()
            application.move_to(VisaStatus.ISSUED if issue else VisaStatus.REFUSED)
            application.decided_by_id = acting_user.pk
            application.decided_at = now
            fields = ["status", "decided_by_id", "decided_at", "updated_at"]
            issued_payload: dict[str, Any] = {}
            if validity is not None:
                from .issuance import ISSUE_FIELDS, visa_issue

                valid_from, valid_until, entries, duration_days = validity
                issued = visa_issue(
                    application=application,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    entries=entries,
                    duration_days=duration_days,
                    acting_user=acting_user,
                )
                issued_payload = issued.payload()
                fields += list(ISSUE_FIELDS)
            else:
                application.refusal_grounds = chosen
                application.refusal_note = text
                fields += ["refusal_grounds", "refusal_note"]
            set_acting_user(application, acting_user)
            application.save(update_fields=fields)
            facts = {**_facts(application, category), "decided_at": now.isoformat()}
            payload = {**facts, **issued_payload} if issue else {**facts, "grounds": chosen}
            outbox_event_record(
                topic=VisaTopic.APPLICATION_ISSUED if issue else VisaTopic.APPLICATION_REFUSED,
                aggregate_id=application.pk,
                payload=payload,
                acting_user=acting_user,
                sealed_for_hq=_sealed_identity(application),
            )
            step_record(
                application=application,
                step=Step.ISSUED if issue else Step.REFUSED,
                note=text if issue else _refusal_note(application, chosen, text),
                at=now,
            )
    except IntegrityError as error:
        if "visas_application_four_eyes" not in str(error):
            raise
        raise ApplicationError(
            VisaError.FOUR_EYES, _("You recommended this case: another consul decides it.")
        ) from None
    return application


def application_return(
    *, application: VisaApplication, reason: str, acting_user: Any
) -> VisaApplication:
    """A consul sends a recommended case back to the officers (to look again), with the reason;
    the recommendation is cleared and a new one is needed."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_DECIDE)
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if application.status != VisaStatus.RECOMMENDED:
            raise ApplicationError(
                CommonError.BAD_TRANSITION, _("Only a recommended case can be sent back.")
            )
        text = _reason(reason)  # after the case's state, as the decision's fields
        application.move_to(VisaStatus.ATTENDED)
        _recommendation_clear(application)
        set_acting_user(application, acting_user)
        application.save(update_fields=[*_RECOMMENDATION_FIELDS, "status", "updated_at"])
        outbox_event_record(
            topic=VisaTopic.APPLICATION_RETURNED,
            aggregate_id=application.pk,
            payload={**_facts(application), "reason": text},
            acting_user=acting_user,
        )
    return application


_RECOMMENDATION_FIELDS = [
    "recommendation", "recommendation_grounds", "recommendation_note", "recommended_by_id",
    "recommended_at",
]  # fmt: skip


def _recommendation_clear(application: VisaApplication) -> None:
    application.recommendation = ""
    application.recommendation_grounds = []
    application.recommendation_note = ""
    application.recommended_by_id = None
    application.recommended_at = None


# --- the legal clock ----------------------------------------------------------------------------


def deadline_extend(
    *, application: VisaApplication, until: dt.date, reason: str, acting_user: Any
) -> VisaApplication:
    """A consul extends the decision period (a case that needs more examination), to at most
    45 days after the file became admissible; the applicant reads the reason."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_DECIDE)
    text = _reason(reason)
    if not isinstance(until, dt.date):
        raise ApplicationError(VisaError.INVALID, _("Enter the date."), field="until")
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if application.status not in CLOCK_RUNNING:
            raise ApplicationError(
                CommonError.BAD_TRANSITION,
                _("Only an application waiting for its decision can be extended."),
            )
        limit = extension_limit(application)
        due = application.due_on
        if limit is None or due is None or not due < until <= limit:
            raise ApplicationError(
                VisaError.DEADLINE,
                _("Choose a day after %(due)s and no later than %(limit)s.")
                % {
                    "due": date_format(due, "j F Y") if due else "—",
                    "limit": date_format(limit, "j F Y") if limit else "—",
                },
                field="until",
            )
        application.extended_due_on = until
        application.extension_reason = text
        set_acting_user(application, acting_user)
        application.save(update_fields=["extended_due_on", "extension_reason", "updated_at"])
        outbox_event_record(
            topic=VisaTopic.APPLICATION_EXTENDED,
            aggregate_id=application.pk,
            payload={**_facts(application), "decision_due_on": until.isoformat()},
            acting_user=acting_user,
        )
        step_record(
            application=application,
            step=Step.EXTENDED,
            note=_in_language(
                application,
                _("The decision is now due by %(day)s (%(zone)s)."),
                day=until,
                zone=current_mission().timezone,
            )
            + "\n"
            + text,
        )
    return application


# --- the appeal ------------------------------------------------------------------------------


def appeal_record(
    *, application: VisaApplication, lodged_on: dt.date, statement: str, acting_user: Any
) -> Appeal:
    """An appeal against a refusal, received in writing within the appeal period, recorded by
    an officer or consul; another consul decides it."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_PROCESS)
    text = _reason(statement, field="statement")
    if not isinstance(lodged_on, dt.date):
        raise ApplicationError(VisaError.INVALID, _("Enter the date."), field="lodged_on")
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if application.status != VisaStatus.REFUSED:
            raise ApplicationError(CommonError.BAD_TRANSITION, _("Only a refusal is appealed."))
        deadline = appeal_deadline(application)
        decided_on = local_date(application.decided_at) if application.decided_at else None
        if (
            deadline is None
            or decided_on is None
            or not decided_on <= lodged_on <= deadline
            or lodged_on > current_mission().today()
        ):
            raise ApplicationError(
                VisaError.DEADLINE,
                _("An appeal is received between the decision and %(day)s, and not in the future.")
                % {"day": date_format(deadline, "j F Y") if deadline else "—"},
                field="lodged_on",
            )
        application.move_to(VisaStatus.APPEALED)
        set_acting_user(application, acting_user)
        application.save(update_fields=["status", "updated_at"])
        appeal = Appeal(
            application=application,
            lodged_on=lodged_on,
            statement=text,
            recorded_by_id=acting_user.pk,
            refused_by_id=application.decided_by_id,
        )
        set_acting_user(appeal, acting_user)
        appeal.save()
        outbox_event_record(
            topic=VisaTopic.APPEAL_LODGED,
            aggregate_id=application.pk,
            payload={
                **_facts(application),
                "appeal_id": appeal.pk,
                "lodged_on": lodged_on.isoformat(),
            },
            acting_user=acting_user,
        )
        step_record(application=application, step=Step.APPEALED)
    return appeal


def appeal_decide(*, appeal: Appeal, uphold: bool, note: str, acting_user: Any) -> Appeal:
    """A consul who did not record the appeal decides it: upheld, the refusal stands; granted,
    the application is examined again (a new recommendation and decision)."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_DECIDE)
    text = _reason(note, field="note")
    now = timezone.now()
    try:
        with transaction.atomic():
            application = locks.application_lock(pk=appeal.application_id)
            appeal = locks.appeal_lock(pk=appeal.pk)
            if appeal.status != AppealStatus.LODGED:
                raise ApplicationError(CommonError.BAD_TRANSITION, _("This appeal is decided."))
            if appeal.recorded_by_id == acting_user.pk:
                raise ApplicationError(
                    VisaError.FOUR_EYES, _("You recorded this appeal: another consul decides it.")
                )
            if acting_user.pk in (appeal.refused_by_id, application.decided_by_id):
                raise ApplicationError(
                    VisaError.FOUR_EYES,
                    _("You refused this application: another consul decides the appeal."),
                )
            appeal.move_to(AppealStatus.UPHELD if uphold else AppealStatus.GRANTED)
            appeal.decided_by_id = acting_user.pk
            appeal.decided_at = now
            appeal.decision_note = text
            set_acting_user(appeal, acting_user)
            appeal.save(update_fields=["status", "decided_by_id", "decided_at", "decision_note"])
            fields = ["status", "updated_at"]
            if uphold:
                application.move_to(VisaStatus.REFUSED)
            else:
                application.move_to(VisaStatus.ATTENDED)
                _recommendation_clear(application)
                application.decided_by_id = None
                application.decided_at = None
                application.refusal_grounds = []
                application.refusal_note = ""
                fields += [
                    *_RECOMMENDATION_FIELDS, "decided_by_id", "decided_at", "refusal_grounds",
                    "refusal_note",
                ]  # fmt: skip
            set_acting_user(application, acting_user)
            application.save(update_fields=fields)
            outbox_event_record(
                topic=VisaTopic.APPEAL_DECIDED,
                aggregate_id=application.pk,
                payload={
                    **_facts(application),
                    "appeal_id": appeal.pk,
                    "upheld": uphold,
                    "decided_at": now.isoformat(),
                },
                acting_user=acting_user,
            )
            step_record(
                application=application,
                step=Step.APPEAL_UPHELD if uphold else Step.APPEAL_GRANTED,
                note=text,
                at=now,
            )
    except IntegrityError as error:
        if "visas_appeal_four_eyes" not in str(error):
            raise
        raise ApplicationError(
            VisaError.FOUR_EYES, _("You recorded this appeal: another consul decides it.")
        ) from None
    return appeal


# --- the end of a visa ---------------------------------------------------------------------------


def visa_end(
    *,
    application: VisaApplication,
    revoke: bool,
    grounds: list[str],
    note: str = "",
    acting_user: Any,
) -> VisaApplication:
    """A consul annuls an issued visa (its conditions were never met) or revokes it (they no
    longer are), on one ground or more; HQ's register marks the visa number accordingly."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_DECIDE)
    chosen = grounds_clean(grounds)
    text = _text(note, field="note")
    now = timezone.now()
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if application.status != VisaStatus.ISSUED:
            raise ApplicationError(
                CommonError.BAD_TRANSITION, _("Only an issued visa is annulled or revoked.")
            )
        application.move_to(VisaStatus.REVOKED if revoke else VisaStatus.ANNULLED)
        application.ended_at = now
        application.ended_by_id = acting_user.pk
        application.end_grounds = chosen
        application.end_note = text
        set_acting_user(application, acting_user)
        application.save(
            update_fields=[
                "status", "ended_at", "ended_by_id", "end_grounds", "end_note", "updated_at",
            ]
        )  # fmt: skip
        outbox_event_record(
            topic=VisaTopic.VISA_REVOKED if revoke else VisaTopic.VISA_ANNULLED,
            aggregate_id=application.pk,
            payload={
                **_facts(application),
                "ended_at": now.isoformat(),
                "grounds": chosen,
                "visa_number_index": application.visa_number_index,
            },
            acting_user=acting_user,
        )
        step_record(
            application=application,
            step=Step.REVOKED if revoke else Step.ANNULLED,
            note=_grounds_note(application, chosen, text),
            at=now,
        )
    return application


__all__ = [
    "APPEAL_DAYS",
    "CORRECTIONS_DEFAULT_DAYS",
    "CORRECTIONS_MAX_DAYS",
    "EXTENSION_MAX_DAYS",
    "appeal_deadline",
    "appeal_decide",
    "appeal_record",
    "application_attend",
    "application_decide",
    "application_deem_withdrawn",
    "application_paid",
    "application_recommend",
    "application_return",
    "category_of",
    "checklist_of",
    "completeness_review",
    "corrections_expire",
    "deadline_extend",
    "extension_limit",
    "grounds_clean",
    "grounds_labels",
    "visa_end",
]
