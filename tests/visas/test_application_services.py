"""The applicant's side: draft, uploads, submission, corrections, appointment, withdrawal,
through the real services."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.utils import translation
from django.utils.formats import date_format

from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError
from fees.models import Assessment
from sync.models import OutboxEvent
from tests.conftest import make_staff
from tests.factories import UserFactory
from tests.passports.photos import photo_bytes, spec_vary
from tests.visas.factories import (
    applicant,
    corrections_send,
    pdf_file,
    photo_file,
    reference_ensure,
    visa_draft,
    visa_submitted,
)
from tests.visas.factories_casework import accept_all
from visas.models import (
    FORM_ITEM,
    ItemReview,
    Step,
    Upload,
    VisaApplication,
    VisaStatus,
    VisaStep,
)
from visas.reference.models import VisaCategory
from visas.services import application as services
from visas.services import casework

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def _owner(application: VisaApplication) -> User:
    return User.objects.get(pk=application.user_id)


def _started(category: str = "tourism") -> tuple[VisaApplication, User]:
    reference_ensure(category)
    user = applicant()
    return services.application_start(category=category, acting_user=user), user


def _code(error: pytest.ExceptionInfo[ApplicationError]) -> str:
    return str(error.value.code.value)


# --- starting --------------------------------------------------------------------------------


def test_a_draft_is_started_for_a_category_the_mission_offers(in_mission_a):
    # given the demo categories
    reference_ensure()
    user = applicant()
    # when a person starts a tourist visa
    application = services.application_start(category="tourism", acting_user=user, language="tr")
    # then it is their draft, in their language, and the start is an event
    assert application.status == VisaStatus.DRAFT
    assert application.user_id == user.pk
    assert application.email == user.email
    assert application.language == "tr"
    assert application.reference.startswith("V")
    assert OutboxEvent.objects.filter(
        topic="visas.application.started", aggregate_id=application.pk
    ).exists()


@pytest.mark.parametrize("category", ["nonsense", "", "tourism\x00"])
def test_a_category_not_offered_is_refused(in_mission_a, category):
    reference_ensure()
    with pytest.raises(ApplicationError) as refused:
        services.application_start(category=category, acting_user=applicant())
    assert _code(refused) == "visas.no_category"
    assert not VisaApplication.objects.exists()


def test_an_inactive_category_or_another_missions_addition_is_not_offered(in_mission_a):
    reference_ensure()
    VisaCategory.objects.filter(code="business").update(active=False)
    VisaCategory.objects.create(code="beta_only", name="Beta only", mission="beta", fee_code="x")
    offered = {row.code for row in services_categories()}
    assert "business" not in offered
    assert "beta_only" not in offered
    assert "tourism" in offered
    for category in ("business", "beta_only"):
        with pytest.raises(ApplicationError) as refused:
            services.application_start(category=category, acting_user=applicant())
        assert _code(refused) == "visas.no_category"


def services_categories() -> list[VisaCategory]:
    from visas.selectors import categories_offered

    return categories_offered()


def test_a_missions_own_addition_is_offered_there(in_mission_a):
    reference_ensure()
    VisaCategory.objects.create(
        code="alpha_culture", name="Culture", mission="alpha", fee_code="x", order=1
    )
    assert services_categories()[0].code == "alpha_culture"
    application = services.application_start(category="alpha_culture", acting_user=applicant())
    assert application.category == "alpha_culture"


# --- the form ------------------------------------------------------------------------------


def test_the_form_is_saved_cleaned(in_mission_a):
    # given a draft
    application, user = _started()
    today = in_mission_a.today()
    # when the applicant types values in loose forms
    services.application_draft_save(
        application=application,
        data={
            "surname": "  O’Neil-Smith ",
            "nationality": "usa",
            "passport_issuing_state": "D",
            "passport_number": "ab 123-4567",
            "phone": "+1  617 555 0100",
            "entry_date": (today + dt.timedelta(days=10)).isoformat(),
            "exit_date": (today + dt.timedelta(days=20)).isoformat(),
            "q_first_visit": "yes",
            "unknown": "ignored",
        },
        acting_user=user,
    )
    # then they are stored cleaned
    application.refresh_from_db()
    assert application.surname == "O’Neil-Smith"
    assert application.nationality == "USA"
    assert application.passport_issuing_state == "D"
    assert application.passport_number == "AB1234567"
    assert application.phone == "+1 617 555 0100"
    assert application.entry_date == today + dt.timedelta(days=10)
    assert json.loads(application.answers) == {"first_visit": "yes"}
    assert services.application_answers(application=application) == {"first_visit": "yes"}


def _bad_values(today: dt.date) -> list[tuple[str, str, str]]:
    """field, bad value, a word of the message"""
    past = (today - dt.timedelta(days=1)).isoformat()
    return [
        ("surname", "Smith\x00", "control"),
        ("surname", "R2D2", "letters"),
        ("surname", "A" * 101, "100"),
        ("given_names", "Jane\x07", "control"),
        ("birth_date", "9999-12-31", "1900"),
        ("birth_date", "0001-01-01", "1900"),
        ("birth_date", "12/06/1985", "YYYY-MM-DD"),
        ("birth_date", "1985-02-30", "February 1985 has 28 days"),
        ("birth_date", "1985-13-01", "no month 13"),
        ("birth_place", "x" * 101, "100"),
        ("sex", "Q", "options"),
        ("nationality", "XYZ", "three-letter"),
        ("nationality", "TU", "three-letter"),
        ("nationality", "TURK", "3"),
        ("nationality", "TUR", "Citizens of Türkiye need no visa"),  # the issuing state's own
        ("passport_number", "AB12", "6 to 9"),
        ("passport_number", "ABCDEFGHIJ", "6 to 9"),
        ("passport_number", "AB€12345", "6 to 9"),
        ("passport_issuing_state", "QQQ", "three-letter"),
        ("passport_expires_on", "9999-12-31", "expiry"),
        ("passport_expires_on", "0001-01-01", "expiry"),
        ("address", "a" * 501, "500"),
        ("address", "Street\x00 1", "control"),
        ("phone", "call me", "country code"),
        ("occupation", "o" * 201, "200"),
        ("entry_date", past, "past"),
        ("entry_date", "9999-12-31", "two years"),
        ("exit_date", "0001-01-01", "past"),
        ("entries", "Z", "options"),
        ("stay_address", "\x1b[31m", "control"),
        ("host_name", "h" * 201, "200"),
        ("previous_visas", "v" * 2001, "2000"),
        ("previous_refusals", "\x00", "control"),
        ("means", "m" * 2001, "2000"),
        ("q_first_visit", "maybe", "yes or no"),
    ]


def test_every_field_refuses_bad_input_with_its_message_and_nothing_changes(in_mission_a):
    # given a draft with a surname
    application, user = _started()
    services.application_draft_save(
        application=application, data={"surname": "Smith"}, acting_user=user
    )
    before = VisaApplication.objects.get(pk=application.pk)
    for name, value, word in _bad_values(in_mission_a.today()):
        # when one bad value comes with a good one
        with pytest.raises(ApplicationError) as refused:
            services.application_draft_save(
                application=application,
                data={name: value, "host_address": "Somewhere 1"},
                acting_user=user,
            )
        # then it is refused, named, with its message, and nothing is saved
        assert _code(refused) == "visas.invalid", name
        assert set(refused.value.errors) == {name}, (name, refused.value.errors)
        assert word.lower() in refused.value.errors[name][0].lower(), (name, refused.value.errors)
        after = VisaApplication.objects.get(pk=application.pk)
        assert after.host_address == before.host_address == ""
        assert after.updated_at == before.updated_at


def test_the_journey_must_fit_the_category(in_mission_a):
    # given a transit draft (a stay of at most two days)
    application, user = _started("transit")
    today = in_mission_a.today()
    day = today + dt.timedelta(days=20)
    # when the departure is before the arrival
    with pytest.raises(ApplicationError) as refused:
        services.application_draft_save(
            application=application,
            data={
                "entry_date": day.isoformat(),
                "exit_date": (day - dt.timedelta(days=1)).isoformat(),
            },
            acting_user=user,
        )
    assert "before the arrival" in refused.value.errors["exit_date"][0]
    # when the stay is longer than the category allows
    with pytest.raises(ApplicationError) as refused:
        services.application_draft_save(
            application=application,
            data={
                "entry_date": day.isoformat(),
                "exit_date": (day + dt.timedelta(days=5)).isoformat(),
            },
            acting_user=user,
        )
    assert "at most 2 days" in refused.value.errors["exit_date"][0]
    # when only the arrival moves after a saved departure
    services.application_draft_save(
        application=application,
        data={"entry_date": day.isoformat(), "exit_date": (day + dt.timedelta(days=1)).isoformat()},
        acting_user=user,
    )
    with pytest.raises(ApplicationError) as refused:
        services.application_draft_save(
            application=application,
            data={"entry_date": (day + dt.timedelta(days=3)).isoformat()},
            acting_user=user,
        )
    assert set(refused.value.errors) == {"entry_date"}
    application.refresh_from_db()
    assert application.entry_date == day


def test_autosave_keeps_the_valid_values_and_answers_the_others(in_mission_a):
    application, user = _started()
    saved = services.application_draft_autosave(
        application=application,
        data={"surname": "Öztürk", "nationality": "ZZZ", "q_first_visit": "no"},
        acting_user=user,
    )
    assert sorted(saved.saved) == ["answers", "surname"]
    assert set(saved.errors) == {"nationality"}
    application.refresh_from_db()
    assert application.surname == "Öztürk"
    assert application.nationality == ""


def test_the_draft_is_the_accounts_from_any_device_and_nobody_elses(in_mission_a):
    # given someone's complete draft
    application = visa_draft(in_mission_a)
    stranger = UserFactory()
    # when someone else saves, uploads, submits, books or withdraws
    for attempt in (
        lambda: services.application_draft_save(
            application=application, data={"surname": "X"}, acting_user=stranger
        ),
        lambda: services.application_upload_add(
            application=application,
            item="passport_copy",
            data=pdf_file(),
            filename="p.pdf",
            acting_user=stranger,
        ),
        lambda: services.application_submit(application=application, acting_user=stranger),
        lambda: services.application_visit_book(
            application=application, slot_id=1, acting_user=stranger
        ),
        lambda: services.application_withdraw(application=application, acting_user=stranger),
    ):
        with pytest.raises(ApplicationError) as refused:
            attempt()
        # then it does not exist for them
        assert refused.value.code.name == "NOT_FOUND"
    # and the owner's fresh copy (another device) reads the same
    again = VisaApplication.objects.get(reference=application.reference)
    assert again.surname == "Smith"
    assert again.status == VisaStatus.DRAFT


def test_personal_data_is_not_in_clear_in_the_database(in_mission_a):
    application = visa_draft(in_mission_a, passport_number="X1234567")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT surname, passport_number, address, means FROM visas_visaapplication"
            " WHERE id = %s",
            [application.pk],
        )
        row = cursor.fetchone()
    assert "Smith" not in str(row)
    assert "X1234567" not in str(row)
    cursor_text = Upload.objects.filter(application=application).values_list("content", flat=True)
    assert all(text for text in cursor_text)


# --- the files -----------------------------------------------------------------------------


def test_a_replaced_file_stays_on_record_with_its_history(in_mission_a):
    # given a draft with its passport copy
    application = visa_draft(in_mission_a)
    user = _owner(application)
    first = Upload.objects.get(application=application, item="passport_copy")
    # when another file replaces it
    second = services.application_upload_add(
        application=application,
        item="passport_copy",
        data=pdf_file(),
        filename="again.pdf",
        acting_user=user,
    )
    # then the new one is current, the old one kept, its change in its history with who made it
    first.refresh_from_db()
    assert second.is_current
    assert not first.is_current
    assert Upload.objects.filter(application=application, item="passport_copy").count() == 2
    assert first.history.filter(is_current=False, history_user_id=user.pk).exists()
    assert second.content_type == "application/pdf"
    assert second.pages == 1
    assert second.filename == "again.pdf"


def test_an_unknown_item_or_a_bad_file_is_refused_and_nothing_kept(in_mission_a):
    application, user = _started()
    with pytest.raises(ApplicationError) as refused:
        services.application_upload_add(
            application=application,
            item="nonsense",
            data=pdf_file(),
            filename="x.pdf",
            acting_user=user,
        )
    assert refused.value.field == "item"
    with pytest.raises(ApplicationError) as refused:
        services.application_upload_add(
            application=application,
            item="passport_copy",
            data=b"MZ\x90\x00" + b"\x00" * 2000,
            filename="x.pdf",
            acting_user=user,
        )
    assert _code(refused) == "visas.upload_refused"
    assert not Upload.objects.exists()


def test_the_photo_is_checked_as_a_passport_photo(in_mission_a):
    # given a draft
    application, user = _started()
    # when the photo's face is too small
    with pytest.raises(ApplicationError) as refused:
        services.application_upload_add(
            application=application,
            item="photo",
            data=photo_bytes(spec_vary(head_fraction=0.4)),
            filename="me.jpg",
            acting_user=user,
        )
    # then it is refused with the reason, and nothing kept
    assert _code(refused) == "visas.upload_refused"
    assert "face" in str(refused.value.message).lower()
    assert refused.value.details["problems"]
    assert not Upload.objects.exists()
    # when a good one comes, it is kept as a JPEG without metadata
    upload = services.application_upload_add(
        application=application,
        item="photo",
        data=photo_file(),
        filename="me.jpg",
        acting_user=user,
    )
    assert upload.content_type == "image/jpeg"
    assert upload.is_current


# --- submitting -------------------------------------------------------------------------------


def test_the_submission_names_everything_missing(in_mission_a):
    # given a draft with some fields and no files
    application = visa_draft(in_mission_a, uploads=False, means=None, q_first_visit=None)
    services.application_draft_save(
        application=application, data={"stay_address": ""}, acting_user=_owner(application)
    )
    # when it is submitted
    with pytest.raises(ApplicationError) as refused:
        services.application_submit(application=application, acting_user=_owner(application))
    # then each missing field, answer and required item is named
    assert _code(refused) == "visas.incomplete"
    errors = refused.value.errors
    assert {"means", "stay_address", "q_first_visit", "item_photo", "item_passport_copy"} <= set(
        errors
    )
    assert "photo" in errors["item_photo"][0].lower()
    application.refresh_from_db()
    assert application.status == VisaStatus.DRAFT
    assert application.assessment_id is None


def test_the_passport_must_outlast_the_stay_by_three_months(in_mission_a):
    today = in_mission_a.today()
    application = visa_draft(in_mission_a)
    user = _owner(application)
    soon = (today + dt.timedelta(days=60)).isoformat()
    # the step refuses a passport that ends within three months of the departure
    with pytest.raises(ApplicationError) as refused:
        services.application_draft_save(
            application=application, data={"passport_expires_on": soon}, acting_user=user
        )
    assert set(refused.value.errors) == {"passport_expires_on"}
    assert "three months" in refused.value.errors["passport_expires_on"][0]
    # and a departure too late for the saved passport, named on the departure
    services.application_draft_save(
        application=application,
        data={"passport_expires_on": (today + dt.timedelta(days=190)).isoformat()},
        acting_user=user,
    )
    saved = services.application_draft_autosave(
        application=application,
        data={"exit_date": (today + dt.timedelta(days=110)).isoformat()},
        acting_user=user,
    )
    assert saved.saved == []
    assert "three months" in saved.errors["exit_date"]
    # with the last day it allows to leave (the passport's expiry less three months)
    latest = date_format(today + dt.timedelta(days=100), "j F Y")
    assert f"leave by {latest} at the latest" in saved.errors["exit_date"]
    with translation.override("tr"):
        turkish = services.application_draft_autosave(
            application=application,
            data={"exit_date": (today + dt.timedelta(days=110)).isoformat()},
            acting_user=user,
        )
        assert (
            f"en geç {date_format(today + dt.timedelta(days=100), 'j F Y')}"
            in (turkish.errors["exit_date"])
        )
    # and when even the arrival is too late for it, no earlier departure helps: a newer
    # passport does (a trial was told to "choose an earlier date" five weeks before expiry)
    application.refresh_from_db()
    short = application.entry_date + dt.timedelta(days=35)
    VisaApplication.objects.filter(pk=application.pk).update(passport_expires_on=short)
    application.refresh_from_db()
    too_late = services.application_draft_autosave(
        application=application,
        data={"exit_date": (application.entry_date + dt.timedelta(days=3)).isoformat()},
        acting_user=user,
    )
    assert too_late.errors["exit_date"] == (
        f"Your passport is valid until {date_format(short, 'j F Y')}, not three months after"
        " this journey: apply with a newer passport."
    )
    # the review still says so of what was stored before (the rule, or a passport, changed)
    VisaApplication.objects.filter(pk=application.pk).update(
        passport_expires_on=today + dt.timedelta(days=60)
    )
    application.refresh_from_db()
    missing = services.application_missing(application=application)
    assert "three months" in missing["passport_expires_on"]


def test_an_expired_passport_is_refused_at_its_field(in_mission_a):
    application, user = _started()
    yesterday = in_mission_a.today() - dt.timedelta(days=1)
    with pytest.raises(ApplicationError) as refused:
        services.application_draft_save(
            application=application,
            data={"passport_expires_on": yesterday.isoformat()},
            acting_user=user,
        )
    assert refused.value.errors == {"passport_expires_on": ["This passport has expired."]}
    # the last day of its validity is still valid
    services.application_draft_save(
        application=application,
        data={"passport_expires_on": in_mission_a.today().isoformat()},
        acting_user=user,
    )
    application.refresh_from_db()
    assert application.passport_expires_on == in_mission_a.today()


def test_autosave_never_stores_an_arrival_after_the_saved_departure(in_mission_a):
    # given a draft with an arrival and a departure nine days later
    entry = in_mission_a.today() + dt.timedelta(days=30)
    exit_ = entry + dt.timedelta(days=9)
    application = visa_draft(
        in_mission_a, uploads=False, entry_date=entry.isoformat(), exit_date=exit_.isoformat()
    )
    user = _owner(application)
    later = (entry + dt.timedelta(days=31)).isoformat()
    # when the arrival comes after the departure, the departure sent as it was
    saved = services.application_draft_autosave(
        application=application,
        data={"entry_date": later, "exit_date": exit_.isoformat(), "occupation": "Pilot"},
        acting_user=user,
    )
    # then the arrival is refused with why, the rest is saved, the dates as they were
    assert saved.errors == {"entry_date": "The arrival cannot be after the departure."}
    assert saved.saved == ["occupation"]
    application.refresh_from_db()
    assert (application.entry_date, application.exit_date) == (entry, exit_)
    # a stay longer than the category allows, by moving only the departure: the same
    long = services.application_draft_autosave(
        application=application,
        data={"entry_date": entry.isoformat(), "exit_date": (entry + dt.timedelta(days=95))},
        acting_user=user,
    )
    assert "at most 90 days" in long.errors["exit_date"]
    # a refused arrival (in the past) with a departure before the saved arrival: nothing stored
    past = services.application_draft_autosave(
        application=application,
        data={
            "entry_date": (in_mission_a.today() - dt.timedelta(days=1)).isoformat(),
            "exit_date": (entry - dt.timedelta(days=2)).isoformat(),
        },
        acting_user=user,
    )
    assert set(past.errors) == {"entry_date", "exit_date"}
    application.refresh_from_db()
    assert (application.entry_date, application.exit_date) == (entry, exit_)
    # the whole step's save refuses it, nothing changed
    with pytest.raises(ApplicationError) as refused:
        services.application_draft_save(
            application=application,
            data={"entry_date": later, "exit_date": exit_.isoformat()},
            acting_user=user,
        )
    assert set(refused.value.errors) == {"entry_date"}


def test_a_submission_assesses_the_fee_and_is_recorded(in_mission_a):
    # given a complete draft
    application = visa_draft(in_mission_a, nationality="GBR")
    # when it is submitted
    services.application_submit(application=application, acting_user=_owner(application))
    # then it waits for the completeness check, the fee assessed for the visa
    application.refresh_from_db()
    assert application.status == VisaStatus.SUBMITTED
    assert application.submitted_at is not None
    assessment = Assessment.objects.get(pk=application.assessment_id)
    assert assessment.subject_ref == application.reference
    assert [line.service for line in assessment.lines.all()] == ["visa"]
    event = OutboxEvent.objects.get(
        topic="visas.application.submitted", aggregate_id=application.pk
    )
    assert event.payload["category"] == "tourism"
    assert event.payload["nationality"] == "GBR"
    assert event.payload["visa_type"] == "C"
    assert "surname" not in event.payload
    assert "Smith" not in json.dumps(event.payload)
    assert VisaStep.objects.filter(application=application, step=Step.SUBMITTED).exists()
    # and it cannot be submitted twice nor changed
    with pytest.raises(ApplicationError):
        services.application_submit(application=application, acting_user=_owner(application))
    with pytest.raises(ApplicationError) as refused:
        services.application_draft_save(
            application=application, data={"surname": "Other"}, acting_user=_owner(application)
        )
    assert refused.value.code.name == "BAD_TRANSITION"


def test_one_open_application_per_passport(in_mission_a):
    # given an application submitted with a passport
    visa_submitted(in_mission_a, passport_number="Q7654321")
    # when another account submits one with the same passport
    second = visa_draft(in_mission_a, passport_number="Q7654321")
    with pytest.raises(ApplicationError) as refused:
        services.application_submit(application=second, acting_user=_owner(second))
    # then it is refused clearly, and stays a draft
    assert _code(refused) == "visas.already_open"
    assert refused.value.field == "passport_number"
    second.refresh_from_db()
    assert second.status == VisaStatus.DRAFT


def test_once_withdrawn_the_passport_may_apply_again(in_mission_a):
    first = visa_submitted(in_mission_a, passport_number="Q1111111")
    services.application_withdraw(application=first, acting_user=_owner(first))
    again = visa_submitted(in_mission_a, passport_number="Q1111111")
    assert again.status == VisaStatus.SUBMITTED


# --- corrections ---------------------------------------------------------------------------


def _corrections_asked(mission, *, form: str = "", **kw) -> VisaApplication:  # type: ignore[no-untyped-def]
    """Submitted, then the passport copy asked to be corrected (and the form, with `form`)."""
    application = visa_submitted(mission, **kw)
    decisions = accept_all(application)
    decisions["passport_copy"] = (False, "The copy is unreadable: scan it again.")
    if form:
        decisions[FORM_ITEM] = (False, form)
    return casework.completeness_review(
        application=application, decisions=decisions, acting_user=make_staff(mission, "officer")
    )


def test_corrections_are_sent_once_each_item_asked_for_is_uploaded_again(in_mission_a):
    # given corrections asked for on the passport copy
    application = _corrections_asked(in_mission_a)
    user = _owner(application)
    assert application.status == VisaStatus.CORRECTIONS
    # when the applicant sends the corrections without a new file
    with pytest.raises(ApplicationError) as refused:
        services.application_submit(application=application, acting_user=user)
    # then the item is named with what to correct
    assert "item_passport_copy" in refused.value.errors
    assert "unreadable" in refused.value.errors["item_passport_copy"][0]
    # when they upload it again, the review says it is corrected
    services.application_upload_add(
        application=application,
        item="passport_copy",
        data=pdf_file(),
        filename="new.pdf",
        acting_user=user,
    )
    review = ItemReview.objects.get(application=application, item="passport_copy")
    assert review.corrected_at is not None
    # then the corrections go, with their event and step, the fee not assessed again
    assessment_id = application.assessment_id
    services.application_submit(application=application, acting_user=user)
    application.refresh_from_db()
    assert application.status == VisaStatus.SUBMITTED
    assert application.assessment_id == assessment_id
    assert Assessment.objects.filter(subject_ref=application.reference).count() == 1
    assert OutboxEvent.objects.filter(
        topic="visas.application.corrected", aggregate_id=application.pk
    ).exists()
    assert VisaStep.objects.filter(application=application, step=Step.CORRECTED).exists()


def test_corrections_past_their_deadline_are_refused(in_mission_a):
    application = _corrections_asked(in_mission_a)
    user = _owner(application)
    services.application_upload_add(
        application=application,
        item="passport_copy",
        data=pdf_file(),
        filename="new.pdf",
        acting_user=user,
    )
    VisaApplication.objects.filter(pk=application.pk).update(
        corrections_due_on=in_mission_a.today() - dt.timedelta(days=1)
    )
    application.refresh_from_db()
    with pytest.raises(ApplicationError) as refused:
        services.application_submit(application=application, acting_user=user)
    assert _code(refused) == "visas.deadline"
    # nor does anything else change after the deadline, while beat closes the application
    uploads = application.uploads.count()
    with pytest.raises(ApplicationError) as refused:
        services.application_upload_add(
            application=application,
            item="passport_copy",
            data=pdf_file(),
            filename="late.pdf",
            acting_user=user,
        )
    assert _code(refused) == "visas.deadline"
    with pytest.raises(ApplicationError) as refused:
        services.application_draft_save(
            application=application, data={"occupation": "Engineer"}, acting_user=user
        )
    assert _code(refused) == "visas.deadline"
    assert application.uploads.count() == uploads


def test_during_corrections_an_accepted_document_is_not_replaced(in_mission_a):
    # given corrections asked for on the passport copy only, the photo accepted
    application = _corrections_asked(in_mission_a)
    user = _owner(application)
    photo = Upload.objects.get(application=application, item="photo", is_current=True)
    # when the applicant uploads another photo
    with pytest.raises(ApplicationError) as refused:
        services.application_upload_add(
            application=application,
            item="photo",
            data=photo_file(),
            filename="someone-else.jpg",
            acting_user=user,
        )
    # then it is refused, said why, and nothing is stored: the accepted file stays current
    assert _code(refused) == "visas.not_asked"
    assert "only the documents the officer asked to correct" in str(refused.value.message)
    assert list(
        Upload.objects.filter(application=application, item="photo").values_list("pk", flat=True)
    ) == [photo.pk]
    review = ItemReview.objects.get(application=application, item="photo")
    assert review.status == "accepted"
    assert review.upload_id == photo.pk
    # while the item asked for is replaced, as many times as the applicant needs
    for name in ("new.pdf", "newer.pdf"):
        services.application_upload_add(
            application=application,
            item="passport_copy",
            data=pdf_file(),
            filename=name,
            acting_user=user,
        )
    assert Upload.objects.filter(application=application, item="passport_copy").count() == 3


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The officer did not ask for a correction on the form"),
        ("tr", "Memur formda bir düzeltme istemedi"),
    ],
)
def test_during_corrections_the_form_is_not_changed_unless_asked(in_mission_a, language, message):
    from django.utils import translation

    # given corrections asked for on a document only
    application = _corrections_asked(in_mission_a, surname="Smith", passport_number="Q7654321")
    user = _owner(application)
    updated_at = application.updated_at
    # when the applicant changes who they are, by the form's save or by the autosave
    for save in (services.application_draft_save, services.application_draft_autosave):
        with translation.override(language), pytest.raises(ApplicationError) as refused:
            save(
                application=application,
                data={"surname": "Smyth", "passport_number": "Q1234567", "nationality": "GBR"},
                acting_user=user,
            )
        # then it is refused in their language, each field named, and nothing changes
        assert _code(refused) == "visas.not_asked"
        assert message in str(refused.value)  # the message as said when refused
        assert set(refused.value.errors) == {"surname", "passport_number", "nationality"}
        assert message in refused.value.errors["surname"][0]
    # a refused value is refused alike (not the message of its cleaning)
    with pytest.raises(ApplicationError) as refused:
        services.application_draft_autosave(
            application=application, data={"nationality": "QQQ"}, acting_user=user
        )
    assert _code(refused) == "visas.not_asked"
    fresh = VisaApplication.objects.get(pk=application.pk)
    assert (fresh.surname, fresh.passport_number, fresh.nationality) == (
        "Smith", "Q7654321", "USA",
    )  # fmt: skip
    assert fresh.updated_at == updated_at
    # the step's page sends its fields as they are: that changes nothing and is not refused
    services.application_draft_save(
        application=application,
        data={"surname": "Smith", "passport_number": "Q7654321", "nationality": "USA"},
        acting_user=user,
    )


def test_during_corrections_the_form_changes_when_a_correction_is_asked_on_it(in_mission_a):
    # given a correction asked for on the form
    application = _corrections_asked(
        in_mission_a, form="Your surname is spelt differently in the passport."
    )
    review = ItemReview.objects.get(application=application, item=FORM_ITEM)
    user = _owner(application)
    # when the applicant changes it (the autosave, then the form's save)
    saved = services.application_draft_autosave(
        application=application, data={"surname": "Smyth"}, acting_user=user
    )
    assert saved.saved == ["surname"]
    services.application_draft_save(
        application=application, data={"occupation": "Engineer"}, acting_user=user
    )
    # then both are kept and the correction counts as made
    application.refresh_from_db()
    assert (application.surname, application.occupation) == ("Smyth", "Engineer")
    review.refresh_from_db()
    assert review.corrected_at is not None


def test_a_form_correction_is_made_sent_and_checked_again_as_a_document_is(in_mission_a):
    # given corrections asked for on the form and on the passport copy, the copy sent again
    application = visa_submitted(in_mission_a, surname="Smith")
    officer = make_staff(in_mission_a, "officer")
    accepted = accept_all(application)
    note = "Your surname is spelt differently in the passport."
    casework.completeness_review(
        application=application,
        decisions={**accepted, FORM_ITEM: (False, note), "passport_copy": (False, "Cut off.")},
        acting_user=officer,
    )
    application.refresh_from_db()
    user = _owner(application)
    services.application_upload_add(
        application=application,
        item="passport_copy",
        data=pdf_file(),
        filename="copy.pdf",
        acting_user=user,
    )
    # when the applicant sends the corrections without changing the form
    with pytest.raises(ApplicationError) as refused:
        services.application_submit(application=application, acting_user=user)
    # then the form is named with what to correct, as a document would be
    assert refused.value.errors == {f"item_{FORM_ITEM}": [f"Correct this as asked: {note}"]}
    # when they change it and send: the correction counts as made, and the corrections go
    services.application_draft_autosave(
        application=application, data={"surname": "Smyth"}, acting_user=user
    )
    review = ItemReview.objects.get(application=application, item=FORM_ITEM)
    assert review.corrected_at is not None
    services.application_submit(application=application, acting_user=user)
    application.refresh_from_db()
    assert application.status == VisaStatus.SUBMITTED
    # when the officer's next check (what it accepted before kept) accepts the form and asks
    # for the copy again
    casework.completeness_review(
        application=application,
        decisions={FORM_ITEM: (True, ""), "passport_copy": (False, "Scan all four pages.")},
        acting_user=officer,
    )
    application.refresh_from_db()
    # then the corrected form is accepted as it is now, and locked again for this round
    review.refresh_from_db()
    assert (review.status, review.reason, review.corrected_at) == ("accepted", "", None)
    assert review.history.count() == 3  # asked, corrected, accepted
    with pytest.raises(ApplicationError) as locked:
        services.application_draft_autosave(
            application=application, data={"surname": "Smithe"}, acting_user=user
        )
    assert _code(locked) == "visas.not_asked"
    # and once the document is sent again and accepted, the file is complete
    corrections_send(application, user)
    casework.completeness_review(
        application=application, decisions={"passport_copy": (True, "")}, acting_user=officer
    )
    application.refresh_from_db()
    assert application.status == VisaStatus.COMPLETE
    assert application.surname == "Smyth"
    assert set(
        ItemReview.objects.filter(application=application).values_list("status", flat=True)
    ) == {"accepted"}


# --- the appointment and the withdrawal ----------------------------------------------------


def test_an_appointment_before_the_file_is_complete_is_refused(in_mission_a):
    from tests.appointments.factories import build_catalogue

    service = build_catalogue(purpose="visa", code="visa", name="Visa application")
    slot = service.slots.order_by("starts_at").last()
    for application in (visa_draft(in_mission_a), visa_submitted(in_mission_a)):
        with pytest.raises(ApplicationError) as refused:
            services.application_visit_book(
                application=application, slot_id=slot.pk, acting_user=_owner(application)
            )
        assert _code(refused) == "visas.not_complete"
        application.refresh_from_db()
        assert application.booking_id is None


def _complete_with_appointments(mission):  # type: ignore[no-untyped-def]
    """A file the officer found complete, and the mission's visa appointment service."""
    from tests.appointments.factories import build_catalogue

    service = build_catalogue(purpose="visa", code="visa", name="Visa application")
    application = visa_submitted(mission)
    decisions = accept_all(application)
    application = casework.completeness_review(
        application=application, decisions=decisions, acting_user=make_staff(mission, "officer")
    )
    return application, service


