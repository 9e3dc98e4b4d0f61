"""Reads of the mission's visa casework: the officers' queue with the legal clock, a case with
its checklist, uploads, screening and appeals. A read that checks access fetches and checks in
one call and answers "not found" (404) both for what does not exist and for what is not the
reader's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import Field, Q, QuerySet
from django.http import Http404
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext

from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError
from missions.permissions import Action, permission_require
from missions.selectors import current_mission

from .models import (
    CLOCK_RUNNING,
    FORM_ITEM,
    OPEN,
    Appeal,
    AppealStatus,
    ItemReview,
    ReviewStatus,
    Screening,
    ScreeningHit,
    Upload,
    VisaApplication,
    VisaStatus,
)
from .reference.models import CategoryQuestion, ChecklistItem, VisaCategory
from .services.application import (
    application_answers,
    form_as_asked,
    form_changed_fields,
    review_items,
)
from .services.casework import acceptances_kept, category_of
from .services.screening import hit_detail, last_change, screening_latest


def application_get_for_staff(*, reference: str, acting_user: Any) -> VisaApplication:
    """A case for the mission's staff; a draft does not exist for them yet."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_VIEW)
    application = (
        VisaApplication.objects.exclude(status=VisaStatus.DRAFT)
        .filter(reference=str(reference)[:12].upper())
        .first()
    )
    if application is None:
        raise Http404
    return application


def staff_status_label(
    application: VisaApplication,
    booking_starts_at: dt.datetime | None,
    recheck: int | None = None,
) -> str:
    """The status in the staff's words (the model's labels speak to the applicant): a complete
    application waits for its appointment, booked or not; one sent back with its corrections
    waits for a re-check (`recheck`: how many corrections to check again, `rechecks`), not for
    its first check."""
    if application.status == VisaStatus.SUBMITTED and recheck is not None:
        if not recheck:
            return gettext("Corrections received: re-check")
        return ngettext(
            "Corrections received: %(count)s item to re-check",
            "Corrections received: %(count)s items to re-check",
            recheck,
        ) % {"count": recheck}
    if application.status == VisaStatus.COMPLETE:
        if booking_starts_at is None:
            return gettext("Complete: waiting for the appointment")
        mission = current_mission()
        when = formats.date_format(booking_starts_at.astimezone(mission.zone), "j F Y, H:i")
        return gettext("Complete: appointment on %(when)s (%(zone)s)") % {
            "when": when,
            "zone": mission.timezone,
        }
    return str(application.get_status_display())


def bookings_starts(applications: list[VisaApplication]) -> dict[int, dt.datetime]:
    """When each booked appointment starts, by booking id (one query)."""
    from appointments.models import Booking

    ids = [a.booking_id for a in applications if a.booking_id is not None]
    if not ids:
        return {}
    return {
        booking.pk: booking.slot.starts_at
        for booking in Booking.objects.filter(pk__in=ids).select_related("slot")
    }


def categories_here() -> dict[str, VisaCategory]:
    """The categories of this mission's copy of the reference data by code, the mission's own
    addition over the one every mission offers (as `casework.category_of`), their checklists
    prefetched. Two queries."""
    rows = VisaCategory.objects.filter(mission__in=["", current_mission().code])
    # "" sorts first: the mission's own row comes after, and stays
    return {row.code: row for row in rows.order_by("mission").prefetch_related("items")}


def rechecks(
    applications: list[VisaApplication], categories: dict[str, VisaCategory]
) -> dict[int, int]:
    """For each application sent back with its corrections (waiting for the completeness check
    again: it was checked before), by id, how many corrections the officer checks again: those
    on the form or on an item still in its category's checklist (`review_items`; one on an item
    HQ removed since has lapsed). An application waiting for its first check is not in it. One
    query whatever the list's length."""
    waiting = {a.pk: a for a in applications if a.status == VisaStatus.SUBMITTED}
    found: dict[int, int] = {}
    reviews = ItemReview.objects.filter(
        application_id__in=[a.pk for a in applications], application__status=VisaStatus.SUBMITTED
    ).values_list("application_id", "item", "status")
    for application_id, item, status in reviews:
        application = waiting.get(application_id)
        if application is None:
            continue
        found.setdefault(application_id, 0)
        if status == ReviewStatus.CORRECTION and item in review_items(
            category=categories.get(application.category)
        ):
            found[application_id] += 1
    return found


