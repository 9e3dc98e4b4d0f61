"""An applicant whose arrival comes before the decision can be ready is told so, in plain
sentences, on the journey's step and on the review before sending, and may still send: the due
date is the legal clock's (`casework.decision_due_on`) for a file found complete on the
mission's today."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from missions.models import Mission
from tests.conftest import text_of
from tests.visas.factories import visa_draft
from tests.visas.test_apply_views import _fresh, _owner_signs_in
from visas.models import VisaApplication, VisaStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

# 20:00 UTC: Tokyo is on the next day already, New York still on this one
TODAY_UTC = timezone.now().date()
NOW = dt.datetime.combine(TODAY_UTC, dt.time(20), tzinfo=dt.UTC)
MISSION_TODAY = {
    "Asia/Tokyo": TODAY_UTC + dt.timedelta(days=1),
    "America/New_York": TODAY_UTC,
}

WARNING = {
    "en": "Your visa may not be ready before you travel\n"
    "You arrive on {arrival}.\n"
    "The mission usually decides within 15 days after your file is complete.\n"
    "If your file is complete today, the decision comes by {due}.\n"
    "That is too late for your arrival.\n"
    "You can still send the application.",
    "tr": "Vizeniz yolculuğunuzdan önce hazır olmayabilir\n"
    "{arrival} tarihinde varıyorsunuz.\n"
    "Temsilcilik genellikle dosyanız eksiksiz olduktan sonra 15 gün içinde karar verir.\n"
    "Dosyanız bugün eksiksiz olursa karar {due} tarihine kadar verilir.\n"
    "Bu, varışınız için geç kalır.\n"
    "Başvuruyu yine de gönderebilirsiniz.",
}
CHANGE = {"en": "Change the date of arrival", "tr": "Varış tarihini değiştirin"}


def _day(day: dt.date, language: str) -> str:
    with translation.override(language):
        return date_format(day, "j F Y")


def _draft_arriving(mission: Mission, zone: str, arrival: dt.date) -> VisaApplication:
    """A draft ready to send, at a mission in `zone`, arriving on `arrival` for five days."""
    Mission.objects.filter(pk=mission.pk).update(timezone=zone)
    mission.refresh_from_db()
    return visa_draft(
        mission,
        entry_date=arrival.isoformat(),
        exit_date=(arrival + dt.timedelta(days=4)).isoformat(),
    )


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
def test_an_arrival_before_the_decision_is_warned_of_and_the_application_still_sent(
    client_b, mission_b, monkeypatch, zone, language
):
    # given a draft at a mission in `zone` whose arrival is 14 days after today in UTC, and
    # the decision due 15 days after the mission's today (a day later in Tokyo)
    arrival = TODAY_UTC + dt.timedelta(days=14)
    application = _draft_arriving(mission_b, zone, arrival)
    _owner_signs_in(client_b, application)
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    due = MISSION_TODAY[zone] + dt.timedelta(days=15)
    expected = WARNING[language].format(arrival=_day(arrival, language), due=_day(due, language))
    base = f"/visas/{application.reference}/edit/"
    for step in ("travel", "review"):
        # when the applicant opens the journey's step, and the review before sending
        page = client_b.get(f"{base}{step}/", HTTP_ACCEPT_LANGUAGE=language)
        # then the page says, in plain sentences and the mission's dates, that the decision
        # may come after the arrival, and that the application can still be sent
        assert page.status_code == 200
        said = text_of(page.content, "section", id="arrival-too-soon")
        if step == "review":
            assert said == f"{expected} {CHANGE[language]}"
        else:
            assert said == expected
    # when the applicant sends it all the same
    sent = client_b.post(f"{base}review/", {"submit": "1"}, HTTP_ACCEPT_LANGUAGE=language)
    # then it is sent
    assert sent.status_code == 302
    assert sent["Location"] == f"/visas/{application.reference}/"
    assert _fresh(mission_b, application).status == VisaStatus.SUBMITTED


@pytest.mark.parametrize(("zone", "warned"), [("Asia/Tokyo", True), ("America/New_York", False)])
def test_the_warning_counts_from_the_missions_today(client_b, mission_b, monkeypatch, zone, warned):
    # given an arrival 16 days after today in UTC: the day after the decision is due in New
    # York, the day it is due in Tokyo, where it is tomorrow already (a decision on the day of
    # arrival is too late: the visa is needed before the journey)
    application = _draft_arriving(mission_b, zone, TODAY_UTC + dt.timedelta(days=16))
    _owner_signs_in(client_b, application)
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    # when the applicant reviews the application
    html = client_b.get(f"/visas/{application.reference}/edit/review/").content.decode()
    # then only Tokyo's applicant is warned
    assert ('id="arrival-too-soon"' in html) is warned


def test_an_arrival_after_the_decision_is_not_warned_of(client_a, mission_a):
    # given a draft arriving a month from now (the decision is due in 15 days)
    application = visa_draft(mission_a)
    _owner_signs_in(client_a, application)
    # when the applicant reviews it, and opens the journey's step
    for step in ("travel", "review"):
        html = client_a.get(f"/visas/{application.reference}/edit/{step}/").content.decode()
        # then nothing warns
        assert 'id="arrival-too-soon"' not in html


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
def test_the_journeys_step_warns_as_the_arrival_is_typed(
    client_b, mission_b, monkeypatch, zone, language
):
    # given a draft arriving a month from now, its journey's step open: nothing warns yet, and
    # the place the script puts the warning in is a live region
    application = _draft_arriving(mission_b, zone, TODAY_UTC + dt.timedelta(days=30))
    _owner_signs_in(client_b, application)
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    page = client_b.get(f"/visas/{application.reference}/edit/travel/").content.decode()
    assert '<div id="arrival-notice" data-autosave-notice aria-live="polite"></div>' in page
    # when the applicant types an arrival 14 days after today in UTC (the draft saves it)
    arrival = TODAY_UTC + dt.timedelta(days=14)
    soon = client_b.post(
        f"/visas/{application.reference}/autosave/",
        {"entry_date": arrival.isoformat()},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then the save's answer carries the warning as the page words it, in the mission's dates
    assert soon.status_code == 200, soon.content
    due = MISSION_TODAY[zone] + dt.timedelta(days=15)
    assert text_of(soon.json()["notices"]["arrival-notice"], "section", id="arrival-too-soon") == (
        WARNING[language].format(arrival=_day(arrival, language), due=_day(due, language))
    )
    # and the step opened again says the same
    page = client_b.get(
        f"/visas/{application.reference}/edit/travel/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert text_of(page, "div", id="arrival-notice") == text_of(
        soon.json()["notices"]["arrival-notice"], "section", id="arrival-too-soon"
    )
    # when a day in the past is typed, it is refused beside the field, and the warning does not
    # speak of the arrival saved before
    past = client_b.post(
        f"/visas/{application.reference}/autosave/",
        {"entry_date": (MISSION_TODAY[zone] - dt.timedelta(days=1)).isoformat()},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert past.status_code == 400
    assert set(past.json()["errors"]) == {"entry_date"}
    assert past.json()["notices"] == {"arrival-notice": ""}
    # a save of another field leaves the warning as it stands
    other = client_b.post(
        f"/visas/{application.reference}/autosave/", {"stay_address": "Hotel Adlon, Berlin"}
    )
    assert other.status_code == 200, other.content
    assert other.json()["notices"] == {}
    # when the arrival is moved after the decision's due date, the warning goes
    later = client_b.post(
        f"/visas/{application.reference}/autosave/",
        {"entry_date": (due + dt.timedelta(days=1)).isoformat()},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert later.status_code == 200, later.content
    assert later.json()["notices"] == {"arrival-notice": ""}