def test_once_complete_the_appointment_is_booked_and_given_back_on_withdrawal(in_mission_a):
    from appointments.models import Booking, BookingStatus

    # given a complete file and the mission's visa appointments
    application, service = _complete_with_appointments(in_mission_a)
    user = _owner(application)
    slot = service.slots.order_by("starts_at").last()
    # when the applicant books
    services.application_visit_book(application=application, slot_id=slot.pk, acting_user=user)
    application.refresh_from_db()
    booking = Booking.objects.get(pk=application.booking_id)
    assert booking.user_id == user.pk
    assert VisaStep.objects.filter(application=application, step=Step.BOOKED).exists()
    # and a second booking is refused
    with pytest.raises(ApplicationError):
        services.application_visit_book(application=application, slot_id=slot.pk, acting_user=user)
    # when they withdraw, the place is given back
    services.application_withdraw(application=application, acting_user=user)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


def test_an_appointment_the_mission_cancelled_is_booked_again(in_mission_a):
    from appointments import services as appointments
    from appointments.models import Booking
    from consulate.kernel.actors import SYSTEM
    from tests.appointments.factories import hours_dropped

    # given a complete file whose appointment the mission cancelled (new opening hours)
    application, service = _complete_with_appointments(in_mission_a)
    user = _owner(application)
    first, second = service.slots.order_by("-starts_at")[:2]
    services.application_visit_book(application=application, slot_id=first.pk, acting_user=user)
    application.refresh_from_db()
    cancelled = Booking.objects.get(pk=application.booking_id)
    appointments.booking_cancel_by_mission(booking=hours_dropped(cancelled), acting_user=SYSTEM)
    # when the applicant books again from the application
    services.application_visit_book(application=application, slot_id=second.pk, acting_user=user)
    # then the application keeps the new appointment, which stands
    application.refresh_from_db()
    rebooked = Booking.objects.get(pk=application.booking_id)
    assert rebooked.pk != cancelled.pk
    assert rebooked.holds_place


