"""The citizen's side: draft, photo, submission, visit, withdrawal, through the real services."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.utils import translation

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from fees.models import Assessment
from passports import services
from passports.models import (
    Application,
    ApplicationStatus,
    DocumentReport,
    Photo,
    PhotoAttempt,
)
from sync.models import OutboxEvent
from tests.conftest import make_staff
from tests.factories import UserFactory
from tests.passports.factories import (
    application_draft,
    application_paid,
    application_submitted,
    birth_years_ago,
)
from tests.passports.photos import photo_bytes, spec_vary

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def test_a_draft_keeps_what_is_valid_and_says_what_is_not(in_mission_a):
    # given a draft
    citizen = UserFactory()
    application = services.application_start(kind="first", acting_user=citizen, language="tr")
    # when the citizen types a good surname, a birth date at the end of the calendar and a NUL
    saved = services.application_draft_save(
        application=application,
        values={"surname": "Öztürk", "birth_date": "9999-12-31", "birth_place": "Bursa\x00"},
        acting_user=citizen,
    )
    # then the surname is kept and the others are refused, each with its message
    assert saved.saved == ["surname"]
    assert set(saved.errors) == {"birth_date", "birth_place"}
    application.refresh_from_db()
    assert application.surname == "Öztürk"
    assert application.birth_date is None
    assert application.birth_place == ""


@pytest.mark.parametrize(
    "typed",
    ["12345678901", "02345678950", "1234567895", "123456789500", "12345678950\x00"],
    ids=["check-digits", "leading-zero", "ten-digits", "twelve-digits", "nul"],
)
def test_a_national_id_the_issuing_states_check_refuses_is_not_kept(in_mission_a, typed):
    # given a draft (the issuing state is TUR: a T.C. Kimlik No., 11 digits with two checks)
    citizen = UserFactory()
    application = services.application_start(kind="first", acting_user=citizen, language="en")
    # when the citizen types a number the check refuses
    saved = services.application_draft_save(
        application=application, values={"national_id": typed}, acting_user=citizen
    )
    # then it is refused beside the field and nothing is kept
    assert saved.saved == []
    assert list(saved.errors) == ["national_id"]
    application.refresh_from_db()
    assert application.national_id == ""


def test_a_state_without_a_known_check_keeps_the_pattern_alone(in_mission_a, settings):
    # given an issuing state whose national number python-stdnum does not check here
    settings.CONSULATE_ISSUING_STATE = "D"
    citizen = UserFactory()
    application = services.application_start(kind="first", acting_user=citizen, language="en")
    # when a number of letters and digits is typed
    saved = services.application_draft_save(
        application=application, values={"national_id": "L01X00T47"}, acting_user=citizen
    )
    # then it is kept as typed
    assert saved.saved == ["national_id"]
    application.refresh_from_db()
    assert application.national_id == "L01X00T47"


def test_the_draft_is_the_accounts_from_any_device_and_nobody_elses(in_mission_a):
    # given a citizen's draft
    application = application_draft(photo=False)
    stranger = UserFactory()
    # when someone else tries to save into it, add a photo or submit it
    for attempt in (
        lambda: services.application_draft_save(
            application=application, values={"surname": "X"}, acting_user=stranger
        ),
        lambda: services.application_photo_add(
            application=application, data=photo_bytes(), acting_user=stranger
        ),
        lambda: services.application_submit(application=application, acting_user=stranger),
    ):
        with pytest.raises(ApplicationError) as refused:
            attempt()
        # then it does not exist for them
        assert refused.value.code.name == "NOT_FOUND"
    application.refresh_from_db()
    assert application.surname == "Yılmaz"


def test_personal_data_is_not_in_clear_in_the_database(in_mission_a):
    # given a draft with a national ID and a previous passport
    application = application_draft(photo=False, national_id="12345678950")
    # when the row is read with raw SQL
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT surname, national_id, previous_document, birth_date, address"
            " FROM passports_application WHERE id = %s",
            [application.pk],
        )
        row = cursor.fetchone()
    # then none of it is readable
    raw = b"".join(bytes(value) for value in row)
    for clear in (b"Y\xc4\xb1lmaz", b"12345678950", b"U12345678", b"1988-04-12", b"Berlin"):
        assert clear not in raw
    # and the blind index finds it by national ID
    assert Application.objects.filter(national_id_index__matches="123 4567 8950").exists()


def test_a_bad_photo_is_refused_with_its_reason_and_keeps_nothing(in_mission_a):
    # given a draft
    application = application_draft(photo=False)
    citizen = application.user_id
    # when the citizen uploads a photo whose face is far too small
    result = services.application_photo_add(
        application=application,
        data=photo_bytes(spec_vary(head_fraction=0.4)),
        acting_user=User.objects.get(pk=citizen),
    )
    # then it is refused with its problem, nothing of the image is kept, the attempt is
    assert not result.accepted
    assert result.problems
    assert not Photo.objects.filter(application=application).exists()
    attempt = PhotoAttempt.objects.get(application=application)
    assert attempt.problems == [str(problem.value) for problem in result.problems]


def test_an_accepted_photo_is_stored_reencoded_and_encrypted(in_mission_a):
    application = application_draft()
    photo = Photo.objects.get(application=application, is_current=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT jpeg FROM passports_photo WHERE id = %s", [photo.pk])
        (raw,) = cursor.fetchone()
    assert b"/9j/" not in bytes(raw)  # no base64 JPEG header in clear
    assert photo.width > 0
    assert photo.height > photo.width


def test_submission_needs_everything_and_says_what_is_missing(in_mission_a):
    # given a draft without photo, phone or previous passport
    application = application_draft(photo=False, phone="", previous_document="")
    citizen = User.objects.get(pk=application.user_id)
    # when it is submitted
    with pytest.raises(ApplicationError) as refused:
        services.application_submit(application=application, acting_user=citizen)
    # then each missing piece is named, and nothing changed
    assert refused.value.code.value == "passports.incomplete"
    assert {"photo", "phone", "previous_document"} <= set(refused.value.errors)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    assert not OutboxEvent.objects.filter(topic="passports.application.submitted").exists()


def test_submission_assesses_the_fee_records_the_event_and_mails_the_citizen(
    in_mission_a, django_capture_on_commit_callbacks
):
    # when a complete draft is submitted
    with django_capture_on_commit_callbacks(execute=True):
        application = application_submitted()
    # then the fee is assessed at the schedule's rate for the case
    assessment = Assessment.objects.get(pk=application.assessment_id)
    assert assessment.subject_ref == application.reference
    assert [line.service for line in assessment.lines.all()] == ["passport_application"]
    # the event is recorded and the e-mail queued
    event = OutboxEvent.objects.get(topic="passports.application.submitted")
    assert event.aggregate_id == str(application.pk)
    assert event.payload["kind"] == "renewal"
    assert "Yılmaz" not in str(event.payload)
    assert len(mail.outbox) == 1
    assert application.reference in mail.outbox[0].subject


def test_a_childs_passport_needs_a_child_and_the_other_parents_consent(in_mission_a):
    application = application_draft(
        kind="child", previous_document="", birth_date=birth_years_ago(30)
    )
    missing = services.application_missing(application=application)
    assert {"birth_date", "other_parent_name", "other_parent_consent"} <= set(missing)
    # and an adult's kind for a child is refused too
    minor = application_draft(kind="first", birth_date=birth_years_ago(9))
    assert "kind" in services.application_missing(application=minor)


def test_a_lost_passport_is_reported_when_the_replacement_is_submitted(in_mission_a):
    application = application_submitted(kind="lost")
    report = DocumentReport.objects.get()
    assert report.kind == "lost"
    assert report.application_id == application.pk
    event = OutboxEvent.objects.get(topic="passports.document.reported")
    assert event.payload["document_index"] == services.document_index(application.previous_document)
    assert application.previous_document not in str(event.payload)


def test_a_renewal_of_a_reported_passport_is_refused(in_mission_a):
    # given a passport reported stolen at the counter
    services.document_report_take(
        kind="stolen", document_number="U 1234-5678", circumstances="", acting_user=SYSTEM
    )
    # when someone applies to renew it
    application = application_draft(previous_document="u12345678")
    citizen = User.objects.get(pk=application.user_id)
    with pytest.raises(ApplicationError) as refused:
        services.application_submit(application=application, acting_user=citizen)
    # then it is refused, pointing to a replacement
    assert refused.value.code.value == "passports.document_reported"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT


def test_one_open_application_per_person(in_mission_a):
    first = application_submitted(national_id="98765432150")
    with pytest.raises(ApplicationError) as refused:
        application_submitted(national_id="98765432150")
    assert refused.value.code.value == "passports.already_open"
    assert Application.objects.filter(status="submitted").count() == 1
    assert first.status == "submitted"


def test_withdrawing_after_the_visit_is_refused(in_mission_a, mission_a):
    from tests.passports.factories import application_biometrics_taken

    application = application_biometrics_taken(mission_a)
    citizen = User.objects.get(pk=application.user_id)
    with pytest.raises(ApplicationError):
        services.application_withdraw(application=application, acting_user=citizen)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.BIOMETRICS_TAKEN


def test_a_name_the_mrz_cannot_write_is_named_before_submission(in_mission_a):
    application = application_draft(surname="Aĸa")
    assert "surname" in services.application_missing(application=application)


def test_the_visit_is_booked_from_the_application_and_given_back_on_withdrawal(in_mission_a):
    # given the mission's passport visits offered through a service set up for them
    from appointments.models import Booking, BookingStatus
    from tests.appointments.factories import build_catalogue

    service = build_catalogue(purpose="passport")
    application = application_submitted()
    citizen = User.objects.get(pk=application.user_id)
    slot = service.slots.order_by("starts_at").last()
    # when the citizen books from the application
    services.application_visit_book(application=application, slot_id=slot.pk, acting_user=citizen)
    application.refresh_from_db()
    booking = Booking.objects.get(pk=application.booking_id)
    assert booking.user_id == citizen.pk
    # and a second booking is refused
    with pytest.raises(ApplicationError):
        services.application_visit_book(
            application=application, slot_id=slot.pk, acting_user=citizen
        )
    # when they withdraw
    services.application_withdraw(application=application, acting_user=citizen)
    # then the place is given back
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


@pytest.mark.parametrize("cancelled_by", ["mission", "citizen"])
def test_a_visit_whose_booking_was_cancelled_is_booked_again(in_mission_a, cancelled_by):
    # given a visit booked from the application, then cancelled by the mission (new opening
    # hours) or by the citizen from My bookings
    from appointments import services as appointments
    from appointments.models import Booking
    from tests.appointments.factories import build_catalogue, hours_dropped

    service = build_catalogue(purpose="passport")
    application = application_submitted()
    citizen = User.objects.get(pk=application.user_id)
    first, second = service.slots.order_by("-starts_at")[:2]
    services.application_visit_book(application=application, slot_id=first.pk, acting_user=citizen)
    application.refresh_from_db()
    booking = Booking.objects.get(pk=application.booking_id)
    if cancelled_by == "mission":
        appointments.booking_cancel_by_mission(booking=hours_dropped(booking), acting_user=SYSTEM)
    else:
        appointments.booking_cancel(booking=booking, acting_user=citizen)
    # when the citizen books the visit again from the application
    services.application_visit_book(application=application, slot_id=second.pk, acting_user=citizen)
    # then the application keeps the new booking, which stands
    application.refresh_from_db()
    rebooked = Booking.objects.get(pk=application.booking_id)
    assert rebooked.pk != booking.pk
    assert rebooked.slot_id == second.pk
    assert rebooked.holds_place


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Your visit was recorded already: no other visit is needed."),
        ("tr", "Ziyaretiniz zaten kaydedildi: başka bir ziyarete gerek yok."),
    ],
)
def test_no_visit_is_booked_once_the_biometrics_are_taken(
    in_mission_a, mission_a, language, message
):
    # given a paid application, as the citizen's page read it, whose biometrics the officer
    # then takes (at a visit without a booking)
    from appointments.models import Booking
    from tests.appointments.factories import build_catalogue

    service = build_catalogue(purpose="passport")
    application = application_paid(mission_a)
    citizen = User.objects.get(pk=application.user_id)
    read_before = Application.objects.get(pk=application.pk)
    services.application_biometrics_take(
        application=application,
        identity_confirmed=True,
        acting_user=make_staff(mission_a, "officer"),
    )
    # when the citizen books a time, from the page read before or after
    for seen in (read_before, Application.objects.get(pk=application.pk)):
        with pytest.raises(ApplicationError) as refused:
            services.application_visit_book(
                application=seen, slot_id=service.slots.last().pk, acting_user=citizen
            )
        # then it is refused, saying why in the citizen's language, and nothing is booked
        with translation.override(language):
            assert str(refused.value.message) == message
    assert not Booking.objects.exists()
    assert Application.objects.get(pk=application.pk).booking_id is None


def test_without_a_visit_service_the_citizen_is_told_to_call(in_mission_a):
    application = application_submitted()
    citizen = User.objects.get(pk=application.user_id)
    with pytest.raises(ApplicationError) as refused:
        services.application_visit_book(application=application, slot_id=1, acting_user=citizen)
    assert refused.value.code.value == "passports.no_visit_service"


def test_a_new_photo_replaces_the_old_one_which_stays_on_record(in_mission_a):
    application = application_draft()
    citizen = User.objects.get(pk=application.user_id)
    first = application.current_photo()
    services.application_photo_add(application=application, data=photo_bytes(), acting_user=citizen)
    first.refresh_from_db()
    assert not first.is_current
    assert application.current_photo().pk != first.pk
    # the replaced photo's change is in its history, with who made it
    assert first.history.filter(is_current=False, history_user_id=citizen.pk).exists()
