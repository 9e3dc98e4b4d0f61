"""The mission's side of a visa application: the completeness check and its deadline, the
visit, the recommendation and the consul's decision (four eyes, kept by the service and the
database), the extension, the appeal and the end of a visa."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from consulate.kernel.errors import ApplicationError
from sync.models import OutboxEvent
from tests.conftest import make_staff
from tests.factories import MembershipFactory
from tests.visas.factories import visa_submitted
from tests.visas.factories_casework import (
    accept_all,
    numbers_allocate,
    visa_appealed,
    visa_attended,
    visa_complete,
    visa_issued,
    visa_paid,
    visa_recommended,
    visa_refused,
)
from visas.models import FORM_ITEM, ItemReview, Step, VisaApplication, VisaStatus, VisaStep
from visas.services import casework
from visas.services.application import form_locked

LONDON = zoneinfo.ZoneInfo("Europe/London")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def _events(topic: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic=topic).order_by("seq"))


# --- the completeness check ------------------------------------------------------------------


def test_every_item_accepted_makes_the_file_admissible(
    in_mission_a, mission_a, django_capture_on_commit_callbacks
):
    # given a submitted application
    application = visa_submitted(mission_a)
    officer = make_staff(mission_a, "officer")
    mail.outbox.clear()
    # when an officer accepts every item of the checklist
    with django_capture_on_commit_callbacks(execute=True):
        casework.completeness_review(
            application=application, decisions=accept_all(application), acting_user=officer
        )
    # then it is complete, the legal clock runs from now and the applicant is told the date
    application.refresh_from_db()
    assert application.status == VisaStatus.COMPLETE
    assert application.admissible_at is not None
    today = mission_a.today()
    assert application.decision_due_on == today + dt.timedelta(days=15)
    event = _events("visas.application.admissible")[0]
    assert event.aggregate_id == str(application.pk) or event.aggregate_id == application.pk
    assert event.payload["decision_due_on"] == application.decision_due_on.isoformat()
    assert event.payload["reference"] == application.reference
    assert "surname" not in event.payload
    step = VisaStep.objects.get(application=application, step=Step.COMPLETE)
    assert application.decision_due_on.strftime("%-d %B %Y") in step.note
    assert len(mail.outbox) == 1
    assert application.decision_due_on.strftime("%-d %B %Y") in mail.outbox[0].body
    assert all(
        review.status == "accepted" for review in ItemReview.objects.filter(application=application)
    )


def test_a_correction_needs_a_reason_and_a_sensible_date(in_mission_a, mission_a):
    application = visa_submitted(mission_a)
    officer = make_staff(mission_a, "officer")
    decisions = accept_all(application)
    item = next(iter(decisions))
    with pytest.raises(ApplicationError) as no_reason:
        casework.completeness_review(
            application=application,
            decisions={**decisions, item: (False, "  ")},
            acting_user=officer,
        )
    assert no_reason.value.code.value == "visas.reason_required"
    assert no_reason.value.field == f"reason_{item}"
    today = mission_a.today()
    for due in (today - dt.timedelta(days=1), today + dt.timedelta(days=61)):
        with pytest.raises(ApplicationError) as bad_date:
            casework.completeness_review(
                application=application,
                decisions={**decisions, item: (False, "Blurred")},
                due_on=due,
                acting_user=officer,
            )
        assert bad_date.value.code.value == "visas.deadline"
    application.refresh_from_db()
    assert application.status == VisaStatus.SUBMITTED
    assert not ItemReview.objects.filter(application=application).exists()


def test_corrections_are_asked_with_their_reasons_and_date(
    in_mission_a, mission_a, django_capture_on_commit_callbacks
):
    application = visa_submitted(mission_a)
    officer = make_staff(mission_a, "officer")
    decisions = accept_all(application)
    item = next(iter(decisions))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        casework.completeness_review(
            application=application,
            decisions={**decisions, item: (False, "The bank statement is older than a month.")},
            acting_user=officer,
        )
    application.refresh_from_db()
    assert application.status == VisaStatus.CORRECTIONS
    due = mission_a.today() + dt.timedelta(days=14)
    assert application.corrections_due_on == due
    assert application.admissible_at is None
    step = VisaStep.objects.get(application=application, step=Step.CORRECTIONS_ASKED)
    assert "older than a month" in step.note
    assert due.strftime("%-d %B %Y") in step.note
    event = _events("visas.application.corrections_asked")[0]
    assert event.payload["items"] == [item]
    assert event.payload["corrections_due_on"] == due.isoformat()
    body = mail.outbox[0].body
    assert "older than a month" in body
    assert due.strftime("%-d %B %Y") in body


# The officer's note on the form, as typed.
FORM_NOTE = "Your surname is spelt differently in the passport."


@pytest.mark.parametrize(
    ("language", "label"), [("en", "The application form"), ("tr", "Başvuru formu")]
)
def test_a_correction_is_asked_on_the_form_with_the_officers_note(
    in_mission_a, mission_a, language, label
):
    # given a submitted application in the applicant's language
    application = visa_submitted(mission_a)
    VisaApplication.objects.filter(pk=application.pk).update(language=language)
    application.refresh_from_db()
    officer = make_staff(mission_a, "officer")
    # when the officer accepts every document and asks for a correction on the form
    casework.completeness_review(
        application=application,
        decisions={**accept_all(application), FORM_ITEM: (False, FORM_NOTE)},
        acting_user=officer,
    )
    # then corrections are asked; the form's review says what to correct, with its history
    application.refresh_from_db()
    assert application.status == VisaStatus.CORRECTIONS
    review = ItemReview.objects.get(application=application, item=FORM_ITEM)
    assert (review.status, review.reason, review.upload_id, review.reviewed_by_id) == (
        "correction", FORM_NOTE, None, officer.pk,
    )  # fmt: skip
    assert review.history.count() == 1
    # the event names the form among the items asked for; the applicant's message names it in
    # their language, the note as typed
    event = _events("visas.application.corrections_asked")[0]
    assert event.payload["items"] == [FORM_ITEM]
    step = VisaStep.objects.get(application=application, step=Step.CORRECTIONS_ASKED)
    assert step.note.splitlines()[0] == f"• {label}: {FORM_NOTE}"
    # and the applicant may change the form now
    assert not form_locked(application=application)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Accept or ask for a correction on each item. Not decided: The application form."),
        ("tr", "Her öğeyi kabul edin ya da düzeltme isteyin. Karar verilmeyen: Başvuru formu."),
    ],
)
def test_the_form_is_accepted_only_when_the_officer_says_so(
    in_mission_a, mission_a, language, message
):
    # given a submitted application
    application = visa_submitted(mission_a)
    decisions = accept_all(application)
    item = next(iter(decisions))
    officer = make_staff(mission_a, "officer")
    # when the officer asks for a document and says nothing of the form
    del decisions[FORM_ITEM]
    with translation.override(language), pytest.raises(ApplicationError) as refused:
        casework.completeness_review(
            application=application,
            decisions={**decisions, item: (False, "Unreadable.")},
            acting_user=officer,
        )
    # then nothing is taken as accepted: refused beside the form, which the message names
    with translation.override(language):
        assert str(refused.value.message) == message
    assert refused.value.field == f"item_{FORM_ITEM}"
    assert list(refused.value.errors) == [f"item_{FORM_ITEM}"]
    application.refresh_from_db()
    assert application.status == VisaStatus.SUBMITTED
    assert not ItemReview.objects.filter(application=application).exists()
    # when the officer accepts the form and asks for the document
    casework.completeness_review(
        application=application,
        decisions={**decisions, FORM_ITEM: (True, ""), item: (False, "Unreadable.")},
        acting_user=officer,
    )
    # then the form is accepted, the event names the document alone, the form is locked
    assert ItemReview.objects.get(application=application, item=FORM_ITEM).status == "accepted"
    assert _events("visas.application.corrections_asked")[0].payload["items"] == [item]
    application.refresh_from_db()
    assert form_locked(application=application)


@pytest.mark.parametrize(
    ("language", "note", "code", "message"),
    [
        ("en", "  ", "visas.reason_required", "Say what to correct."),
        ("tr", "  ", "visas.reason_required", "Neyin düzeltileceğini yazın."),
        ("en", "Spelt\x00wrong", "visas.invalid", "Remove the control characters from this field."),
        ("tr", "Spelt\x00wrong", "visas.invalid", "Bu alandaki kontrol karakterlerini silin."),
        ("en", "x" * 100_000, "visas.invalid", "Use at most 2000 characters."),
        ("tr", "x" * 100_000, "visas.invalid", "En fazla 2000 karakter kullanın."),
    ],
    ids=["empty-en", "empty-tr", "nul-en", "nul-tr", "100kb-en", "100kb-tr"],
)
def test_a_bad_note_on_the_form_is_refused_and_nothing_is_kept(
    in_mission_a, mission_a, language, note, code, message
):
    from django.utils import translation

    # given a submitted application
    application = visa_submitted(mission_a)
    officer = make_staff(mission_a, "officer")
    events = OutboxEvent.objects.count()
    # when the officer asks for a correction on the form with a note that cannot be kept
    with translation.override(language):
        with pytest.raises(ApplicationError) as refused:
            casework.completeness_review(
                application=application,
                decisions={**accept_all(application), FORM_ITEM: (False, note)},
                acting_user=officer,
            )
        said = str(refused.value.message)
    # then it is refused beside the note, in the officer's language, and nothing is kept
    assert refused.value.code.value == code
    assert refused.value.field == f"reason_{FORM_ITEM}"
    assert said == message
    application.refresh_from_db()
    assert application.status == VisaStatus.SUBMITTED
    assert not ItemReview.objects.filter(application=application).exists()
    assert not VisaStep.objects.filter(
        application=application, step=Step.CORRECTIONS_ASKED
    ).exists()
    assert OutboxEvent.objects.count() == events


@pytest.mark.parametrize("role", ["cashier", "mission_admin"])
def test_a_role_without_the_review_permission_cannot_ask_for_a_form_correction(
    in_mission_a, mission_a, role
):
    # given a submitted application, and someone whose role at the mission does not process
    # visas
    application = visa_submitted(mission_a)
    staff = make_staff(mission_a, role)
    events = OutboxEvent.objects.count()
    # when they ask for a correction on the form
    with pytest.raises(ApplicationError) as refused:
        casework.completeness_review(
            application=application,
            decisions={**accept_all(application), FORM_ITEM: (False, FORM_NOTE)},
            acting_user=staff,
        )
    # then the permission table says no, and nothing is kept
    assert refused.value.code.name == "NOT_ALLOWED"
    application.refresh_from_db()
    assert application.status == VisaStatus.SUBMITTED
    assert not ItemReview.objects.filter(application=application).exists()
    assert OutboxEvent.objects.count() == events


def test_corrections_not_made_in_time_close_the_application(
    in_mission_a, mission_a, django_capture_on_commit_callbacks
):
    # given corrections asked for by tomorrow
    application = visa_submitted(mission_a)
    officer = make_staff(mission_a, "officer")
    decisions = accept_all(application)
    item = next(iter(decisions))
    casework.completeness_review(
        application=application,
        decisions={**decisions, item: (False, "Unreadable.")},
        due_on=mission_a.today() + dt.timedelta(days=1),
        acting_user=officer,
    )
    # when the beat runs on the due day itself: nothing yet
    assert casework.corrections_expire() == 0
    # and when the due date has passed (the deadline moved back, as if days went by)
    VisaApplication.objects.filter(pk=application.pk).update(
        corrections_due_on=mission_a.today() - dt.timedelta(days=1)
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert casework.corrections_expire() == 1
    # then it is deemed withdrawn, its unpaid fee cancelled, and the applicant told
    application.refresh_from_db()
    assert application.status == VisaStatus.DEEMED_WITHDRAWN
    assert application.closed_at is not None
    from fees.models import Assessment

    assert Assessment.objects.get(pk=application.assessment_id).status == "cancelled"
    event = _events("visas.application.deemed_withdrawn")[0]
    assert event.payload["closed_at"]
    assert VisaStep.objects.filter(application=application, step=Step.DEEMED_WITHDRAWN).exists()
    assert len(mail.outbox) == 1
    assert "apply again" in mail.outbox[0].body
    # and a second run changes nothing
    assert casework.corrections_expire() == 0


def test_the_beat_task_runs_in_every_mission(mission_a, mission_b, monkeypatch):
    from visas import tasks

    queued = []
    monkeypatch.setattr(tasks, "task_queue_per_mission", lambda task: queued.append(task))
    tasks.every_mission_expire_corrections()
    assert queued == [tasks.expire_corrections]


# --- the legal clock across a change of the clocks --------------------------------------------


@pytest.mark.parametrize(
    ("admissible_local", "due"),
    [
        # the day before the last Sunday of March (clocks go forward that night)
        (dt.datetime(2026, 3, 28, 23, 30, tzinfo=LONDON), dt.date(2026, 4, 12)),
        # the day before the last Sunday of October (clocks go back)
        (dt.datetime(2026, 10, 24, 23, 30, tzinfo=LONDON), dt.date(2026, 11, 8)),
        (dt.datetime(2026, 10, 24, 0, 15, tzinfo=LONDON), dt.date(2026, 11, 8)),
    ],
)
def test_the_deadline_counts_calendar_days_across_a_clock_change(
    in_mission_a, mission_a, monkeypatch, admissible_local, due
):
    from missions.models import Mission

    # given a mission in London
    Mission.objects.filter(pk=mission_a.pk).update(timezone="Europe/London")
    connection.tenant = Mission.objects.get(pk=mission_a.pk)
    application = visa_submitted(connection.tenant)
    instant = admissible_local
    # when the file becomes admissible late on the day before the change
    monkeypatch.setattr(timezone, "now", lambda: instant.astimezone(dt.UTC))
    monkeypatch.setattr(
        type(connection.tenant), "today", lambda self: instant.astimezone(self.zone).date()
    )
    casework.completeness_review(
        application=application,
        decisions=accept_all(application),
        acting_user=make_staff(mission_a, "officer"),
    )
    # then the decision is due 15 local calendar days later, whatever the clocks did
    application.refresh_from_db()
    assert application.decision_due_on == due
    assert application.decision_due_on == admissible_local.date() + dt.timedelta(days=15)


# --- the visit ---------------------------------------------------------------------------------


def test_the_visit_waits_for_the_fee(in_mission_a, mission_a):
    application = visa_complete(mission_a)
    officer = make_staff(mission_a, "officer")
    with pytest.raises(ApplicationError) as unpaid:
        casework.application_attend(
            application=application, identity_confirmed=True, acting_user=officer
        )
    assert unpaid.value.code.value == "visas.not_paid"
    application = visa_paid(mission_a)
    with pytest.raises(ApplicationError) as unchecked:
        casework.application_attend(
            application=application, identity_confirmed=False, acting_user=officer
        )
    assert unchecked.value.field == "identity_confirmed"
    casework.application_attend(
        application=application, identity_confirmed=True, acting_user=officer
    )
    application.refresh_from_db()
    assert application.status == VisaStatus.ATTENDED
    assert application.attended_by_id == officer.pk
    assert _events("visas.application.attended")


def test_the_visit_captures_both_index_fingers_and_refuses_a_poor_capture(in_mission_a, mission_a):
    from django.db import connection as db

    from passports.devices import SimulatedFingerprintDevice
    from visas.models import VisaFingerprint

    application = visa_paid(mission_a)
    officer = make_staff(mission_a, "officer")
    # a capture under the minimum quality: refused, nothing recorded
    with pytest.raises(ApplicationError) as poor:
        casework.application_attend(
            application=application,
            identity_confirmed=True,
            acting_user=officer,
            device=SimulatedFingerprintDevice(quality=20),
        )
    assert poor.value.code.value == "visas.fingerprint_quality"
    assert not VisaFingerprint.objects.filter(application=application).exists()
    application.refresh_from_db()
    assert application.status == VisaStatus.COMPLETE
    # a good one: both fingers kept, encrypted at rest, their qualities in the event
    casework.application_attend(
        application=application,
        identity_confirmed=True,
        acting_user=officer,
        device=SimulatedFingerprintDevice(quality=80),
    )
    prints = VisaFingerprint.objects.filter(application=application)
    assert sorted(prints.values_list("finger", flat=True)) == ["left_index", "right_index"]
    with db.cursor() as cursor:
        cursor.execute("SELECT image FROM visas_visafingerprint WHERE application_id = %s",
                       [application.pk])  # fmt: skip
        assert all(b"PNG" not in bytes(row[0]) for row in cursor.fetchall())
    assert _events("visas.application.attended")[-1].payload["qualities"] == {
        "left_index": 80,
        "right_index": 80,
    }


def test_the_visit_is_for_a_complete_file(in_mission_a, mission_a):
    application = visa_submitted(mission_a)
    with pytest.raises(ApplicationError) as refused:
        casework.application_attend(
            application=application,
            identity_confirmed=True,
            acting_user=make_staff(mission_a, "officer"),
        )
    assert refused.value.code.value == "bad_transition"


# --- recommendation and decision ------------------------------------------------------------


def test_the_recommendation_waits_for_the_screening(in_mission_a, mission_a):
    application = visa_attended(mission_a)
    with pytest.raises(ApplicationError) as refused:
        casework.application_recommend(
            application=application,
            issue=True,
            acting_user=make_staff(mission_a, "officer"),
        )
    assert refused.value.code.value == "visas.not_screened"


def test_a_refusal_recommendation_names_a_ground(in_mission_a, mission_a):
    from visas.services import screening

    application = visa_attended(mission_a)
    officer = make_staff(mission_a, "officer")
    screening.screening_run(application=application, acting_user=officer)
    for grounds in ([], ["nonsense"]):
        with pytest.raises(ApplicationError) as refused:
            casework.application_recommend(
                application=application, issue=False, grounds=grounds, acting_user=officer
            )
        assert refused.value.code.value in ("visas.grounds_required", "visas.invalid")
    casework.application_recommend(
        application=application, issue=False, grounds=["means"], acting_user=officer
    )
    application.refresh_from_db()
    assert application.status == VisaStatus.RECOMMENDED
    assert application.recommendation_grounds == ["means"]


def test_a_decision_on_an_incomplete_file_is_impossible(in_mission_a, mission_a):
    application = visa_submitted(mission_a)
    consul = make_staff(mission_a, "consul")
    for issue in (True, False):
        with pytest.raises(ApplicationError) as refused:
            casework.application_decide(
                application=application, issue=issue, grounds=["purpose"], acting_user=consul
            )
        assert refused.value.code.value == "bad_transition"
    application.refresh_from_db()
    assert application.status == VisaStatus.SUBMITTED
    assert application.decided_by_id is None
    # nor can the database be made to hold one, even by the application's role
    from tests.consulate.test_database_roles import app_role_on_this_connection

    app_role_on_this_connection()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visas_visaapplication SET status = 'refused', decided_by_id = -1,"
            " recommended_by_id = -2, decided_at = now(), refusal_grounds = '[\"purpose\"]'"
            " WHERE id = %s",
            [application.pk],
        )


def test_a_recommendation_names_every_field_refused_at_once(in_mission_a, mission_a):
    from visas.services import screening

    application = visa_attended(mission_a)
    officer = make_staff(mission_a, "officer")
    screening.screening_run(application=application, acting_user=officer)
    with pytest.raises(ApplicationError) as refused:
        casework.application_recommend(
            application=application, issue=False, grounds=["nonsense"], note="x\x00y",
            acting_user=officer,
        )  # fmt: skip
    assert set(refused.value.errors) == {"grounds", "note"}
    application.refresh_from_db()
    assert application.status == VisaStatus.ATTENDED


def test_a_step_on_a_case_moved_meanwhile_says_so_before_any_fields_reason(in_mission_a, mission_a):
    # given a case recommended, then decided
    application = visa_recommended(mission_a)
    # when a second officer recommends a refusal with no ground, it is the case's state that
    # is said, not the missing ground
    with pytest.raises(ApplicationError) as recommended:
        casework.application_recommend(
            application=application, issue=False, grounds=[],
            acting_user=make_staff(mission_a, "officer"),
        )  # fmt: skip
    assert recommended.value.code.value == "bad_transition"
    assert not recommended.value.errors
    casework.application_decide(
        application=application, issue=False, grounds=["means"],
        acting_user=make_staff(mission_a, "consul"),
    )  # fmt: skip
    # and a consul sending the decided case back with no reason hears that it is decided
    with pytest.raises(ApplicationError) as returned:
        casework.application_return(
            application=application, reason="", acting_user=make_staff(mission_a, "consul")
        )
    assert returned.value.code.value == "bad_transition"
    assert str(returned.value.message) == "Only a recommended case can be sent back."
    application.refresh_from_db()
    assert application.status == VisaStatus.REFUSED


def test_one_person_holding_two_roles_cannot_recommend_and_decide(in_mission_a, mission_a):
    # given someone who is both officer and consul, who recommended the case
    both = make_staff(mission_a, "officer")
    MembershipFactory(user=both, mission=mission_a, role="consul")
    application = visa_recommended(mission_a, officer=both)
    # when they try to decide it
    with pytest.raises(ApplicationError) as refused:
        casework.application_decide(application=application, issue=True, acting_user=both)
    # then the service refuses, and nothing changes
    assert refused.value.code.value == "visas.four_eyes"
    application.refresh_from_db()
    assert application.status == VisaStatus.RECOMMENDED


def test_the_database_refuses_a_decision_by_the_recommender(in_mission_a, mission_a):
    from tests.consulate.test_database_roles import app_role_on_this_connection

    application = visa_recommended(mission_a)
    # as the application's role, which the running system uses
    app_role_on_this_connection()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visas_visaapplication SET status = 'refused', decided_by_id ="
            " recommended_by_id, decided_at = now(), refusal_grounds = '[\"purpose\"]'"
            " WHERE id = %s",
            [application.pk],
        )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visas_visaapplication SET status = 'refused', decided_by_id = -1,"
            " decided_at = now(), refusal_grounds = '[]' WHERE id = %s",
            [application.pk],
        )
    assert VisaApplication.objects.get(pk=application.pk).status == VisaStatus.RECOMMENDED


def test_the_consul_issues_the_visa(in_mission_a, mission_a, django_capture_on_commit_callbacks):
    application = visa_recommended(mission_a)
    numbers_allocate(mission_a)
    consul = make_staff(mission_a, "consul")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        casework.application_decide(application=application, issue=True, acting_user=consul)
    application.refresh_from_db()
    assert application.status == VisaStatus.ISSUED
    assert application.visa_number
    assert application.visa_mrz
    assert application.visa_valid_from == application.entry_date
    assert application.visa_valid_until == application.exit_date
    event = _events("visas.application.issued")[0]
    assert event.payload["visa_number_index"] == application.visa_number_index
    assert event.payload["valid_from"] == application.entry_date.isoformat()
    assert "surname" not in event.payload
    assert event.sealed_for_hq if hasattr(event, "sealed_for_hq") else True
    assert len(mail.outbox) == 1
    assert application.visa_number in mail.outbox[0].body
    assert "Visa issued" in mail.outbox[0].subject


def test_a_refusal_is_a_letter_with_the_grounds_and_the_appeal(
    in_mission_a, mission_a, django_capture_on_commit_callbacks
):
    application = visa_recommended(mission_a, issue=False, grounds=["means"])
    consul = make_staff(mission_a, "consul")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        casework.application_decide(
            application=application,
            issue=False,
            grounds=["means", "return_intention"],
            note="The bank statements show no regular income.",
            acting_user=consul,
        )
    application.refresh_from_db()
    assert application.status == VisaStatus.REFUSED
    assert application.refusal_grounds == ["means", "return_intention"]
    event = _events("visas.application.refused")[0]
    assert event.payload["grounds"] == ["means", "return_intention"]
    body = mail.outbox[0].body
    assert "proof of sufficient means of subsistence" in body
    assert "intention to leave before the visa expires" in body
    assert "no regular income" in body
    deadline = casework.appeal_deadline(application)
    assert deadline == mission_a.today() + dt.timedelta(days=casework.APPEAL_DAYS)
    assert f"{deadline:%-d %B %Y} (Europe/Berlin)" in body
    assert "Write to the" in body
    step = VisaStep.objects.get(application=application, step=Step.REFUSED)
    assert "proof of sufficient means" in step.note
    assert f"{deadline:%-d %B %Y}" in step.note


def test_sending_back_clears_the_recommendation(in_mission_a, mission_a):
    application = visa_recommended(mission_a)
    consul = make_staff(mission_a, "consul")
    with pytest.raises(ApplicationError):
        casework.application_return(application=application, reason=" ", acting_user=consul)
    casework.application_return(
        application=application, reason="Check the invitation.", acting_user=consul
    )
    application.refresh_from_db()
    assert application.status == VisaStatus.ATTENDED
    assert application.recommended_by_id is None
    assert _events("visas.application.returned")


# --- the extension ------------------------------------------------------------------------------


def test_the_period_extends_with_a_reason_up_to_45_days(
    in_mission_a, mission_a, django_capture_on_commit_callbacks
):
    application = visa_attended(mission_a)
    consul = make_staff(mission_a, "consul")
    admissible = application.admissible_at.astimezone(mission_a.zone).date()
    with pytest.raises(ApplicationError) as too_far:
        casework.deadline_extend(
            application=application,
            until=admissible + dt.timedelta(days=46),
            reason="Consulting the host's authorities.",
            acting_user=consul,
        )
    assert too_far.value.code.value == "visas.deadline"
    with pytest.raises(ApplicationError) as no_reason:
        casework.deadline_extend(
            application=application,
            until=admissible + dt.timedelta(days=30),
            reason="",
            acting_user=consul,
        )
    assert no_reason.value.code.value == "visas.reason_required"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        casework.deadline_extend(
            application=application,
            until=admissible + dt.timedelta(days=45),
            reason="Consulting the host's authorities.",
            acting_user=consul,
        )
    application.refresh_from_db()
    assert application.due_on == admissible + dt.timedelta(days=45)
    assert _events("visas.application.extended")[0].payload["decision_due_on"] == (
        application.due_on.isoformat()
    )
    assert "Consulting the host's authorities." in mail.outbox[0].body
    officer = make_staff(mission_a, "officer")
    with pytest.raises(ApplicationError) as not_allowed:
        casework.deadline_extend(
            application=application,
            until=admissible + dt.timedelta(days=40),
            reason="x",
            acting_user=officer,
        )
    assert not_allowed.value.code.value == "not_allowed"


# --- the appeal -----------------------------------------------------------------------------------


def test_an_appeal_is_decided_by_another_consul(in_mission_a, mission_a):
    # given a refusal whose appeal a consul recorded at the counter
    recorder_consul = make_staff(mission_a, "consul")
    appeal2 = casework.appeal_record(
        application=visa_refused(mission_a),
        lodged_on=mission_a.today(),
        statement="The invitation letter was misread.",
        acting_user=recorder_consul,
    )
    application = appeal2.application
    application.refresh_from_db()
    assert application.status == VisaStatus.APPEALED
    # the one who recorded it cannot decide it
    with pytest.raises(ApplicationError) as refused:
        casework.appeal_decide(
            appeal=appeal2, uphold=True, note="No new facts.", acting_user=recorder_consul
        )
    assert refused.value.code.value == "visas.four_eyes"
    casework.appeal_decide(
        appeal=appeal2,
        uphold=True,
        note="No new facts.",
        acting_user=make_staff(mission_a, "consul"),
    )
    application.refresh_from_db()
    assert application.status == VisaStatus.REFUSED
    assert VisaStep.objects.filter(application=application, step=Step.APPEAL_UPHELD).exists()
    assert _events("visas.appeal.decided")[0].payload["upheld"] is True


def test_a_granted_appeal_reopens_the_examination(in_mission_a, mission_a):
    appeal = visa_appealed(mission_a)
    casework.appeal_decide(
        appeal=appeal,
        uphold=False,
        note="The invitation is genuine.",
        acting_user=make_staff(mission_a, "consul"),
    )
    application = VisaApplication.objects.get(pk=appeal.application_id)
    assert application.status == VisaStatus.ATTENDED
    assert application.decided_by_id is None
    assert application.recommended_by_id is None
    # a new recommendation needs a new screening
    with pytest.raises(ApplicationError) as refused:
        casework.application_recommend(
            application=application, issue=True, acting_user=make_staff(mission_a, "officer")
        )
    assert refused.value.code.value == "visas.not_screened"


def test_an_appeal_out_of_time_is_refused(in_mission_a, mission_a):
    application = visa_refused(mission_a)
    officer = make_staff(mission_a, "officer")
    VisaApplication.objects.filter(pk=application.pk).update(
        decided_at=timezone.now() - dt.timedelta(days=casework.APPEAL_DAYS + 2)
    )
    application.refresh_from_db()
    with pytest.raises(ApplicationError) as late:
        casework.appeal_record(
            application=application,
            lodged_on=mission_a.today(),
            statement="Late.",
            acting_user=officer,
        )
    assert late.value.code.value == "visas.deadline"


# --- the end of a visa --------------------------------------------------------------------------


def test_a_revoked_visa_names_its_grounds(
    in_mission_a, mission_a, django_capture_on_commit_callbacks
):
    application = visa_issued(mission_a)
    consul = make_staff(mission_a, "consul")
    with pytest.raises(ApplicationError):
        casework.visa_end(application=application, revoke=True, grounds=[], acting_user=consul)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        casework.visa_end(
            application=application,
            revoke=True,
            grounds=["public_policy"],
            note="Notified by the interior ministry.",
            acting_user=consul,
        )
    application.refresh_from_db()
    assert application.status == VisaStatus.REVOKED
    event = _events("visas.visa.revoked")[0]
    assert event.payload["visa_number_index"] == application.visa_number_index
    assert event.payload["grounds"] == ["public_policy"]
    assert "threat to public policy" in mail.outbox[0].body
    assert "Notified by the interior ministry." in mail.outbox[0].body


def test_a_corrected_application_is_checked_again(in_mission_a, mission_a):
    from tests.visas.factories import item_file
    from visas.reference.models import ChecklistItem
    from visas.services import application as applicant_services

    # given corrections asked for one item
    application = visa_submitted(mission_a)
    officer = make_staff(mission_a, "officer")
    decisions = accept_all(application)
    item = next(iter(decisions))
    casework.completeness_review(
        application=application,
        decisions={**decisions, item: (False, "Unreadable.")},
        acting_user=officer,
    )
    # when the applicant uploads it again and sends the application back
    from consulate.kernel.accounts.models import User

    applicant = User.objects.get(pk=application.user_id)
    kind = ChecklistItem.objects.filter(code=item).values_list("kind", flat=True).first()
    data, name = item_file(kind)
    application.refresh_from_db()
    applicant_services.application_upload_add(
        application=application, item=item, data=data, filename=name, acting_user=applicant
    )
    applicant_services.application_submit(application=application, acting_user=applicant)
    application.refresh_from_db()
    assert application.status == VisaStatus.SUBMITTED
    # then the officer checks it again, deciding on that item alone (the others stay accepted),
    # and it becomes complete, the review of the item updated
    casework.completeness_review(
        application=application, decisions={item: (True, "")}, acting_user=officer
    )
    application.refresh_from_db()
    assert application.status == VisaStatus.COMPLETE
    assert application.corrections_due_on is None
    review = ItemReview.objects.get(application=application, item=item)
    assert review.status == "accepted"
    assert review.reason == ""
    assert review.upload is not None
    assert review.upload.is_current


def test_the_database_refuses_an_appeal_decided_by_its_recorder(in_mission_a, mission_a):
    from tests.consulate.test_database_roles import app_role_on_this_connection

    appeal = visa_appealed(mission_a)
    app_role_on_this_connection()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visas_appeal SET status = 'upheld', decided_by_id = recorded_by_id,"
            " decided_at = now(), decision_note = 'No.' WHERE id = %s",
            [appeal.pk],
        )


def test_a_consul_who_recommended_before_a_send_back_never_decides(in_mission_a, mission_a):
    # given a case consul 1 recommended, sent back twice, now recommended by an officer
    application = visa_recommended(mission_a)
    consul_1, consul_2 = make_staff(mission_a, "consul"), make_staff(mission_a, "consul")
    officer = make_staff(mission_a, "officer")
    casework.application_return(application=application, reason="Look again.", acting_user=consul_2)
    application.refresh_from_db()
    casework.application_recommend(
        application=application, issue=False, grounds=["purpose"], acting_user=consul_1
    )
    application.refresh_from_db()
    casework.application_return(application=application, reason="Again.", acting_user=consul_2)
    application.refresh_from_db()
    casework.application_recommend(
        application=application, issue=False, grounds=["purpose"], acting_user=officer
    )
    application.refresh_from_db()
    # when consul 1 decides
    with pytest.raises(ApplicationError) as refused:
        casework.application_decide(
            application=application, issue=False, grounds=["purpose"], acting_user=consul_1
        )
    # then four eyes: the earlier recommendation counts, and nothing changed
    assert refused.value.code.value == "visas.four_eyes"
    application.refresh_from_db()
    assert application.status == VisaStatus.RECOMMENDED


def test_the_refusing_consul_never_decides_the_appeal(in_mission_a, mission_a):
    consul = make_staff(mission_a, "consul")
    appeal = visa_appealed(mission_a, consul=consul)
    with pytest.raises(ApplicationError) as refused:
        casework.appeal_decide(
            appeal=appeal, uphold=True, note="I stand by it.", acting_user=consul
        )
    assert refused.value.code.value == "visas.four_eyes"
    assert appeal.refused_by_id == consul.pk


def test_raw_sql_cannot_rewrite_who_recommended_or_recorded(in_mission_a, mission_a):
    from tests.consulate.test_database_roles import app_role_on_this_connection

    application = visa_recommended(mission_a)
    appeal = visa_appealed(mission_a)
    app_role_on_this_connection()
    # the recommender rewritten in the statement that records the decision
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visas_visaapplication SET status = 'refused', decided_by_id ="
            " recommended_by_id, recommended_by_id = -777, decided_at = now(),"
            " refusal_grounds = '[\"purpose\"]' WHERE id = %s",
            [application.pk],
        )
    # or alone, before it
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visas_visaapplication SET recommended_by_id = -777 WHERE id = %s",
            [application.pk],
        )
    # an appeal's recorder or refusing consul rewritten
    for column in ("recorded_by_id", "refused_by_id"):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE visas_appeal SET status = 'upheld', decided_by_id = {column},"
                f" {column} = -777, decided_at = now(), decision_note = 'x' WHERE id = %s",
                [appeal.pk],
            )
    assert VisaApplication.objects.get(pk=application.pk).status == VisaStatus.RECOMMENDED


def test_a_validity_at_the_end_of_the_calendar_is_refused(in_mission_a, mission_a):
    application = visa_recommended(mission_a)
    numbers_allocate(mission_a)
    with pytest.raises(ApplicationError) as refused:
        casework.application_decide(
            application=application,
            issue=True,
            valid_from=dt.date(9999, 12, 31),
            acting_user=make_staff(mission_a, "consul"),
        )
    assert refused.value.field == "valid_from"
    application.refresh_from_db()
    assert application.status == VisaStatus.RECOMMENDED