@dataclass(frozen=True)
class QueueRow:
    application: VisaApplication
    category_name: str
    status_label: str
    age_days: int
    # the legal clock: the decision's due date (extended or not) and days left (negative: late)
    due_on: dt.date | None
    days_left: int | None
    overdue: bool
    # corrections: by when the applicant must send them
    corrections_due_on: dt.date | None

    @property
    def days_late(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0


def application_queue(
    *, acting_user: Any, status: str = "", query: str = "", limit: int = 200
) -> list[QueueRow]:
    """The officers' work queue: open cases (or those of one status), oldest first, each with
    its age and, while the legal clock runs, its due date and the days left; a case sent back
    with its corrections says it waits for a re-check, and how many corrections. `query` finds a
    case by its reference, or exactly by surname (its blind index). The same queries whatever
    the length (the cases, the categories and their checklists, the bookings, the reviews)."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_VIEW)
    cases: QuerySet[VisaApplication] = VisaApplication.objects.exclude(status=VisaStatus.DRAFT)
    if status in VisaStatus.values and status != VisaStatus.DRAFT:
        cases = cases.filter(status=status)
    elif not query:
        cases = cases.filter(status__in=OPEN)
    text = str(query).strip()[:100]
    if text and "\x00" not in text:
        cases = cases.filter(Q(reference=text.upper()) | Q(surname_index__matches=text))
    mission = current_mission()
    zone = mission.zone
    today = mission.today()
    categories = categories_here()
    rows = []
    applications = list(cases.order_by("submitted_at", "id")[:limit])
    starts = bookings_starts([a for a in applications if a.status == VisaStatus.COMPLETE])
    again = rechecks(applications, categories)
    for application in applications:
        start = application.submitted_at or application.created_at
        due = application.due_on if application.status in CLOCK_RUNNING else None
        days_left = (due - today).days if due else None
        rows.append(
            QueueRow(
                application=application,
                category_name=categories[application.category].name
                if application.category in categories
                else application.category,
                status_label=staff_status_label(
                    application,
                    starts.get(application.booking_id) if application.booking_id else None,
                    again.get(application.pk),
                ),
                age_days=(today - start.astimezone(zone).date()).days,
                due_on=due,
                days_left=days_left,
                overdue=days_left is not None and days_left < 0,
                corrections_due_on=application.corrections_due_on
                if application.status == VisaStatus.CORRECTIONS
                else None,
            )
        )
    return rows


@dataclass(frozen=True)
class ChecklistRow:
    item: ChecklistItem
    upload: Upload | None
    review: ItemReview | None
    # the applicant changed it since a correction was asked for
    corrected: bool


def case_checklist(*, application: VisaApplication) -> list[ChecklistRow]:
    """Each item of the category's checklist with its current upload and its last review."""
    try:
        items = list(ChecklistItem.objects.filter(category=category_of(application)))
    except ApplicationError:  # a category gone from the reference: no checklist to show
        items = []
    uploads = {
        upload.item: upload
        for upload in Upload.objects.filter(application=application, is_current=True).defer(
            "content"
        )
    }
    reviews = {review.item: review for review in ItemReview.objects.filter(application=application)}
    return [
        ChecklistRow(
            item=item,
            upload=uploads.get(item.code),
            review=reviews.get(item.code),
            corrected=bool(reviews.get(item.code) and reviews[item.code].corrected_at),
        )
        for item in items
    ]


@dataclass(frozen=True)
class KeptAcceptance:
    """An acceptance the re-check keeps (`casework.acceptances_kept`): on which day (the
    mission's local date) and by whom."""

    on: dt.date
    by: str


def completeness_kept(
    *, checklist: list[ChecklistRow], form_review: ItemReview | None
) -> dict[str, KeptAcceptance]:
    """By item (`FORM_ITEM` for the form), the acceptances of the last completeness check that
    the next one keeps, as the case page's check shows them instead of a choice: from the rows
    the page has read (`case_checklist`, `case_form_review`), and one query for the names."""
    reviews = [row.review for row in checklist if row.review is not None]
    reviews += [form_review] if form_review is not None else []
    current = {row.item.code: row.upload for row in checklist if row.upload is not None}
    kept = acceptances_kept(reviews=reviews, current=current)
    if not kept:
        return {}
    names = {
        user.pk: user.get_full_name() or user.email
        for user in User.objects.filter(pk__in={review.reviewed_by_id for review in kept.values()})
    }
    zone = current_mission().zone
    return {
        code: KeptAcceptance(
            on=review.updated_at.astimezone(zone).date(), by=names.get(review.reviewed_by_id, "")
        )
        for code, review in kept.items()
    }


@dataclass(frozen=True)
class WithdrawnRow:
    """A correction asked for on an item HQ has since removed from the checklist: lapsed."""

    upload: Upload | None
    review: ItemReview


def case_corrections_withdrawn(*, application: VisaApplication) -> list[WithdrawnRow]:
    """The corrections asked for on items no longer in the category's checklist (HQ removed
    them since the check): they lapsed (`services.application.corrections_outstanding`), and
    the case shows each by its code (the mission's copy of the reference keeps no name for an
    item gone), with the reason and the file that was current."""
    try:
        reviewed = review_items(category=category_of(application))
    except ApplicationError:  # a category gone from the reference: no checklist to show
        return []
    lapsed = [
        review
        for review in ItemReview.objects.filter(
            application=application, status=ReviewStatus.CORRECTION
        )
        if review.item not in reviewed
    ]
    if not lapsed:
        return []
    uploads = {
        upload.item: upload
        for upload in Upload.objects.filter(
            application=application, is_current=True, item__in=[row.item for row in lapsed]
        ).defer("content")
    }
    return [WithdrawnRow(upload=uploads.get(review.item), review=review) for review in lapsed]


def case_form_review(*, application: VisaApplication) -> ItemReview | None:
    """The last completeness check's word on the form itself (`FORM_ITEM`), if any."""
    return ItemReview.objects.filter(application=application, item=FORM_ITEM).first()


def answer_words(kind: str, value: object) -> str:
    """An answer as a person reads it: yes or no in the reader's language, a date in words."""
    text = str(value if value is not None else "").strip()
    if not text:
        return ""
    if kind == "yes_no":
        if text.lower() in ("yes", "true", "1", "on"):
            return gettext("Yes")
        if text.lower() in ("no", "false", "0", "off"):
            return gettext("No")
    if kind == "date":
        try:
            return formats.date_format(dt.date.fromisoformat(text), "j F Y")
        except ValueError:
            return text
    return text


@dataclass(frozen=True)
class FormChange:
    """One value of the form the applicant changed, as a person reads it."""

    label: str
    old: str
    new: str


def _form_field(name: str) -> Field[Any, Any]:
    """A field of the form (`FIELD_CLEANERS`): a column, never a relation."""
    return cast("Field[Any, Any]", VisaApplication._meta.get_field(name))


def _form_value(application: VisaApplication, name: str) -> str:
    """A field's value as the case page writes it: a choice by its label, a date in words
    ("4 February 1988"), nothing as a dash."""
    value = getattr(application, name)
    if value is None or value == "":
        return "—"
    field = _form_field(name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, dt.date):
        return formats.date_format(value, "j F Y")
    return str(value)


def case_form_changes(
    *, application: VisaApplication, review: ItemReview | None
) -> list[FormChange] | None:
    """What the applicant changed on the form since the officer asked for a correction on it
    (`review`, the form's): each value that differs between the form as it was when the check
    asked (the application's history, `form_as_asked`) and now, in the form's order, the
    category's questions last. None when no correction is asked on the form."""
    if review is None or review.status != ReviewStatus.CORRECTION:
        return None
    before = form_as_asked(application=application)
    if before is None:
        return None
    changed = form_changed_fields(before=before, after=application)
    changes = [
        FormChange(
            label=capfirst(str(_form_field(name).verbose_name)),
            old=_form_value(before, name),
            new=_form_value(application, name),
        )
        for name in changed
        if name != "answers"
    ]
    if "answers" in changed:
        old, new = (
            application_answers(application=before),
            application_answers(application=application),
        )
        try:
            questions = list(CategoryQuestion.objects.filter(category=category_of(application)))
        except ApplicationError:
            questions = []
        changes += [
            FormChange(
                label=str(question.label),
                old=answer_words(question.kind, old.get(question.code)) or "—",
                new=answer_words(question.kind, new.get(question.code)) or "—",
            )
            for question in questions
            if old.get(question.code, "") != new.get(question.code, "")
        ]
    return changes


def upload_get_for_staff(*, application: VisaApplication, upload_id: int) -> Upload:
    upload = Upload.objects.filter(application=application, pk=upload_id).first()
    if upload is None:
        raise Http404
    return upload


@dataclass(frozen=True)
class HitView:
    hit: ScreeningHit
    detail: dict[str, Any]
    percent: int


@dataclass(frozen=True)
class ScreeningView:
    screening: Screening | None
    hits: list[HitView] = field(default_factory=list)
    # run after the last change to the application (else: to run again)
    current: bool = False


def case_screening(*, application: VisaApplication) -> ScreeningView:
    latest = screening_latest(application)
    if latest is None:
        return ScreeningView(screening=None)
    changed = last_change(application)
    hits = [
        HitView(hit=hit, detail=hit_detail(hit), percent=int(hit.score * 100))
        for hit in latest.hits.all()
    ]
    return ScreeningView(
        screening=latest, hits=hits, current=changed is None or latest.created_at >= changed
    )


def case_appeal(*, application: VisaApplication) -> Appeal | None:
    """The appeal waiting for its decision, else the latest one."""
    appeals = list(application.appeals.all())
    lodged = [appeal for appeal in appeals if appeal.status == AppealStatus.LODGED]
    chosen = lodged or appeals
    return chosen[0] if chosen else None


def staff_names(*, application: VisaApplication, appeal: Appeal | None = None) -> dict[str, str]:
    """Who attended, recommended, decided, ended (and recorded or decided the appeal), by name
    (one query)."""
    ids = {
        "attended": application.attended_by_id,
        "recommended": application.recommended_by_id,
        "decided": application.decided_by_id,
        "ended": application.ended_by_id,
        "appeal_recorded": appeal.recorded_by_id if appeal else None,
        "appeal_decided": appeal.decided_by_id if appeal else None,
    }
    users = {
        user.pk: user.get_full_name() or user.email
        for user in User.objects.filter(pk__in=[pk for pk in ids.values() if pk is not None])
    }
    return {role: users.get(pk, "") for role, pk in ids.items() if pk is not None}
