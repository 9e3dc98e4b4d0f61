"""HQ's public wait-times page and feed (`/wait-times/`, `/wait-times.json`): every open mission's
services with the next free appointment in the mission's own time and the mean wait of the last
30 days, in English and Turkish, searchable, anonymous, from HQ's registers in a fixed number of
queries, and never a 500 whatever the query string."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.utils import timezone, translation

from appointments.register import wait_times
from missions.models import Mission
from tests.appointments.hq_data import booking_event, hq_mission, project, report_event
from tests.conftest import text_of, texts_of

# 00:30 UTC on Thursday 10 January 2030: 09:30 that Thursday in Tokyo, 16:30 on the Wednesday
# before in Los Angeles, 01:30 on the Thursday in Berlin and Düsseldorf
NEXT = dt.datetime(2030, 1, 10, 0, 30, tzinfo=dt.UTC)
PAGE, FEED = "/wait-times/", "/wait-times.json"


def _published(code: str, *, names: dict[str, str], lead_days: int = 10) -> None:
    """A mission whose passport service is free at NEXT, with one booking two days ago made
    `lead_days` before it, and a visa service with no free time."""
    now = timezone.now()
    booked = now - dt.timedelta(days=2 + lead_days)
    project(
        code,
        [
            report_event("passport", occurred_at=now - dt.timedelta(hours=1),
                         next_bookable=NEXT, free=9, names=names),
            report_event("visa", occurred_at=now - dt.timedelta(hours=1),
                         next_bookable=None, free=0, names={"en": "Visa", "tr": "Vize"}),
            booking_event("created", f"{code}-1", occurred_at=booked,
                          starts_at=now - dt.timedelta(days=2), channel="online"),
        ],
    )  # fmt: skip


@pytest.fixture
def published(mission_a, mission_b):
    """Berlin and Tokyo (the test missions), Düsseldorf and Los Angeles (west of UTC), and a
    closed mission, which is not shown."""
    hq_mission("dus", city="Düsseldorf", country="DE", zone="Europe/Berlin",
               name="Consulate-General in Düsseldorf",
               name_tr="Düsseldorf Başkonsolosluğu")  # fmt: skip
    hq_mission("la", city="Los Angeles", country="US", zone="America/Los_Angeles")
    hq_mission("old", city="Lyon", country="FR", zone="Europe/Paris", status="closed")
    passport = {"en": "Passport", "tr": "Pasaport"}
    for code, lead in (("alpha", 10), ("beta", 20), ("dus", 4), ("la", 7), ("old", 1)):
        _published(code, names=passport, lead_days=lead)
    cache.clear()


def _rows(html: bytes) -> list[list[str]]:
    """Each row of the table as its cells' texts."""
    if b"<tbody" not in html:
        return []
    body = html.decode().split("<tbody", 1)[1]
    return [texts_of(f"<tr>{row}", "td") for row in body.split("<tr")[1:]]


def test_the_page_lists_every_open_missions_services_in_english(client_hq, published):
    response = client_hq.get(PAGE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content
    assert text_of(html, "h1") == "Appointment wait times"
    rows = _rows(html)
    # sorted by country then city; the closed mission is not there; passport before visa
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("Consulate-General in Berlin", "Germany", "Berlin", "Passport"),
        ("Consulate-General in Berlin", "Germany", "Berlin", "Visa"),
        ("Consulate-General in Düsseldorf", "Germany", "Düsseldorf", "Passport"),
        ("Consulate-General in Düsseldorf", "Germany", "Düsseldorf", "Visa"),
        ("Embassy in Tokyo", "Japan", "Tokyo", "Passport"),
        ("Embassy in Tokyo", "Japan", "Tokyo", "Visa"),
        ("Consulate-General in Los Angeles", "United States", "Los Angeles", "Passport"),
        ("Consulate-General in Los Angeles", "United States", "Los Angeles", "Visa"),
    ]
    by_city = {r[2]: r for r in rows if r[3] == "Passport"}
    # the next appointment in the mission's own time, its zone named, and days from now
    days = round((NEXT - timezone.now()).total_seconds() / 86400)  # as babel rounds it
    assert by_city["Tokyo"][4] == f"Thu 10 Jan 2030, 09:30 (Asia/Tokyo), in {days} days"
    assert by_city["Los Angeles"][4].startswith("Wed 9 Jan 2030, 16:30 (America/Los_Angeles)")
    assert by_city["Berlin"][4].startswith("Thu 10 Jan 2030, 01:30 (Europe/Berlin)")
    # when the figures were reported, in the mission's time too, its zone named
    assert by_city["Tokyo"][6].endswith(" (Asia/Tokyo)")
    assert by_city["Los Angeles"][6].endswith(" (America/Los_Angeles)")
    # the mean wait of the last 30 days
    assert (by_city["Berlin"][5], by_city["Tokyo"][5], by_city["Los Angeles"][5]) == (
        "10.0 days", "20.0 days", "7.0 days",
    )  # fmt: skip
    visa = next(r for r in rows if r[2] == "Tokyo" and r[3] == "Visa")
    assert (visa[4], visa[5]) == ("none at the moment", "–")
    assert "8 missions found." not in html.decode()
    assert "4 missions found." in html.decode()
    # when the figures were built, in 24 hours, in HQ's zone (reference's short form)
    assert re.search(
        r"Figures as of \w{3} \d{1,2} \w{3} \d{4}, \d{2}:\d{2} \(Europe/Istanbul\)\.",
        html.decode(),
    )


