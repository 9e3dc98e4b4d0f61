"""A day is written one way on pages, in e-mails and on documents, in the reader's language:
Turkish puts the day of the week last (consulate.kernel.reference, the `portal` filters)."""

import datetime as dt
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from consulate.templatetags.portal import local_now
from missions.mail import local_time

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
# Monday 7 December 2026, 09:30 in Tokyo
INSTANT = dt.datetime(2026, 12, 7, 0, 30, tzinfo=dt.UTC)

WRITTEN = {
    "en": {
        "long_day": "Monday 7 December 2026",
        "long_day_time": "Monday 7 December 2026, 09:30",
        "short_day": "Mon 7 Dec 2026",
        "short_day_time": "Mon 7 Dec 2026, 09:30",
        'short_day:"without year"': "Mon 7 Dec",
        'short_day_time:"without year"': "Mon 7 Dec, 09:30",
    },
    "tr": {
        "long_day": "7 Aralık 2026 Pazartesi",
        "long_day_time": "7 Aralık 2026 Pazartesi, 09:30",
        "short_day": "7 Ara 2026 Pzt",
        "short_day_time": "7 Ara 2026 Pzt, 09:30",
        'short_day:"without year"': "7 Ara Pzt",
        'short_day_time:"without year"': "7 Ara Pzt, 09:30",
    },
}


def _render(text: str, **context: object) -> str:
    return Template("{% load portal tz %}" + text).render(Context(context))


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("form", list(WRITTEN["en"]))
def test_each_form_in_each_language(language, form):
    # when a page writes the instant in the mission's zone (Tokyo) with each form
    with translation.override(language), timezone.override("America/New_York"):
        written = _render(f"{{{{ when|timezone:zone|{form} }}}}", when=INSTANT, zone=TOKYO)
    # then it is the reader's language's order, in the mission's zone, not the current one
    assert written == WRITTEN[language][form]


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_page_and_the_e_mail_write_a_time_alike(language):
    with translation.override(language):
        page = _render(
            "{{ when|timezone:zone|long_day_time }} (Asia/Tokyo)", when=INSTANT, zone=TOKYO
        )
        assert local_time(INSTANT, TOKYO) == page


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_date_without_time_and_what_is_not_a_date(language):
    with translation.override(language):
        day = _render("{{ day|long_day }}", day=INSTANT.date())
        # as Django's `date` filter: nothing is written for what is not a date
        nothing = _render(
            "{{ a|long_day }}{{ b|short_day_time }}{{ c|short_day }}", a="", b="x", c=None
        )
    assert day == WRITTEN[language]["long_day"]
    assert nothing == ""


@pytest.mark.parametrize(
    ("language", "written"),
    [("en", "Monday 7 December 2026, 09:30"), ("tr", "7 Aralık 2026 Pazartesi, 09:30")],
)
def test_the_mission_homes_local_time(monkeypatch, language, written):
    # given it is 09:30 on a Monday in Tokyo
    monkeypatch.setattr(timezone, "now", lambda: INSTANT)
    # then the mission home's "local time now" writes it as the e-mails do
    with translation.override(language):
        assert local_now("Asia/Tokyo") == written
