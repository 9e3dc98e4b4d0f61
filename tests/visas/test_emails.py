"""The applicant's e-mails at each step: in their language, times and dates in the mission's
zone with the zone named, what happens next, and the refusal as a letter (the grounds in words,
how and by when to appeal). Missions east and west of UTC."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.db import connection
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from consulate.kernel.accounts.models import User
from missions.mail import local_time
from missions.models import Mission
from tests.conftest import MODEL_BACKEND, host_client, make_staff, text_of
from tests.visas.factories import visa_submitted
from tests.visas.factories_casework import accept_all, visa_recommended
from visas.models import FORM_ITEM, RefusalGround, Step, VisaApplication, VisaStep
from visas.services import casework

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def _mission_in(mission: Mission, zone: str) -> Mission:
    """`mission` moved to `zone` (for this test: rolled back after it)."""
    Mission.objects.filter(pk=mission.pk).update(timezone=zone)
    moved = Mission.objects.get(pk=mission.pk)
    connection.tenant = moved
    return moved


def _in_language(application: VisaApplication, language: str) -> VisaApplication:
    VisaApplication.objects.filter(pk=application.pk).update(language=language)
    application.refresh_from_db()
    return application


ZONES = ["America/Los_Angeles", "Asia/Tokyo"]  # west and east of UTC


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("language", ["en", "tr"])
def test_corrections_asked_by_e_mail(
    in_mission_a, mission_a, django_capture_on_commit_callbacks, zone, language
):
    mission = _mission_in(mission_a, zone)
    application = _in_language(visa_submitted(mission), language)
    decisions = accept_all(application)
    item = next(iter(decisions))
    due = mission.today() + dt.timedelta(days=10)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        casework.completeness_review(
            application=application,
            decisions={**decisions, item: (False, "Scan all four pages.")},
            due_on=due,
            acting_user=make_staff(mission, "officer"),
        )
    step = VisaStep.objects.get(application=application, step=Step.CORRECTIONS_ASKED)
    (message,) = mail.outbox
    assert message.to == [application.email]
    assert application.reference in message.subject
    with translation.override(language):
        when = local_time(step.happened_at, mission.zone)
        due_text = date_format(due, "j F Y")
    # the step's time in the mission's zone, the zone named; the date in the reader's language
    assert when in message.body
    assert f"({zone})" in message.body
    assert due_text in message.body
    assert "Scan all four pages." in message.body
    assert "/visas/" in message.body
    html = message.alternatives[0][0]
    assert "Scan all four pages." in html
    if language == "en":
        assert "Corrections asked for" in message.subject
        assert "Send the corrections by" in message.body


@pytest.mark.parametrize(
    ("language", "line", "next_text"),
    [
        (
            "en",
            "• The application form: Your surname is spelt differently in the passport.",
            "change the form where asked",
        ),
        (
            "tr",
            "• Başvuru formu: Your surname is spelt differently in the passport.",
            "formda istenen yerleri değiştirin",
        ),
    ],
)
def test_a_correction_asked_on_the_form_is_in_the_e_mail(
    in_mission_a, mission_a, django_capture_on_commit_callbacks, language, line, next_text
):
    # given a submitted application in the applicant's language
    application = _in_language(visa_submitted(mission_a), language)
    decisions = accept_all(application)
    mail.outbox.clear()
    # when the officer asks for a correction on the form and on a document
    with django_capture_on_commit_callbacks(execute=True):
        casework.completeness_review(
            application=application,
            decisions={
                **decisions,
                FORM_ITEM: (False, "Your surname is spelt differently in the passport."),
                "passport_copy": (False, "Scan all four pages."),
            },
            acting_user=make_staff(mission_a, "officer"),
        )
    # then the e-mail lists the form first, named in their language, the note as typed
    (message,) = mail.outbox
    lines = message.body.splitlines()
    assert line in lines
    assert lines.index(line) + 1 == next(
        number for number, text in enumerate(lines) if "Scan all four pages." in text
    )
    assert next_text in message.body
    html = message.alternatives[0][0]
    assert line in html


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_refusal_letter(
    in_mission_a, mission_a, django_capture_on_commit_callbacks, zone, language
):
    mission = _mission_in(mission_a, zone)
    application = _in_language(
        visa_recommended(mission, issue=False, grounds=["insurance"]), language
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        casework.application_decide(
            application=application,
            issue=False,
            grounds=["insurance", "unreliable"],
            note="The insurance certificate ends before the journey does.",
            acting_user=make_staff(mission, "consul"),
        )
    application.refresh_from_db()
    (message,) = mail.outbox
    deadline = casework.appeal_deadline(application)
    assert deadline == application.decided_at.astimezone(mission.zone).date() + dt.timedelta(
        days=30
    )
    with translation.override(language):
        deadline_text = date_format(deadline, "j F Y")
        insurance = str(RefusalGround.INSURANCE.label)
    assert f"{deadline_text} ({zone})" in message.body
    assert insurance in message.body
    assert "The insurance certificate ends before the journey does." in message.body
    assert mission.name in message.body
    # paragraphs one blank line apart: the letter's template left four blank lines before
    # "Follow your application" (seen in a trial's mail folder)
    assert "\n\n\n" not in message.body
    with translation.override(language):
        follow = gettext("Follow your application")
    assert re.search(rf"\S\n\n{re.escape(follow)}: ", message.body)
    html = message.alternatives[0][0]
    assert f"{deadline_text} ({zone})" in html
    if language == "en":
        assert "Proof of adequate and valid travel medical insurance was not provided." in (
            message.body
        )
        assert "You may appeal against this decision within 30 days" in message.body
        assert "Write to the" in message.body
    # and the applicant's page says the same, where to write included, in their language, and
    # leads to it from what the application waits for (a trial found "The letter says how to
    # appeal" there, and "write to the mission" with no address)
    client = host_client(mission.host)
    client.force_login(User.objects.get(pk=application.user_id), backend=MODEL_BACKEND)
    page = client.get(f"/visas/{application.reference}/", HTTP_ACCEPT_LANGUAGE=language)
    messages = text_of(page.content, "ul", class_="messages-list")
    with translation.override(language):
        where = f"{mission.name}, {mission.postal_address.replace(chr(10), ', ')}"
    assert where in messages
    assert application.reference in messages
    assert f"{deadline_text} ({zone})" in messages
    waiting = text_of(page.content, "p", class_="waiting-for")
    assert (
        waiting
        == {
            "en": "Decided: your visa is refused. The reasons and how to appeal are below, under"
            " “Messages”, and in the e-mail we sent you.",
            "tr": "Karar verildi: vizeniz reddedildi. Gerekçeler ve nasıl itiraz edeceğiniz"
            " aşağıda, “Mesajlar” bölümünde ve size gönderdiğimiz e-postada yazıyor.",
        }[language]
    )


def test_the_complete_step_says_when_the_decision_is_due(
    in_mission_a, mission_a, django_capture_on_commit_callbacks
):
    mission = _mission_in(mission_a, "America/Los_Angeles")
    application = visa_submitted(mission)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        casework.completeness_review(
            application=application,
            decisions=accept_all(application),
            acting_user=make_staff(mission, "officer"),
        )
    application.refresh_from_db()
    (message,) = mail.outbox
    assert f"decides on it by {application.decision_due_on:%-d %B %Y}" in message.body
    assert "Book your appointment" in message.body
    assert "(America/Los_Angeles)" in message.body


@pytest.mark.parametrize("step", [Step.SUBMITTED, Step.CORRECTED])
def test_submission_and_corrections_sent_can_be_mailed(in_mission_a, mission_a, step):
    """The e-mails module words the submission and the corrections sent (the lead decides
    whether `services.common.UNMAILED` still holds them back)."""
    from django.utils import timezone

    from visas.emails import visa_step_send

    application = visa_submitted(mission_a)
    row = VisaStep.objects.create(application=application, step=step, happened_at=timezone.now())
    mail.outbox.clear()
    visa_step_send(step=row)
    (message,) = mail.outbox
    assert message.to == [application.email]
    assert str(Step(step).label) in message.subject
    assert f"({mission_a.timezone})" in message.body
    if step == Step.SUBMITTED:
        assert "We received your application. The mission checks that it is complete" in (
            message.body
        )
    else:
        assert "We received your corrections." in message.body
    assert "We received your" in message.alternatives[0][0]
