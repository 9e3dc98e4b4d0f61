"""The mission's side: the visit, the recommendation and the decision, with four eyes that the
service and the database both keep."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from consulate.kernel.errors import ApplicationError
from passports import services
from passports.devices import SimulatedFingerprintDevice
from passports.models import Application, ApplicationStatus, FingerprintCapture
from passports.selectors import application_timeline
from sync.models import OutboxEvent
from tests.appointments.test_visit_recorded import PASSPORT, _booked, _booking
from tests.conftest import make_staff
from tests.passports.factories import (
    application_biometrics_taken,
    application_paid,
    application_recommended,
    application_submitted,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def test_biometrics_wait_for_the_fee(in_mission_a, mission_a):
    # given a submitted application whose fee is not paid
    application = application_submitted()
    officer = make_staff(mission_a, "officer")
    # when the officer records the visit
    with pytest.raises(ApplicationError) as refused:
        services.application_biometrics_take(
            application=application, identity_confirmed=True, acting_user=officer
        )
    # then it is refused and nothing is captured
    assert refused.value.code.value == "passports.not_paid"
    assert not FingerprintCapture.objects.exists()


def test_biometrics_need_the_identity_check_and_clear_fingerprints(in_mission_a, mission_a):
    application = application_paid(mission_a)
    officer = make_staff(mission_a, "officer")
    with pytest.raises(ApplicationError) as unchecked:
        services.application_biometrics_take(
            application=application, identity_confirmed=False, acting_user=officer
        )
    assert unchecked.value.field == "identity_confirmed"
    with pytest.raises(ApplicationError) as smudged:
        services.application_biometrics_take(
            application=application,
            identity_confirmed=True,
            acting_user=officer,
            device=SimulatedFingerprintDevice(quality=20),
        )
    assert smudged.value.code.value == "passports.fingerprint_quality"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert not FingerprintCapture.objects.exists()


def test_the_visit_captures_both_fingers_encrypted(in_mission_a, mission_a):
    application = application_biometrics_taken(mission_a)
    captures = FingerprintCapture.objects.filter(application=application)
    assert {capture.finger for capture in captures} == {"right_index", "left_index"}
    assert all(capture.quality >= 40 for capture in captures)
    with connection.cursor() as cursor:
        cursor.execute("SELECT image FROM passports_fingerprintcapture")
        assert all(b"iVBOR" not in bytes(raw) for (raw,) in cursor.fetchall())
    assert application.status == ApplicationStatus.BIOMETRICS_TAKEN
    # and biometrics are taken once
    with pytest.raises(ApplicationError):
        services.application_biometrics_take(
            application=application,
            identity_confirmed=True,
            acting_user=make_staff(mission_a, "officer"),
        )


def test_a_refusal_needs_a_reason(in_mission_a, mission_a):
    application = application_biometrics_taken(mission_a)
    officer = make_staff(mission_a, "officer")
    with pytest.raises(ApplicationError) as refused:
        services.application_recommend(
            application=application, recommendation="refuse", reason="  ", acting_user=officer
        )
    assert refused.value.code.value == "passports.reason_required"


def test_the_consul_approves_what_an_officer_recommended(
    in_mission_a, mission_a, django_capture_on_commit_callbacks
):
    # given a recommended case
    application = application_recommended(mission_a)
    consul = make_staff(mission_a, "consul")
    mail.outbox.clear()
    # when a consul approves it
    with django_capture_on_commit_callbacks(execute=True):
        services.application_decide(
            application=application, approve=True, reason="", acting_user=consul
        )
    # then it is approved, with its event, and the citizen is told
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.decided_by_id == consul.pk
    assert OutboxEvent.objects.filter(topic="passports.application.approved").count() == 1
    assert len(mail.outbox) == 1
    assert "Approved" in mail.outbox[0].subject


def test_one_person_holding_two_roles_cannot_recommend_and_decide(in_mission_a, mission_a):
    # given someone who is both officer and consul, who recommended the case
    both = make_staff(mission_a, "officer")
    from tests.factories import MembershipFactory

    MembershipFactory(user=both, mission=mission_a, role="consul")
    application = application_recommended(mission_a, officer=both)
    # when they try to decide it
    with pytest.raises(ApplicationError) as refused:
        services.application_decide(
            application=application, approve=True, reason="", acting_user=both
        )
    # then the service refuses
    assert refused.value.code.value == "passports.four_eyes"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.RECOMMENDED


def test_the_database_refuses_a_decision_by_the_recommender(in_mission_a, mission_a):
    application = application_recommended(mission_a)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE passports_application SET status = 'approved', decided_by_id ="
            " recommended_by_id, decided_at = now() WHERE id = %s",
            [application.pk],
        )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE passports_application SET status = 'refused', decided_by_id = -1,"
            " decided_at = now(), refusal_reason = '' WHERE id = %s",
            [application.pk],
        )
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.RECOMMENDED
    # nor by rewriting who recommended, in the same statement or before it
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE passports_application SET status = 'approved', decided_by_id ="
            " recommended_by_id, recommended_by_id = -777, decided_at = now() WHERE id = %s",
            [application.pk],
        )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE passports_application SET recommended_by_id = -777 WHERE id = %s",
            [application.pk],
        )
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.RECOMMENDED


def test_a_consul_who_recommended_before_a_send_back_never_decides(in_mission_a, mission_a):
    # given a case consul 1 recommended, sent back by consul 2, recommended again by an officer
    consul_1, consul_2 = make_staff(mission_a, "consul"), make_staff(mission_a, "consul")
    application = application_recommended(mission_a, officer=consul_1)
    services.application_return(application=application, reason="Height?", acting_user=consul_2)
    application.refresh_from_db()
    services.application_recommend(
        application=application,
        recommendation="issue",
        reason="",
        acting_user=make_staff(mission_a, "officer"),
    )
    application.refresh_from_db()
    # when consul 1 decides, then four eyes: the earlier recommendation counts
    with pytest.raises(ApplicationError) as refused:
        services.application_decide(
            application=application, approve=True, reason="", acting_user=consul_1
        )
    assert refused.value.code.value == "passports.four_eyes"


def test_a_refusal_reaches_the_citizen_with_its_reason(
    in_mission_a, mission_a, django_capture_on_commit_callbacks
):
    application = application_recommended(mission_a)
    consul = make_staff(mission_a, "consul")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.application_decide(
            application=application,
            approve=False,
            reason="The birth certificate does not match the register.",
            acting_user=consul,
        )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REFUSED
    assert "does not match the register" in mail.outbox[0].body


def test_sending_back_clears_the_recommendation(in_mission_a, mission_a):
    application = application_recommended(mission_a)
    consul = make_staff(mission_a, "consul")
    services.application_return(application=application, reason="Height?", acting_user=consul)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.BIOMETRICS_TAKEN
    assert application.recommended_by_id is None
    # and the officer recommends again, which a consul then decides
    services.application_recommend(
        application=application,
        recommendation="issue",
        reason="",
        acting_user=make_staff(mission_a, "officer"),
    )
    services.application_decide(
        application=application, approve=True, reason="", acting_user=consul
    )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED


def test_a_refused_cases_timeline_keeps_the_steps_it_took(in_mission_a, mission_a):
    # given a case whose biometrics were taken, recommended, then refused by a consul
    application = application_recommended(mission_a)
    services.application_decide(
        application=application,
        approve=False,
        reason="The documents do not prove citizenship.",
        acting_user=make_staff(mission_a, "consul"),
    )
    # then its timeline still says the biometrics were taken, before the refusal, and nothing
    # is ahead of it
    labels = [
        (str(entry.label), entry.done) for entry in application_timeline(application=application)
    ]
    assert [label for label, _done in labels][-2:] == ["Biometrics taken", "Refused"]
    assert all(done for _label, done in labels)


def test_the_decision_is_not_expected_before_the_visit(in_mission_a, mission_a):
    # given a submitted application whose visit is booked after the service level's target
    # (submitted 40 days ago: the target has passed; the visit is days ahead)
    application = _booked(PASSPORT, mission_a)
    type(application).objects.filter(pk=application.pk).update(
        submitted_at=timezone.now() - dt.timedelta(days=40)
    )
    application.refresh_from_db()
    visit = timezone.localdate(_booking(application).slot.starts_at, mission_a.zone)
    # then its timeline expects the biometrics on the visit's day, and the decision no earlier
    # (it promised the decision weeks before the visit: a user trial)
    expected = {
        str(entry.label): entry.expected for entry in application_timeline(application=application)
    }
    assert expected["Biometrics taken"] == visit
    assert expected["Approved"] == visit
