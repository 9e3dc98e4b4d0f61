"""Reads of the visas app for the applicant's pages. A read that checks access fetches and
checks in one call and answers "not found" (404) both for what does not exist and for what is
not the reader's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import Booking, BookingStatus
from fees.models import Assessment, AssessmentStatus
from missions.selectors import current_mission

from .models import (
    CLOCK_RUNNING,
    FORM_ITEM,
    ItemReview,
    ReviewStatus,
    Step,
    Upload,
    VisaApplication,
    VisaStatus,
    VisaStep,
)
from .reference.models import ChecklistItem, VisaCategory
from .services.application import application_category, category_items, correction_asked
from .services.casework import decision_due_on
from .services.common import UNMAILED


def categories_offered() -> list[VisaCategory]:
    """What an applicant may pick at this mission: the active categories for every mission and
    this mission's own additions (an addition with the code of a general one replaces it)."""
    code = current_mission().code
    rows = (
        VisaCategory.objects.filter(active=True, mission__in=["", code])
        .prefetch_related("items", "questions")
        .order_by("order", "code", "-mission")
    )
    seen: dict[str, VisaCategory] = {}
    for row in rows:
        if row.code not in seen or row.mission:
            seen[row.code] = row
    return sorted(seen.values(), key=lambda row: (row.order, row.code))


