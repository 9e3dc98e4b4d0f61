"""Reads of the passports app. A read that checks access fetches and checks in one call and
answers "not found" (404) both for what does not exist and for what is not the reader's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from appointments.models import Booking
from consulate.kernel.accounts.models import User
from fees.models import Assessment, AssessmentStatus
from missions.models import Mission
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.transport import over_http

from .models import (
    IN_PROGRESS,
    OPEN,
    Application,
    ApplicationKind,
    ApplicationStatus,
    ApplicationStep,
    EmergencyTravelDocument,
    EtdStatus,
    Step,
)
from .register.models import OpenApplication, PersonalisationStatus
from .register.selectors import APPLICATION_OPEN, personalisation_case_find
from .services.common import UNMAILED
from .services.report import document_index, person_index

# The service-level target per kind: calendar days from submission to the consul's decision.
SERVICE_LEVEL_DAYS: dict[str, int] = {
    ApplicationKind.FIRST: 20,
    ApplicationKind.RENEWAL: 10,
    ApplicationKind.LOST: 15,
    ApplicationKind.STOLEN: 15,
    ApplicationKind.CHILD: 20,
}
# Days HQ takes to personalise, print and send a passport back (what the timeline promises).
PERSONALISATION_DAYS = 14


def application_get_for_citizen(*, reference: str, user: Any) -> Application:
    application = (
        Application.objects.filter(reference=str(reference)[:12], user_id=user.pk).first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    if application is None:
        raise Http404
    return application


def application_list_for_citizen(*, user: Any) -> list[Application]:
    """The citizen's applications here, each with `unread`: the messages (e-mailed steps) not
    yet seen on its page, the account's inbox. One query."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        Application.objects.filter(user_id=user.pk)
        .exclude(status="withdrawn")
        .annotate(
            unread=Count(
                "steps",
                filter=Q(steps__read_at__isnull=True) & ~Q(steps__step__in=UNMAILED),
            )
        )
    )


def application_get_for_staff(*, reference: str, acting_user: Any) -> Application:
    """A case for the mission's staff; a draft does not exist for them yet."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_VIEW)
    application = (
        Application.objects.exclude(status=ApplicationStatus.DRAFT)
        .filter(reference=str(reference)[:12])
        .first()
    )
    if application is None:
        raise Http404
    return application


@dataclass(frozen=True)
class QueueRow:
    application: Application
    age_days: int
    target_days: int
    due_on: dt.date
    overdue: bool


def application_queue(
    *, acting_user: Any, status: str = "", query: str = "", limit: int = 200
) -> list[QueueRow]:
    """The officers' work queue: open cases (or those of one status), oldest first, each with
    its age, its kind's service-level target and whether it is overdue. `query` finds a case by
    its reference, or exactly by surname, national ID or previous passport number (through their
    blind indexes). One query whatever the length."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_VIEW)
    cases: QuerySet[Application] = Application.objects.exclude(status=ApplicationStatus.DRAFT)
    if status in ApplicationStatus.values and status != ApplicationStatus.DRAFT:
        cases = cases.filter(status=status)
    elif not query:
        cases = cases.filter(status__in=OPEN)
    text = str(query).strip()[:100]
    if text and "\x00" not in text:
        cases = cases.filter(
            Q(reference=text.upper())
            | Q(surname_index__matches=text)
            | Q(national_id_index__matches=text)
            | Q(previous_document_index=document_index(text))
        )
    zone = current_mission().zone
    today = timezone.localdate(timezone.now(), zone)
    rows = []
    for application in cases.order_by("submitted_at", "id")[:limit]:
        submitted = timezone.localdate(application.submitted_at or application.created_at, zone)
        target = SERVICE_LEVEL_DAYS[application.kind]
        due = submitted + dt.timedelta(days=target)
        open_case = application.status in OPEN
        rows.append(
            QueueRow(
                application=application,
                age_days=(today - submitted).days,
                target_days=target,
                due_on=due,
                overdue=open_case and today > due,
            )
        )
    return rows