def test_the_page_in_turkish_names_countries_and_services_in_turkish(client_hq, published):
    html = client_hq.get(PAGE, HTTP_ACCEPT_LANGUAGE="tr").content
    assert text_of(html, "h1") == "Randevu bekleme süreleri"
    rows = _rows(html)
    # sorted by the Turkish country names: Almanya, Amerika Birleşik Devletleri, Japonya
    assert [(r[0], r[1], r[3]) for r in rows if r[3] == "Pasaport"] == [
        ("Consulate-General in Berlin", "Almanya", "Pasaport"),
        ("Düsseldorf Başkonsolosluğu", "Almanya", "Pasaport"),
        ("Consulate-General in Los Angeles", "Amerika Birleşik Devletleri", "Pasaport"),
        ("Embassy in Tokyo", "Japonya", "Pasaport"),
    ]
    tokyo = next(r for r in rows if r[1] == "Japonya" and r[3] == "Pasaport")
    days = round((NEXT - timezone.now()).total_seconds() / 86400)  # as babel rounds it
    assert tokyo[4] == f"10 Oca 2030 Prş, 09:30 (Asia/Tokyo), {days} gün sonra"
    assert tokyo[5] == "20,0 gün"
    assert tokyo[6].endswith(" (Asia/Tokyo)")
    assert re.search(
        r"Rakamlar \d{1,2} \w{3} \d{4} \w{3}, \d{2}:\d{2} \(Europe/Istanbul\) itibarıyla\.",
        html.decode(),
    )