def application_for_owner(*, reference: str, user: Any) -> VisaApplication:
    """The signed-in person's application; 404 for anyone else's and for what does not exist."""
    application = (
        VisaApplication.objects.filter(reference=str(reference)[:12], user_id=user.pk).first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    if application is None:
        raise Http404
    return application


def applications_for_owner(*, user: Any) -> list[VisaApplication]:
    """The person's applications here, newest first, each with `unread`: the messages
    (e-mailed steps) not yet seen on its page, and `booked`: its appointment is booked and
    not yet over. One query."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        VisaApplication.objects.filter(user_id=user.pk)
        .annotate(
            unread=Count(
                "steps",
                filter=Q(steps__read_at__isnull=True) & ~Q(steps__step__in=UNMAILED),
            ),
            # a complete file whose appointment is booked reads "Appointment booked", not its
            # status's "book your appointment"
            booked=Exists(
                Booking.objects.filter(
                    pk=OuterRef("booking_id"),
                    status__in=[BookingStatus.ACTIVE, BookingStatus.CHECKED_IN],
                )
            ),
        )
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class ChecklistRow:
    item: ChecklistItem
    upload: Upload | None  # the current file, if any
    review: ItemReview | None  # the completeness check's word on it, if any

    @property
    def accepted(self) -> bool:
        return self.review is not None and self.review.status == ReviewStatus.ACCEPTED

    @property
    def correction_asked(self) -> bool:
        return self.review is not None and self.review.status == ReviewStatus.CORRECTION

    @property
    def corrected(self) -> bool:
        return (
            self.correction_asked
            and self.review is not None
            and self.review.corrected_at is not None
        )


def application_checklist(*, application: VisaApplication) -> list[ChecklistRow]:
    """The category's checklist, each item with its current file and its review. Three
    queries."""
    items = category_items(category=application_category(application=application))
    uploads = {
        row.item: row
        for row in Upload.objects.filter(application=application, is_current=True).defer("content")
    }
    reviews = {row.item: row for row in ItemReview.objects.filter(application=application)}
    return [
        ChecklistRow(item=item, upload=uploads.get(item.code), review=reviews.get(item.code))
        for item in items
    ]


def form_correction(*, application: VisaApplication) -> ItemReview | None:
    """The correction the last completeness check asked for on the form itself, made or not
    yet (None: the form stands as sent)."""
    return correction_asked(application=application, item=FORM_ITEM)


# What the applicant is waiting for, per status: one plain sentence.
WAITING_FOR: dict[str, Any] = {
    VisaStatus.DRAFT: _("You have not sent the application yet."),
    VisaStatus.SUBMITTED: _(
        "The mission is checking that your documents are all there and in order. The time for"
        " the decision starts after that."
    ),
    VisaStatus.CORRECTIONS: _(
        "The mission is waiting for your corrections. The decision period starts once your file "
        "is complete."
    ),
    VisaStatus.COMPLETE: _(
        "Come to your appointment. There the mission checks your identity, takes your"
        " fingerprints and takes the fee."
    ),
    VisaStatus.ATTENDED: _("An officer is examining your application."),
    VisaStatus.RECOMMENDED: _("A consul is deciding on your application."),
    VisaStatus.ISSUED: _("Decided: your visa is issued."),
    VisaStatus.REFUSED: _(
        "Decided: your visa is refused. The reasons and how to appeal are below, under"
        " “Messages”, and in the e-mail we sent you."
    ),
    VisaStatus.APPEALED: _("Your appeal is being examined."),
    VisaStatus.WITHDRAWN: _("Closed: you withdrew the application."),
    VisaStatus.DEEMED_WITHDRAWN: _("Closed: the corrections were not made in time."),
    VisaStatus.ANNULLED: _("Closed: the visa was annulled."),
    VisaStatus.REVOKED: _("Closed: the visa was revoked."),
}
# A complete file, by (appointment booked, fee paid): the appointment and the fee are the
# applicant's to do, so what is waited for changes as they are done.
WAITING_FOR_COMPLETE: dict[tuple[bool, bool], Any] = {
    (False, False): _(
        "Your file is complete: book your appointment. There the mission confirms your "
        "identity and takes your fingerprints and the fee."
    ),
    (False, True): _(
        "Your file is complete: book your appointment. There the mission confirms your "
        "identity and takes your fingerprints."
    ),
    (True, False): WAITING_FOR[VisaStatus.COMPLETE],
    (True, True): _(
        "Come to your appointment. There the mission checks your identity and takes your"
        " fingerprints."
    ),
}


@dataclass(frozen=True)
class LegalClock:
    """The legal clock as the applicant reads it: admissible since (the mission's zone), the
    decision due on (extended: the new date and why), the days left, what is waited for."""

    admissible_at: dt.datetime | None  # aware; shown in `zone`
    due_on: dt.date | None
    extended: bool
    extension_reason: str
    days_left: int | None  # from the mission's today; negative: overdue
    running: bool
    waiting_for: Any
    corrections_due_on: dt.date | None
    zone: Any
    zone_name: str


def legal_clock(
    *, application: VisaApplication, booked: bool = False, paid: bool = False
) -> LegalClock:
    """The clock of `application`; `booked` and `paid` (its appointment, its fee) say what a
    complete file still waits for."""
    mission = current_mission()
    due = application.extended_due_on or application.decision_due_on
    running = application.status in CLOCK_RUNNING and due is not None
    return LegalClock(
        admissible_at=application.admissible_at,
        due_on=due,
        extended=application.extended_due_on is not None,
        extension_reason=application.extension_reason if application.extended_due_on else "",
        days_left=(due - mission.today()).days if running and due is not None else None,
        running=running,
        waiting_for=(
            WAITING_FOR_COMPLETE[(booked, paid)]
            if application.status == VisaStatus.COMPLETE
            else WAITING_FOR.get(application.status, "")
        ),
        corrections_due_on=(
            application.corrections_due_on if application.status == VisaStatus.CORRECTIONS else None
        ),
        zone=mission.zone,
        zone_name=mission.timezone,
    )


@dataclass(frozen=True)
class ArrivalTooSoon:
    """An arrival the decision may not be ready for: the day the applicant arrives, the day the
    decision is due if the mission found the file complete today, and the days it takes."""

    arrival: dt.date
    decision_due_on: dt.date
    processing_days: int


def arrival_too_soon(
    *, application: VisaApplication, category: VisaCategory | None
) -> ArrivalTooSoon | None:
    """Whether the declared arrival comes before the earliest due date the decision can have:
    the legal clock's rule (`casework.decision_due_on`) for a file found complete today, the
    mission's today. A warning only, never a refusal: the applicant may still send. None while
    no arrival is given (or one in the past, refused already), and once the form is sent."""
    arrival = application.entry_date
    editable = application.status in (VisaStatus.DRAFT, VisaStatus.CORRECTIONS)
    if category is None or arrival is None or not editable:
        return None
    today = current_mission().today()
    due = decision_due_on(category=category, admissible_on=today)
    if not today <= arrival <= due:  # a decision on the day of arrival is too late too
        return None
    return ArrivalTooSoon(
        arrival=arrival, decision_due_on=due, processing_days=category.processing_days
    )


@dataclass(frozen=True)
class TimelineEntry:
    label: Any
    at: dt.datetime | None  # when it happened; None: not yet
    expected: dt.date | None = None  # when it should happen, for the next step
    note: str = ""
    done: bool = False


# What is ahead of a submitted application, in order.
AHEAD = (Step.COMPLETE, Step.BOOKED, Step.ATTENDED, Step.ISSUED)
FINAL = frozenset({Step.WITHDRAWN, Step.DEEMED_WITHDRAWN, Step.ANNULLED, Step.REVOKED})


def application_timeline(*, application: VisaApplication) -> list[TimelineEntry]:
    """Every step taken, with its time and note, then the ones ahead while it is open: the
    decision with its due date once the clock runs."""
    entries = [
        TimelineEntry(label=Step(row.step).label, at=row.happened_at, note=row.note, done=True)
        for row in VisaStep.objects.filter(application=application).order_by("happened_at", "id")
    ]
    taken = {row.step for row in VisaStep.objects.filter(application=application).only("step")}
    if application.status == VisaStatus.DRAFT:
        return [TimelineEntry(label=Step.SUBMITTED.label, at=None)]
    if taken & (FINAL | {Step.ISSUED}) or application.status in (
        VisaStatus.REFUSED,
        VisaStatus.APPEALED,
    ):
        return entries
    due = application.extended_due_on or application.decision_due_on
    for step in AHEAD:
        if step in taken:
            continue
        if step == Step.BOOKED and Step.ATTENDED in taken:
            continue
        expected = due if step == Step.ISSUED else None
        label = _("Decision") if step == Step.ISSUED else step.label
        entries.append(TimelineEntry(label=label, at=None, expected=expected))
    return entries


def steps_read(*, application: VisaApplication) -> list[VisaStep]:
    """The messages (the steps that were also e-mailed), newest first; marks them read."""
    VisaStep.objects.filter(application=application, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return list(application.steps.exclude(step__in=UNMAILED).order_by("-happened_at", "-id"))


def application_assessment(*, application: VisaApplication) -> Assessment | None:
    if application.assessment_id is None:
        return None
    return Assessment.objects.filter(pk=application.assessment_id).first()


def assessment_paid(assessment: Assessment | None) -> bool:
    return assessment is not None and assessment.status == AssessmentStatus.SETTLED


def application_paid(*, application: VisaApplication) -> bool:
    return assessment_paid(application_assessment(application=application))


def application_booking(*, application: VisaApplication) -> Booking | None:
    if application.booking_id is None:
        return None
    return (
        Booking.objects.filter(pk=application.booking_id).select_related("slot", "service").first()
    )


def booking_pending(*, application: VisaApplication, booking: Booking | None) -> Booking | None:
    """The appointment the applicant is waiting for, once booked: the status page says "booked"
    with its time instead of asking to book (`VisaStatus.COMPLETE`'s label)."""
    if (
        application.status == VisaStatus.COMPLETE
        and booking is not None
        and booking.status in (BookingStatus.ACTIVE, BookingStatus.CHECKED_IN)
    ):
        return booking
    return None
