"""The e-mails a citizen gets at each step, rendered as they read them: in their language and
in the mission's time zone with the zone named, for a mission east of UTC and one west of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from missions.models import Mission
from passports import emails
from passports.models import ApplicationStep, Step
from tests.passports.factories import application_submitted

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)  # Berlin's spring change is at 01:00 UTC


def _step(mission: Mission, *, language: str) -> ApplicationStep:
    with schema_context(mission.schema_name):
        application = application_submitted()
        application.language = language
        application.save(update_fields=["language"])
        step = ApplicationStep.objects.get(application=application, step=Step.SUBMITTED)
        ApplicationStep.objects.filter(pk=step.pk).update(happened_at=MOMENT)
        return ApplicationStep.objects.select_related("application").get(pk=step.pk)


@pytest.mark.parametrize(
    ("zone", "language", "expected"),
    [
        ("Europe/Berlin", "en", "Sunday 29 March 2026, 01:30 (Europe/Berlin)"),
        ("Asia/Tokyo", "en", "Sunday 29 March 2026, 09:30 (Asia/Tokyo)"),
        ("America/New_York", "en", "Saturday 28 March 2026, 20:30 (America/New_York)"),
        ("Europe/Berlin", "tr", "29 Mart 2026 Pazar, 01:30 (Europe/Berlin)"),
        ("America/New_York", "tr", "28 Mart 2026 Cumartesi, 20:30 (America/New_York)"),
    ],
)
def test_the_step_email_shows_the_missions_time_in_the_readers_language(
    mission_a, zone, language, expected
):
    # given a mission east or west of UTC
    Mission.objects.filter(pk=mission_a.pk).update(timezone=zone)
    step = _step(Mission.objects.get(pk=mission_a.pk), language=language)
    mail.outbox.clear()
    # when the worker (in UTC) sends the step's e-mail
    with timezone.override(dt.UTC), schema_context(mission_a.schema_name):
        emails.application_step_send(step=step)
    # then the reader sees the mission's local time with the zone named, in their language
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    assert expected in message.body
    assert expected in html
    assert step.application.reference in message.subject
    if language == "tr":
        assert "Pasaport başvurusu" in message.subject
        assert "Başvurunuzu izleyin" in message.body
    else:
        assert "Follow your application" in message.body
    assert f"/passports/{step.application.reference}/" in message.body