# 17:56 UTC on Sunday 6 December 2026: 20:56 at HQ (Europe/Istanbul, the tests' HQ row)
BUILT = dt.datetime(2026, 12, 6, 17, 56, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Figures as of Sun 6 Dec 2026, 20:56 (Europe/Istanbul)."),
        ("tr", "Rakamlar 6 Ara 2026 Paz, 20:56 (Europe/Istanbul) itibarıyla."),
    ],
)
def test_the_figures_time_is_hqs_as_every_hq_page(client_hq, published, language, said):
    # given the figures were built at a known moment (kept as the page reads them)
    with translation.override(language):
        wait_times.wait_times_get(now=BUILT)
    # when someone opens the page
    html = client_hq.get(PAGE, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then the time they were built is HQ's, its zone named, as the dashboard says its "as of"
    assert said in " ".join(html.split())
    assert "(UTC)" not in html
    # and each mission's own times stay in the mission's zone
    tokyo = next(row for row in _rows(html.encode()) if row[2] == "Tokyo")
    assert tokyo[4].startswith(("Thu 10 Jan 2030, 09:30 (Asia/Tokyo)", "10 Oca 2030 Prş, 09:30"))


@pytest.mark.parametrize(
    ("query", "language", "cities"),
    [
        ("dusseldorf", "en", ["Düsseldorf"]),
        ("DÜSSELDORF", "en", ["Düsseldorf"]),
        ("germany", "en", ["Berlin", "Düsseldorf"]),
        ("almanya", "tr", ["Berlin", "Düsseldorf"]),
        ("germany", "tr", ["Berlin", "Düsseldorf"]),  # the English name works in Turkish too
        ("japonya", "en", []),  # but not the Turkish name in English
        ("tokyo", "tr", ["Tokyo"]),
        ("Embassy", "en", ["Tokyo"]),
        ("lyon", "en", []),  # closed
        ("  ", "en", ["Berlin", "Düsseldorf", "Tokyo", "Los Angeles"]),
    ],
)
def test_search_by_country_city_or_name(client_hq, published, query, language, cities):
    html = client_hq.get(PAGE, {"q": query}, HTTP_ACCEPT_LANGUAGE=language).content
    got = list(dict.fromkeys(r[2] for r in _rows(html) if len(r) > 2))
    if language == "tr" and cities == ["Berlin", "Düsseldorf", "Tokyo", "Los Angeles"]:
        cities = ["Berlin", "Düsseldorf", "Los Angeles", "Tokyo"]
    assert got == cities
    feed = client_hq.get(FEED, {"q": query}, HTTP_ACCEPT_LANGUAGE=language).json()
    assert [m["city"] for m in feed["missions"]] == got


def test_the_feed_has_its_documented_shape(client_hq, published):
    response = client_hq.get(FEED, HTTP_ACCEPT_LANGUAGE="tr")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "max-age=60" in response["Cache-Control"]
    feed = response.json()
    assert set(feed) == {"generated_at", "missions"}
    assert feed["generated_at"].endswith("Z")
    tokyo = next(m for m in feed["missions"] if m["code"] == "beta")
    passport, visa = tokyo["services"]
    wait = passport.pop("wait_days")
    assert tokyo == {
        "code": "beta", "name": "Embassy in Tokyo", "city": "Tokyo", "country": "JP",
        "country_name": "Japonya", "timezone": "Asia/Tokyo", "services": [passport, visa],
    }  # fmt: skip
    assert passport == {
        "code": "passport",
        "name": "Pasaport",
        "next_available": "2030-01-10T00:30:00Z",
        "next_available_local": "2030-01-10T09:30:00+09:00",
        "mean_wait_days_30d": 20.0,
        "reported_at": passport["reported_at"],
    }
    assert wait == pytest.approx((NEXT - timezone.now()).total_seconds() / 86400, abs=0.1)
    assert passport["reported_at"].endswith("Z")
    assert (visa["name"], visa["next_available"], visa["wait_days"]) == ("Vize", None, None)
    la = next(m for m in feed["missions"] if m["code"] == "la")
    assert la["services"][0]["next_available_local"] == "2030-01-09T16:30:00-08:00"
    # nothing names a person
    assert "BK-" not in response.content.decode()


def test_the_figures_are_kept_a_minute_per_language(client_hq, published):
    first = client_hq.get(FEED, HTTP_ACCEPT_LANGUAGE="en").json()
    Mission.objects.filter(code="dus").update(city="Duesseldorf")
    assert client_hq.get(FEED, HTTP_ACCEPT_LANGUAGE="en").json() == first
    turkish = client_hq.get(FEED, HTTP_ACCEPT_LANGUAGE="tr").json()
    assert "Duesseldorf" in {m["city"] for m in turkish["missions"]}


@pytest.mark.parametrize(
    ("query_string", "status"),
    [
        ("q=%00", 400),  # the form, beside the box (tests/consulate/test_search_boxes.py)
        ("%00=%00", 400),  # BadInputMiddleware: a name no form reads
        ("q=a%01b", 400),
        ("q=" + "a" * 10_000, 400),  # the form
        ("q=%ED%A0%80", 200),  # not UTF-8
        ("q=%F0%9F%98%80", 200),  # an emoji
        ("q=%C4%B0zmir", 200),  # İzmir
        ("q=%E2%80%AE%CC%81", 200),  # a right-to-left override and a lone combining mark
        ("q[]=x&q=1&q=2", 200),
        ("q", 200),
        ("q=%25%5F%5C", 200),  # % _ \\ (LIKE's wildcards mean nothing here)
    ],
)
def test_bad_query_strings_never_fail(client_hq, published, query_string, status):
    for path in (PAGE, FEED):
        response = client_hq.get(path, QUERY_STRING=query_string)
        assert response.status_code == status, (path, query_string)
    if query_string.startswith("q=aaa"):
        page = client_hq.get(PAGE, QUERY_STRING=query_string, HTTP_ACCEPT_LANGUAGE="en").content
        assert "at most 100 characters" in text_of(page, "span", id="q-message")
        assert "q" in client_hq.get(FEED, QUERY_STRING=query_string).json()["errors"]


def test_only_on_the_hq_host_and_only_get(client_hq, client_a, published):
    assert client_a.get(PAGE).status_code == 404
    assert client_a.get(FEED).status_code == 404
    assert client_hq.post(PAGE).status_code == 405


@pytest.mark.parametrize("extra", [0, 10])
def test_a_fixed_number_of_queries_for_2_or_12_missions(
    client_hq, mission_a, mission_b, extra, django_assert_num_queries
):
    for code in ("alpha", "beta"):
        _published(code, names={"en": "Passport"})
    for n in range(extra):
        code = f"extra-{n:02d}"
        hq_mission(code, city=f"City {n}", country="FR", zone="Europe/Paris")
        _published(code, names={"en": "Passport"})
    missions = Mission.objects.exclude(kind="hq").count()
    assert missions == 2 + extra
    for path in (PAGE, FEED):
        cache.clear()
        # the host's mission, and the three reads: the missions, their availability reports,
        # their 30-day sums (no `SET search_path`: the connection holds public's path,
        # consulate/kernel/db/base.py)
        with django_assert_num_queries(4):
            response = client_hq.get(path)
        assert response.status_code == 200
        # kept a minute: then only the host's lookup
        with django_assert_num_queries(1):
            client_hq.get(path)
    assert len(client_hq.get(FEED).json()["missions"]) == 2 + extra


def test_a_suspended_mission_is_not_published_and_head_is_answered(published, client_hq):
    # a mission suspended (evacuation, renovation) serves no one for now
    hq_mission("sus", city="Kabul", country="AF", zone="Asia/Kabul", status="suspended")
    _published("sus", names={"en": "Passport"})
    cache.clear()
    codes = [m["code"] for m in client_hq.get(FEED).json()["missions"]]
    assert "sus" not in codes
    assert "alpha" in codes
    # link and uptime checkers ask with HEAD
    assert client_hq.head(PAGE).status_code == 200
    assert client_hq.head(FEED).status_code == 200


def test_a_wait_within_a_day_is_said_in_hours(published, client_hq):
    from appointments.register.wait_times import _wait_text

    now = timezone.now()
    assert _wait_text(now + dt.timedelta(hours=5, minutes=10), now) == "in 5 hours"
    assert _wait_text(now + dt.timedelta(days=12, hours=2), now) == "in 12 days"
    assert _wait_text(now + dt.timedelta(days=400), now) == "in 400 days"
    assert _wait_text(now - dt.timedelta(hours=1), now) == "in 0 hours"


@pytest.mark.parametrize(
    ("language", "hint", "none"),
    [
        ("en", "For example Germany or Tokyo.", "A country's or a city's name, or a part of one."),
        (
            "tr",
            "Örneğin Almanya veya Tokyo.",
            "Bir ülkenin ya da şehrin adı veya adının bir kısmı.",
        ),
    ],
)
def test_the_search_hint_names_places_the_page_lists(client_hq, mission_a, mission_b, language,
                                                     hint, none):  # fmt: skip
    # given Berlin and Tokyo, and no mission in Düsseldorf
    cache.clear()
    # when the page is read
    html = client_hq.get(PAGE, HTTP_ACCEPT_LANGUAGE=language).content
    # then the search's example is a country and a city it lists, in the reader's language,
    # never a place it does not have
    assert text_of(html, "p", id="q-help") == hint
    assert "Düsseldorf" not in html.decode()
    # and with no mission open, it says what a search takes
    Mission.objects.filter(code__in=["alpha", "beta"]).update(status="suspended")
    cache.clear()
    html = client_hq.get(PAGE, {"q": "x" * 101}, HTTP_ACCEPT_LANGUAGE=language).content
    assert text_of(html, "p", id="q-help") == none