def test_without_a_visa_appointment_service_the_applicant_is_told_to_call(in_mission_a):
    application = visa_submitted(in_mission_a)
    decisions = accept_all(application)
    application = casework.completeness_review(
        application=application,
        decisions=decisions,
        acting_user=make_staff(in_mission_a, "officer"),
    )
    with pytest.raises(ApplicationError) as refused:
        services.application_visit_book(
            application=application, slot_id=1, acting_user=_owner(application)
        )
    assert _code(refused) == "visas.no_visit_service"


def test_withdrawal(in_mission_a):
    # a draft is discarded quietly
    draft = visa_draft(in_mission_a, uploads=False)
    services.application_withdraw(application=draft, acting_user=_owner(draft))
    draft.refresh_from_db()
    assert draft.status == VisaStatus.WITHDRAWN
    assert not VisaStep.objects.filter(application=draft).exists()
    # a submitted one is withdrawn with its event and step
    submitted = visa_submitted(in_mission_a)
    services.application_withdraw(application=submitted, acting_user=_owner(submitted))
    submitted.refresh_from_db()
    assert submitted.status == VisaStatus.WITHDRAWN
    event = OutboxEvent.objects.get(topic="visas.application.withdrawn", aggregate_id=submitted.pk)
    assert event.payload["closed_at"]
    assert VisaStep.objects.filter(application=submitted, step=Step.WITHDRAWN).exists()
    # and not twice
    with pytest.raises(ApplicationError) as refused:
        services.application_withdraw(application=submitted, acting_user=_owner(submitted))
    assert refused.value.code.name == "BAD_TRANSITION"


def test_the_factories_make_what_they_say(in_mission_a):
    application = visa_submitted(in_mission_a, category="study")
    assert application.status == VisaStatus.SUBMITTED
    assert application.assessment_id
    assert services.application_missing(application=application) == {}


def test_the_files_name_is_kept_only_as_a_name(in_mission_a):
    application, user = _started()
    upload = services.application_upload_add(
        application=application,
        item="passport_copy",
        data=pdf_file(),
        filename="C:\\Users\\jane\\" + "p" * 300 + "\x00.pdf",
        acting_user=user,
    )
    assert upload.filename == "p" * 200
    assert services.filename_clean("../../etc/passwd") == "passwd"


def test_the_issuing_states_own_citizens_are_sent_to_a_passport_in_their_language(in_mission_a):
    application, user = _started()
    with translation.override("tr"), pytest.raises(ApplicationError) as refused:
        services.application_draft_save(
            application=application, data={"nationality": "tur"}, acting_user=user
        )
    assert refused.value.field == "nationality"
    assert str(refused.value.message).startswith("Türkiye vatandaşlarının bu ülkeye girmek için")
    assert VisaApplication.objects.get(pk=application.pk).nationality == ""