@dataclass(frozen=True)
class TimelineEntry:
    label: Any
    at: dt.datetime | None  # when it happened; None: not yet
    expected: dt.date | None = None  # when it should happen, for the next step
    note: str = ""
    done: bool = False


# After the approval, in order: HQ's part, then the mission's.
LATER_STEPS = (Step.SENT, Step.PRINTED, Step.ARRIVED, Step.READY, Step.COLLECTED)
# Days from the approval each later step should take at most (what the timeline promises).
LATER_DAYS = {Step.SENT: 1, Step.PRINTED: 7, Step.ARRIVED: PERSONALISATION_DAYS,
              Step.READY: PERSONALISATION_DAYS, Step.COLLECTED: None}  # fmt: skip


def _paid_at(application: Application) -> dt.datetime | None:
    if application.assessment_id is None:
        return None
    assessment = (
        Assessment.objects.filter(pk=application.assessment_id, status=AssessmentStatus.SETTLED)
        .only("updated_at")
        .first()
    )
    return assessment.updated_at if assessment is not None else None


def application_timeline(*, application: Application) -> list[TimelineEntry]:
    """Every step the case has taken, with its time, then the ones ahead, the next one with
    the date it should happen by."""
    steps = {row.step: row for row in ApplicationStep.objects.filter(application=application)}
    zone = current_mission().zone
    entries: list[TimelineEntry] = []

    def done(step: Step, note: str = "") -> bool:
        row = steps.get(step)
        if row is None:
            return False
        entries.append(
            TimelineEntry(label=step.label, at=row.happened_at, note=note or row.note, done=True)
        )
        return True

    done(Step.PHOTO_ACCEPTED)
    if not done(Step.SUBMITTED):
        entries.append(TimelineEntry(label=Step.SUBMITTED.label, at=None))
        return entries
    submitted = timezone.localdate(application.submitted_at or timezone.now(), zone)
    paid_at = _paid_at(application)
    if paid_at is not None:
        entries.append(TimelineEntry(label=Step.PAID.label, at=paid_at, done=True))
    for final in (Step.WITHDRAWN, Step.REFUSED):
        if final in steps:
            done(Step.BIOMETRICS_TAKEN)  # taken before a refusal (never before a withdrawal)
            done(final)
            return entries
    if paid_at is None:
        entries.append(TimelineEntry(label=Step.PAID.label, at=None))
    visit = None
    if not done(Step.BIOMETRICS_TAKEN):
        booking = application_booking(application=application)
        visit = timezone.localdate(booking.slot.starts_at, zone) if booking is not None else None
        entries.append(TimelineEntry(label=Step.BIOMETRICS_TAKEN.label, at=None, expected=visit))
    target = submitted + dt.timedelta(days=SERVICE_LEVEL_DAYS[application.kind])
    if visit is not None and visit > target:  # decided after the visit, never promised before it
        target = visit
    if not done(Step.APPROVED):
        entries.append(TimelineEntry(label=Step.APPROVED.label, at=None, expected=target))
        # only the next step has a date to expect; the later ones follow from it
        return entries + [TimelineEntry(label=step.label, at=None) for step in LATER_STEPS]
    approved = timezone.localdate(steps[Step.APPROVED].happened_at, zone)
    next_found = False
    for step in LATER_STEPS:
        if done(step):
            continue
        days = LATER_DAYS[step]
        expected = (
            approved + dt.timedelta(days=days) if days is not None and not next_found else None
        )
        next_found = True
        entries.append(TimelineEntry(label=step.label, at=None, expected=expected))
    return entries


def application_assessment(*, application: Application) -> Assessment | None:
    if application.assessment_id is None:
        return None
    return Assessment.objects.filter(pk=application.assessment_id).first()


def application_booking(*, application: Application) -> Booking | None:
    if application.booking_id is None:
        return None
    return (
        Booking.objects.filter(pk=application.booking_id).select_related("slot", "service").first()
    )


def staff_names(*, application: Application) -> dict[str, str]:
    """Who took the biometrics, recommended and decided, by name (one query)."""
    ids = {
        "biometrics": application.biometrics_taken_by_id,
        "recommended": application.recommended_by_id,
        "decided": application.decided_by_id,
    }
    users = {
        user.pk: user.get_full_name() or user.email
        for user in User.objects.filter(pk__in=[pk for pk in ids.values() if pk is not None])
    }
    return {role: users.get(pk, "") for role, pk in ids.items() if pk is not None}


@dataclass(frozen=True)
class OtherCase:
    """Another case of the same person, as a mission's staff (another mission's case) or HQ's
    queue may see it: the mission and the reference, nothing of the case itself
    (docs/passports.md, "One person, one passport")."""

    mission: str  # its name in the reader's language
    reference: str


@dataclass(frozen=True)
class ElsewhereCheck:
    # False: HQ's register cannot be read from here (a mission on its own node), so nothing is
    # known either way
    checked: bool
    cases: list[OtherCase]


def _mission_names(codes: set[str]) -> dict[str, str]:
    return {
        mission.code: str(mission.name)
        for mission in Mission.objects.filter(code__in=codes).only("code", "name")
    }


def open_applications_elsewhere(*, application: Application, acting_user: Any) -> ElsewhereCheck:
    """The same person's applications open at other missions, from HQ's register
    (`OpenApplication`, keyed by the national ID's index under HQ's key; one query, two when
    there is one): what the officer should know before taking the biometrics. HQ's register
    knows a case once its mission's events reached HQ. A mission on its own node reads no copy
    of it: the check is not made (`checked` false), never read as "none"."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_VIEW)
    if not application.national_id or application.status not in IN_PROGRESS:
        return ElsewhereCheck(checked=True, cases=[])
    if over_http():
        return ElsewhereCheck(checked=False, cases=[])
    rows = list(
        OpenApplication.objects.filter(
            APPLICATION_OPEN, holder_index=person_index(application.national_id)
        )
        .exclude(mission=current_mission().code)
        .order_by("submitted_at", "mission")
        .values_list("mission", "reference")[:10]
    )
    names = _mission_names({mission for mission, _reference in rows}) if rows else {}
    return ElsewhereCheck(
        checked=True,
        cases=[OtherCase(mission=names.get(code, code), reference=ref) for code, ref in rows],
    )


def personalisation_hold(*, application: Application, acting_user: Any) -> OtherCase | None:
    """What holds an approved case at HQ: the same person's passport from another case (its
    mission and reference), printed and not handed over yet; None when HQ holds nothing (or
    has not got the case). Read from HQ's queue on the search path (two queries when held)."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_VIEW)
    if application.status != ApplicationStatus.APPROVED or over_http():
        return None
    case = personalisation_case_find(mission=current_mission().code, application_id=application.pk)
    if case is None or case.status != PersonalisationStatus.HELD:
        return None
    names = _mission_names({case.held_mission})
    return OtherCase(
        mission=names.get(case.held_mission, case.held_mission), reference=case.held_reference
    )


# --- emergency travel documents ---------------------------------------------------------------


def etd_get_for_citizen(*, reference: str, user: Any) -> EmergencyTravelDocument:
    """The citizen's own ETD; anyone else's (or none) is not found."""
    etd = (
        EmergencyTravelDocument.objects.filter(
            reference=str(reference)[:12], user_id=user.pk
        ).first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    if etd is None:
        raise Http404
    return etd


def etd_list_for_citizen(*, user: Any) -> list[EmergencyTravelDocument]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(EmergencyTravelDocument.objects.filter(user_id=user.pk))


def etd_get_for_staff(*, reference: str, acting_user: Any) -> EmergencyTravelDocument:
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_VIEW)
    etd = EmergencyTravelDocument.objects.filter(reference=str(reference)[:12]).first()
    if etd is None:
        raise Http404
    return etd


def etd_list_for_staff(*, acting_user: Any, status: str = "") -> QuerySet[EmergencyTravelDocument]:
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_VIEW)
    rows = EmergencyTravelDocument.objects.all()
    if status in EtdStatus.values:
        rows = rows.filter(status=status)
    return rows[:200]
