"""HQ monitoring's pages (docs/monitoring.md): the dashboard over every mission, its filters,
sort and CSV, the weekly trends, a mission's page, the alerts and the daily digest; asserted
on the rendered text, in English and Turkish, for a mission east of UTC (Tokyo) and one west
of it (New York).

HQ's sync table (`MissionLink`) is written directly: it is what the applying side leaves
behind (tests/sync/); the apps' own figures are tested with their registers (tests/appointments/,
tests/fees/, tests/missions/test_case_register.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone, translation

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.actors import SYSTEM
from missions.models import AlertDigest, Mission, MissionStatus
from missions.monitoring import Column, Section, Trend, weeks_ending
from missions.services.monitoring import monitoring_digest_send
from sync.hq.models import MissionLink
from tests.conftest import host_client, make_staff, text_of, texts_of, written_short
from tests.factories import MissionFactory, UserFactory
from tests.missions.test_sync_pages import _hq_client, _login

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _contact(code: str, *, minutes_ago: int) -> dt.datetime:
    moment = timezone.now() - dt.timedelta(minutes=minutes_ago)
    MissionLink.objects.update_or_create(mission=code, defaults={"last_contact_at": moment})
    return moment


@pytest.fixture
def newyork(db) -> Mission:  # type: ignore[no-untyped-def]
    return MissionFactory(
        code="nyc",
        name="Consulate-General in New York",
        name_tr="New York Başkonsolosluğu",
        host_country="US",
        city="New York",
        timezone="America/New_York",
        currency="USD",
        region="019",
    )


@pytest.fixture
def regions(mission_a, mission_b):  # type: ignore[no-untyped-def]
    Mission.objects.filter(code="alpha").update(region="150")
    Mission.objects.filter(code="beta").update(region="142")


def _rows(html: str) -> list[str]:
    return texts_of(html, "tr", role="row")[1:]


def test_every_mission_is_a_row_with_its_last_contact_in_its_own_zone(mission_b, newyork, regions):
    # given Tokyo (UTC+9) heard from 3 hours ago and New York (UTC-5) 20 minutes ago
    tokyo_contact = _contact("beta", minutes_ago=180)
    newyork_contact = _contact("nyc", minutes_ago=20)
    html = _hq_client().get("/hq/").content.decode()
    rows = {row.split("\n")[0]: row for row in _rows(html)}
    # then each row shows the time of the last contact in the mission's zone, as every page
    # writes a time (24 hours, not "11:27 AM"), the zone named
    tokyo_local = tokyo_contact.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert f"{written_short(tokyo_local)} (Asia/Tokyo)" in rows["Embassy in Tokyo"]
    newyork_local = newyork_contact.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert (
        f"{written_short(newyork_local)} (America/New_York)"
        in (rows["Consulate-General in New York"])
    )
    assert not re.search(r"\b[AP]M\b", html)
    # and the page's own time is HQ's, its zone named
    hq_now = timezone.now().astimezone(zoneinfo.ZoneInfo("Europe/Istanbul"))
    lead = text_of(html, "p", class_="lead")
    assert re.search(
        rf"by {hq_now:%a} {hq_now.day} {hq_now:%b %Y}, [0-9]{{2}}:[0-9]{{2}} \(Europe/Istanbul\)\.",
        lead,
    ), lead
    # and how long each has been silent, and its region
    assert "3 hours" in rows["Embassy in Tokyo"]
    assert "Asia" in rows["Embassy in Tokyo"]
    assert "Americas" in rows["Consulate-General in New York"]
    assert "20 minutes" in rows["Consulate-General in New York"]


def test_the_dashboard_in_turkish(mission_b, newyork, regions):
    contact = _contact("beta", minutes_ago=180).astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    html = _hq_client(language="tr").get("/hq/").content.decode()
    assert text_of(html, "h1") == "Merkez (HQ) paneli"
    # in the order of the countries' Turkish names: Almanya, Amerika Birleşik Devletleri,
    # Japonya (not their codes' DE, JP, US)
    countries = [row.split("\n")[1].rsplit(", ", 1)[1] for row in _rows(html)]
    assert countries == ["Almanya", "Amerika Birleşik Devletleri", "Japonya"]
    rows = "\n".join(_rows(html))
    assert "New York Başkonsolosluğu\nNew York, Amerika Birleşik Devletleri\nAmerika" in rows
    assert "Asya" in rows
    assert "3 saat" in rows
    # a time as Turkish pages write one: "7 Ara 2026 Pzt, 14:05", the zone named
    assert re.search(
        rf"\b{contact.day} \w{{3}} {contact.year} \w{{3}}, {contact:%H:%M} \(Asia/Tokyo\)", rows
    ), rows
    # the alert about New York's silence (never heard from) in Turkish too
    assert "Kritik" in text_of(html, "section", class_="notice monitoring-alerts")


def test_filters_by_region_country_and_status(mission_a, mission_b, newyork, regions):
    client = _hq_client()
    names = lambda path: [r.split("\n")[0] for r in _rows(client.get(path).content.decode())]  # noqa: E731
    assert names("/hq/?region=142") == ["Embassy in Tokyo"]
    assert names("/hq/?region=150") == ["Consulate-General in Berlin"]
    assert names("/hq/?country=us") == ["Consulate-General in New York"]
    Mission.objects.filter(code="beta").update(status=MissionStatus.SUSPENDED)
    assert names("/hq/?status=suspended") == ["Embassy in Tokyo"]
    # a NUL byte is a filter the page cannot honour: 400, the reason beside the field
    response = client.get("/hq/?region=%00")
    assert response.status_code == 400
    assert "Remove the control characters" in text_of(response.content, "div", id="error-summary")
    # and nothing matching says so, a country without a mission too
    for query in ("region=002", "country=FR"):
        response = client.get(f"/hq/?{query}")
        assert response.status_code == 200
        assert "No mission matches these filters." in response.content.decode()


# Each filter the dashboard cannot honour, the field it is told beside, and why (English,
# Turkish). Before, each of them answered 200 with every mission's figures, under a form that
# still showed the value, so the figures looked filtered.
SELECT_A_VALID_CHOICE = (
    "Select a valid choice. {} is not one of the available choices.",
    "Geçerli bir seçenek seçin. {} mevcut seçeneklerden biri değil.",
)
REFUSED = [
    ("region=9", "region", *(text.format("9") for text in SELECT_A_VALID_CHOICE)),
    ("status=bogus", "status", *(text.format("bogus") for text in SELECT_A_VALID_CHOICE)),
    ("sort=bogus", "sort", *(text.format("bogus") for text in SELECT_A_VALID_CHOICE)),
    ("order=up", "order", *(text.format("up") for text in SELECT_A_VALID_CHOICE)),
    ("country=Germany", "country",
     "“Germany” is not an ISO 3166 country code (such as DE or JP).",
     "“Germany” bir ISO 3166 ülke kodu değil (örneğin DE veya JP)."),
    ("country=%C3%BC%C3%BC", "country",
     "“üü” is not an ISO 3166 country code (such as DE or JP).",
     "“üü” bir ISO 3166 ülke kodu değil (örneğin DE veya JP)."),
    ("country=QQ", "country",
     "“QQ” is not an ISO 3166 country code (such as DE or JP).",
     "“QQ” bir ISO 3166 ülke kodu değil (örneğin DE veya JP)."),
]  # fmt: skip
LABELS = {
    "en": {"region": "Region", "country": "Country", "status": "Status", "sort": "Sort by",
           "order": "Order"},
    "tr": {"region": "Bölge", "country": "Ülke", "status": "Durum", "sort": "Sırala",
           "order": "Sıra"},
}  # fmt: skip
THERE_IS_A_PROBLEM = {"en": "There is a problem", "tr": "Bir sorun var"}
# The trends page sorts nothing: a sort or order it is sent is not a filter of it.
SORTING = ("sort", "order")


def _pages(field: str, *, csv: bool = False) -> tuple[str, ...]:
    """The pages (or their CSVs) that have the filter `field`."""
    if csv:
        return ("/hq/missions.csv",) if field in SORTING else ("/hq/missions.csv", "/hq/trends.csv")
    return ("/hq/",) if field in SORTING else ("/hq/", "/hq/trends/")


NO_FIGURES = {
    "en": "No figures are shown: correct the filters marked above.",
    "tr": "Rakamlar gösterilmiyor: yukarıda işaretli filtreleri düzeltin.",
}


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize(
    ("query", "field", "english", "turkish"), REFUSED, ids=[case[0] for case in REFUSED]
)
def test_a_filter_the_dashboard_cannot_honour_is_refused_beside_its_field(
    mission_a, mission_b, regions, query, field, english, turkish, language
):
    # given an analyst reading in `language`, and missions with figures to show
    _contact("beta", minutes_ago=180)
    client = _hq_client(language=language)
    message = english if language == "en" else turkish
    for path in _pages(field):
        # when the dashboard (or its trends) is asked for figures under a filter it cannot
        # honour
        response = client.get(f"{path}?{query}")
        # then it answers 400, the reason beside the field and in the error summary at the
        # top, which names the field and links to it, and no figures at all
        assert response.status_code == 400, path
        beside = text_of(response.content, "div", class_="field field-error")
        assert beside.split("\n")[:2] == [LABELS[language][field], message], path
        assert text_of(response.content, "div", id="error-summary") == (
            f"{THERE_IS_A_PROBLEM[language]}\n{LABELS[language][field]}: {message}"
        )
        assert f'<a href="#f-{field}">' in response.content.decode()
        assert f'<select id="f-{field}" name="{field}" aria-invalid="true"' in (
            response.content.decode()
        )
        assert b'class="messages"' not in response.content
        assert NO_FIGURES[language] in response.content.decode()
        assert _rows(response.content.decode()) == []
        assert b"<svg" not in response.content
        assert b"monitoring-alerts" not in response.content
        assert b".csv" not in response.content
    # and each CSV is the same refusal in plain text, not a file of every figure
    for path in _pages(field, csv=True):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert "Content-Disposition" not in response
        assert response.content.decode() == f"{LABELS[language][field]}: {message}\n"


# Four filters refused at once: the form's selects and the selector's country.
EVERY_REFUSAL = "region=9&country=Germany&status=bogus&sort=bogus"


@pytest.mark.parametrize("language", ["en", "tr"])
def test_every_refused_filter_is_told_at_once_beside_its_field(
    mission_a, mission_b, regions, language
):
    # given an analyst reading in `language`
    client = _hq_client(language=language)
    choice = SELECT_A_VALID_CHOICE[language == "tr"]
    country = next(case for case in REFUSED if case[0] == "country=Germany")[2:]
    expected = [
        [LABELS[language]["region"], choice.format("9")],
        [LABELS[language]["country"], country[language == "tr"]],
        [LABELS[language]["status"], choice.format("bogus")],
        [LABELS[language]["sort"], choice.format("bogus")],
    ]
    for path, refused in (("/hq/", expected), ("/hq/trends/", expected[:3])):
        # when the page is asked for figures under four filters it cannot honour (the trends
        # page three: it has no sort, so it does not read one)
        response = client.get(f"{path}?{EVERY_REFUSAL}")
        # then every reason is beside its field at once: the country's too, which showed only
        # once the selects were corrected
        assert response.status_code == 400, path
        beside = texts_of(response.content, "div", class_="field field-error")
        assert [text.split("\n")[:2] for text in beside] == refused, path
        # and the error summary at the top names each field, in the reader's language, each
        # line a link to its field (before: the page's message was the region's reason alone,
        # "Select a valid choice...", naming no field)
        summary = text_of(response.content, "div", id="error-summary")
        assert summary.split("\n") == [
            THERE_IS_A_PROBLEM[language],
            *(f"{label}: {why}" for label, why in refused),
        ]
        html = response.content.decode()
        links = re.findall(r'<li><a href="#(f-[a-z]+)">', html)
        assert links == ["f-region", "f-country", "f-status", "f-sort"][: len(refused)]
        assert all(f'<select id="{link}" ' in html for link in links)
        # announced when the page arrives, and reachable by its link
        assert 'class="error-summary" role="alert" tabindex="-1" id="error-summary"' in html
        assert b'class="messages"' not in response.content
    # and each CSV says every reason, a line each, in the form's order
    for path, refused in (("/hq/missions.csv", expected), ("/hq/trends.csv", expected[:3])):
        response = client.get(f"{path}?{EVERY_REFUSAL}")
        assert response.status_code == 400, path
        assert response.content.decode() == "".join(f"{label}: {why}\n" for label, why in refused)


REMOVE_CONTROLS = {
    "en": "Remove the control characters from this field.",
    "tr": "Bu alandaki kontrol karakterlerini silin.",
}
HEADINGS = {
    "en": {"/hq/": "HQ dashboard", "/hq/trends/": "Weekly trends"},
    "tr": {"/hq/": "Merkez (HQ) paneli", "/hq/trends/": "Haftalık eğilimler"},
}
GENERIC_BAD_INPUT = {
    "en": "The request contains characters that are not allowed",
    "tr": "izin verilmeyen",
}


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize(
    ("query", "field"),
    [("country=%00", "country"), ("country=DE%00", "country"), ("region=150%01", "region"),
     ("status=active&status=%00", "status"), ("sort=%1b%5B31m", "sort"), ("order=%7f", "order")],
)  # fmt: skip
def test_a_control_character_in_a_filter_is_refused_beside_its_field(
    mission_a, mission_b, regions, query, field, language
):
    # given an analyst reading in `language`
    client = _hq_client(language=language)
    for path in _pages(field):
        # when a filter holds a NUL or another control character
        response = client.get(
            f"{path}?{query}&country=JP" if field != "country" else f"{path}?{query}"
        )
        # then the page answers as for any filter it cannot honour: 400, its own page with the
        # reason beside the field and in the error summary, and no figures; not the generic
        # 400 page of bad input (which named no field, in HTML for the CSV too)
        assert response.status_code == 400, path
        html = response.content.decode()
        assert text_of(html, "h1") == HEADINGS[language][path]
        beside = text_of(html, "div", class_="field field-error")
        assert beside.split("\n")[:2] == [LABELS[language][field], REMOVE_CONTROLS[language]]
        assert text_of(html, "div", id="error-summary").split("\n")[1:] == [
            f"{LABELS[language][field]}: {REMOVE_CONTROLS[language]}"
        ]
        assert GENERIC_BAD_INPUT[language] not in html
        assert NO_FIGURES[language] in html
        assert _rows(html) == []
        # the value is never shown back (no page holds a control character); what was
        # understood beside it stays chosen
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", html)
        if field != "country":
            assert '<option value="JP" selected>' in html
    # and each CSV answers the reason in plain text, in the reader's language
    for path in _pages(field, csv=True):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content.decode() == (
            f"{LABELS[language][field]}: {REMOVE_CONTROLS[language]}\n"
        )


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize(
    "forged", ["sort=bogus", "order=up", "sort=bogus&order=up", "sort=%00", "order=%7f"]
)
def test_the_trends_page_ignores_a_sort_it_does_not_have(
    mission_a, mission_b, regions, forged, language
):
    # given an analyst reading the trends in `language`
    client = _hq_client(language=language)
    # when a sort or order the page does not have is forged beside a filter it has
    response = client.get(f"/hq/trends/?region=142&{forged}")
    # then it is ignored: the trends under the region, no sort fields added to the form, no
    # error, and the links carry only what the page understood
    assert response.status_code == 200
    html = response.content.decode()
    assert text_of(html, "h1") == HEADINGS[language]["/hq/trends/"]
    assert 'id="f-sort"' not in html
    assert 'id="f-order"' not in html
    assert 'name="sort"' not in html
    assert 'name="order"' not in html
    assert 'id="error-summary"' not in html
    assert '<option value="142" selected>' in html
    assert 'href="/hq/trends.csv?region=142"' in html
    # and its CSV is the figures, not a refusal
    response = client.get(f"/hq/trends.csv?region=142&{forged}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_the_trends_page_carries_the_dashboards_sort_back_to_it(mission_a, mission_b):
    html = _hq_client().get("/hq/trends/?sort=sync.silent_minutes&order=desc").content.decode()
    assert 'href="/hq/?sort=sync.silent_minutes&amp;order=desc"' in html
    assert '<input type="hidden" name="sort" value="sync.silent_minutes">' in html
    assert 'id="f-sort"' not in html


@pytest.mark.parametrize(
    "query",
    ["junk=%00", "%00=1", "country%00=DE", "region=150&q=%01"],
)
def test_bad_input_outside_the_filters_is_still_refused_before_the_page(mission_a, query):
    # when an HQ filter page's request holds a control character anywhere but in the value of
    # one of its filters (another parameter, a parameter's name)
    for path in ("/hq/", "/hq/missions.csv", "/hq/trends/", "/hq/trends.csv"):
        response = _hq_client(language="tr").get(f"{path}?{query}")
        # then BadInputMiddleware refuses it before the page, as everywhere
        assert response.status_code == 400, path
        assert GENERIC_BAD_INPUT["tr"] in response.content.decode(), path


BAD_INPUT_MESSAGE = {
    "en": "The request contains characters that are not allowed (such as a NUL byte).\n",
    "tr": "İstek, izin verilmeyen karakterler içeriyor (örneğin bir NUL baytı).\n",
}


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize(
    "path",
    ["/hq/missions/alpha/services.csv?x=%00", "/hq/missions/alpha/trends.csv?%00=1",
     "/hq/missions.csv?junk=%01", "/hq/trends.csv?country%00=DE"],
)  # fmt: skip
def test_a_csv_refuses_bad_input_in_plain_text(mission_a, path, language):
    # when a CSV's request holds a control character its view does not read (a mission's
    # table reads no parameter at all)
    response = _hq_client(language=language).get(path)
    # then the answer is the reason in plain text in the reader's language, as a refused
    # filter's CSV answers, not the site's HTML page
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == BAD_INPUT_MESSAGE[language]


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_wait_times_feed_refuses_bad_input_in_json(client_hq, language):
    # when the public wait-times feed is asked with a NUL, by a client that accepts anything
    response = client_hq.get(
        "/wait-times.json?q=%00", HTTP_ACCEPT="*/*", HTTP_ACCEPT_LANGUAGE=language
    )
    # then it answers JSON, as it answers any refused search, with the reason in the reader's
    # language
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "invalid",
        "message": BAD_INPUT_MESSAGE[language].strip(),
        "field": None,
    }


def test_what_was_understood_stays_chosen_beside_a_refused_filter(mission_a, mission_b, regions):
    # when the dashboard is asked for Asia's missions with a status it does not offer
    response = _hq_client().get("/hq/?region=142&status=bogus")
    # then the status is refused, and the region stays chosen in the form to correct
    assert response.status_code == 400
    html = response.content.decode()
    assert '<option value="142" selected>Asia</option>' in html
    assert 'aria-invalid="true" aria-describedby="f-status-message"' in html
    assert 'aria-describedby="f-region-message"' not in html


def test_the_selector_refuses_what_the_form_would_not_offer(mission_a):
    from consulate.kernel.errors import ApplicationError
    from missions.selectors_monitoring import (
        DashboardFilters,
        dashboard_read,
        mission_list_monitored,
    )

    for filters, field in (
        (DashboardFilters(region="9"), "region"),
        (DashboardFilters(country="ZZZ"), "country"),
        (DashboardFilters(status="bogus"), "status"),
        (DashboardFilters(sort="bogus"), "sort"),
    ):
        for read in (dashboard_read, mission_list_monitored):
            with pytest.raises(ApplicationError) as refused:
                read(filters=filters)
            assert refused.value.field == field
    # every refusal at once, each with its field
    with pytest.raises(ApplicationError) as refused:
        mission_list_monitored(filters=DashboardFilters(region="9", country="ZZZ", sort="x"))
    assert list(refused.value.errors) == ["region", "country", "sort"]
    # in the reader's language
    with translation.override("tr"):
        with pytest.raises(ApplicationError) as refused:
            dashboard_read(filters=DashboardFilters(region="9"))
        assert str(refused.value.message) == "Listelenen bölgelerden birini seçin."


def test_sorting_puts_the_worst_first_and_no_figure_last(mission_a, mission_b, newyork):
    _contact("alpha", minutes_ago=30)
    _contact("beta", minutes_ago=600)
    Mission.objects.filter(code="nyc").update(created_at=timezone.now() - dt.timedelta(minutes=100))
    client = _hq_client()
    html = client.get("/hq/?sort=sync.silent_minutes&order=desc").content.decode()
    assert [r.split("\n")[0] for r in _rows(html)] == [
        "Embassy in Tokyo",
        "Consulate-General in New York",
        "Consulate-General in Berlin",
    ]
    # the sorted column says so to a screen reader
    assert 'aria-sort="descending"' in html
    # by last contact: New York never made contact, so it is last either way
    for order in ("", "&order=desc"):
        html = client.get(f"/hq/?sort=sync.last_contact{order}").content.decode()
        assert _rows(html)[-1].startswith("Consulate-General in New York")


def test_the_csv_is_the_table_as_filtered_machine_readable(mission_a, mission_b, regions):
    contact = _contact("beta", minutes_ago=90)
    Mission.objects.filter(code="beta").update(name_en="=HYPERLINK(1)")
    response = _hq_client(language="tr").get("/hq/missions.csv?region=142")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["mission"] for row in rows] == ["beta"]
    row = rows[0]
    # whatever the reader's language: ISO times in UTC, plain numbers, stable keys
    assert row["sync.last_contact"] == contact.astimezone(dt.UTC).isoformat(timespec="seconds")
    assert row["sync.silent_minutes"] == "90"
    # the region by its English name: a code such as 019 would lose its zero in a spreadsheet
    assert row["region"] == "asia"
    assert row["alerts"] == "sync.silent"
    # a name a spreadsheet would run as a formula is not one
    assert row["name"] == "'=HYPERLINK(1)"


def test_a_silent_mission_alerts_after_its_own_threshold(mission_a, mission_b, newyork, settings):
    settings.SYNC_SILENCE_ALERT_MINUTES = 60
    _contact("alpha", minutes_ago=120)  # past the default
    _contact("beta", minutes_ago=120)  # but Tokyo's own threshold is 3 hours
    Mission.objects.filter(code="beta").update(silence_alert_minutes=180)
    _contact("nyc", minutes_ago=5)
    html = _hq_client().get("/hq/").content.decode()
    alerts = texts_of(html, "li", class_="alert-critical")
    assert len(alerts) == 1
    assert alerts[0].startswith("Critical:\nConsulate-General in Berlin")
    assert alerts[0].endswith("No contact with HQ for 2 hours (alert after 60 minutes).")
    # and a closed mission is not watched for silence
    Mission.objects.filter(code="alpha").update(status=MissionStatus.CLOSED)
    html = _hq_client().get("/hq/").content.decode()
    assert "monitoring-alerts" not in html


def test_a_missions_page_and_its_csv(mission_b):
    _contact("beta", minutes_ago=10)
    client = _hq_client()
    html = client.get("/hq/missions/beta/").content.decode()
    assert text_of(html, "h1") == "Embassy in Tokyo"
    assert "Times on this page are in the mission's zone, Asia/Tokyo." in html
    # the way into the mission's own staff pages, without logging in again
    assert 'action="/accounts/handoff/to/beta/"' in html
    # the figures at a glance
    glance = text_of(html, "dl", class_="figures-list")
    assert "Silent for\n10 minutes" in glance
    # a table that does not exist, a mission that does not exist: 404
    assert client.get("/hq/missions/beta/nothing.csv").status_code == 404
    assert client.get("/hq/missions/nowhere/").status_code == 404
    assert client.get("/hq/missions/hq/").status_code == 404


class _TrendsOnly:
    """A contributor with a known weekly series and a table, to see how they are drawn."""

    name = "test-trends"
    columns = (Column(key="test.count", label="Test count", kind="count"),)

    def figures(self, *, missions, now):  # type: ignore[no-untyped-def]
        return {m.code: {"test.count": 7} for m in missions}

    def alerts(self, *, missions, figures, now):  # type: ignore[no-untyped-def]
        return []

    def trends(self, *, missions, weeks):  # type: ignore[no-untyped-def]
        return [
            Trend(
                key="test.bookings",
                label="Bookings",
                kind="count",
                values={week: (i * 10 if i % 4 else None) for i, week in enumerate(weeks)},
            ),
            Trend(
                key="test.revenue",
                label="Revenue",
                kind="money",
                unit="EUR",
                values={weeks[-1]: 123456},
            ),
        ]

    def sections(self, *, mission, now):  # type: ignore[no-untyped-def]
        return [
            Section(
                key="services",
                title="Per service",
                columns=(
                    Column(key="service", label="Service", kind="text"),
                    Column(key="count", label="Count", kind="count"),
                ),
                rows=[{"service": "-passport", "count": 1234}],
            )
        ]


@pytest.fixture
def trends_contributor(monkeypatch):  # type: ignore[no-untyped-def]
    from missions import monitoring

    registered = dict(monitoring._contributors)
    registered["test-trends"] = _TrendsOnly()
    monkeypatch.setattr(monitoring, "_contributors", registered)


def test_trends_are_plots_with_the_table_behind_them(mission_b, trends_contributor):
    client = _hq_client(language="tr")
    html = client.get("/hq/trends/").content.decode()
    # HQ's weeks, in HQ's zone: on a Sunday evening UTC it is already Monday east of it
    from missions.selectors import mission_hq

    weeks = weeks_ending(timezone.localdate(timezone=mission_hq().zone), 12)
    # a bar per week with a figure (weeks 0, 4 and 8 have none)
    figure = html[html.index('id="trend-testbookings-caption"') :]
    figure = figure[: figure.index("</figure>")]
    assert figure.count("<rect") == 9
    # a template comment is never shown
    assert "{#" not in figure
    assert "#}" not in figure
    # its coordinates are SVG's numbers in every language: "74,7" would put every bar at 74
    picture = figure[figure.index(">", figure.index("<svg")) : figure.index("</svg>")]
    coordinates = re.findall(r'\b(?:x|y|x1|x2|y1|y2|width|height|cx|cy)="([^"]*)"', picture)
    assert len(coordinates) > 9 * 4
    assert all(re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value) for value in coordinates), coordinates
    # the table behind it, every week, "–" where there is no figure, numbers in Turkish
    table = texts_of(figure, "tr")
    assert len(table) == 13
    assert table[-1].endswith("\n110")
    assert table[1].endswith("\n–")
    # the image is named for a screen reader with its latest and highest figure
    last = texts_of(figure, "time")[-1]
    assert f'aria-label="Bookings: {last} haftası 110, en yüksek 110"' in figure
    # money in the currency's own format, in the reader's language
    assert "€1.234,56" in html
    # and the CSV: one row per week, money as a decimal amount
    rows = list(csv.DictReader(io.StringIO(client.get("/hq/trends.csv").content.decode())))
    assert [row["week"] for row in rows] == [week.isoformat() for week in weeks]
    assert (rows[-1]["test.bookings"], rows[-1]["test.revenue (EUR)"]) == ("110", "1234.56")
    assert (rows[0]["test.bookings"], rows[0]["test.revenue (EUR)"]) == ("", "")


def test_a_missions_section_as_a_table_and_csv(mission_b, trends_contributor):
    client = _hq_client()
    html = client.get("/hq/missions/beta/").content.decode()
    section = text_of(html, "section", **{"aria-labelledby": "section-services"})
    assert section.startswith("Per service\nService\nCount\n-passport\n1,234\n")
    content = client.get("/hq/missions/beta/services.csv").content.decode()
    rows = list(csv.reader(io.StringIO(content)))
    assert rows == [["service", "count"], ["'-passport", "1234"]]


def test_only_hq_staff_see_the_dashboard(mission_a, client_hq):
    paths = ("/hq/", "/hq/trends/", "/hq/missions/alpha/", "/hq/missions.csv", "/hq/trends.csv")
    # a mission's consul, logged in at HQ with a second factor: none of it exists for them
    consul = make_staff(mission_a, "consul")
    client = _login(host_client("localhost"), consul)
    for path in paths:
        assert client.get(path).status_code == 404, path
    # an HQ admin and an analyst: all of it
    for role in (HqRole.ADMIN, HqRole.ANALYST):
        client = _hq_client(role=role)
        for path in paths:
            assert client.get(path).status_code == 200, (role, path)
    # someone not logged in is sent to log in
    assert client_hq.get("/hq/missions.csv").status_code == 302


def _queries(client, path: str) -> int:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


# Per page, with the appointments, cases and fees contributions registered: the host and the
# user with their roles (no `SET search_path`: the connection holds public's path,
# consulate/kernel/db/base.py), then the page's own: the missions, the countries for the
# filter, and each contributor's fixed reads.
PINNED_QUERIES = {"/hq/": 14, "/hq/trends/": 8, "/hq/missions.csv": 14, "/hq/missions/alpha/": 21}


@pytest.mark.usefixtures("settled_keys")
def test_the_pages_cost_the_same_whatever_the_number_of_missions(mission_a, mission_b):
    client = _hq_client()
    client.get("/hq/")  # the session's first write
    paths = ("/hq/", "/hq/trends/", "/hq/missions.csv", "/hq/missions/alpha/")
    before = {path: _queries(client, path) for path in paths}
    for n in range(3):
        mission = MissionFactory(code=f"qm{n}")
        make_staff(mission, "officer")
        _contact(mission.code, minutes_ago=n * 100)
    after = {path: _queries(client, path) for path in paths}
    assert after == before
    assert before == PINNED_QUERIES


# --- the daily digest ----------------------------------------------------------------------------


def _hq_people() -> tuple:  # type: ignore[type-arg]
    english = UserFactory(hq_role=HqRole.ANALYST, email="analyst.en@example.org")
    turkish = UserFactory(
        hq_role=HqRole.ADMIN, email="admin.tr@example.org", preferred_language="tr"
    )
    UserFactory(hq_role=HqRole.ANALYST, email="gone@example.org", is_active=False)
    return english, turkish


def _hq_morning(hour: int) -> dt.datetime:
    """The latest `hour` o'clock in HQ's zone (Europe/Istanbul in the tests' HQ row) that is not
    in the future: today's, or yesterday's before that hour. A morning still to come would
    find the test's missions silent for hours (they open as the test starts), so a run between
    HQ's midnight and that hour would see alerts the test did not make."""
    from missions.selectors import mission_hq

    zone = mission_hq().zone
    now = timezone.now().astimezone(zone)
    day = now.date() if now.hour >= hour else now.date() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone)


def test_the_digest_goes_once_a_day_to_hq_in_each_readers_language(mission_a, newyork, settings):
    settings.MONITORING_DIGEST_HOUR = 7
    _hq_people()
    morning = _hq_morning(8)
    MissionLink.objects.update_or_create(
        mission="alpha", defaults={"last_contact_at": morning - dt.timedelta(hours=5)}
    )
    MissionLink.objects.update_or_create(
        mission="nyc", defaults={"last_contact_at": morning - dt.timedelta(minutes=3)}
    )
    # before the hour: nothing
    assert monitoring_digest_send(now=_hq_morning(6)) == 0
    assert not AlertDigest.objects.exists()
    # at 8: one e-mail to each active HQ analyst and admin
    assert monitoring_digest_send(now=morning) == 2
    by_address = {message.to[0]: message for message in mail.outbox}
    english = by_address["analyst.en@example.org"]
    # its time in HQ's zone as every page writes one (24 hours), the zone named
    assert english.body.startswith(
        f"The alerts of HQ's dashboard at {written_short(morning)} (Europe/Istanbul):"
    )
    assert "HQ monitoring" in english.subject
    assert english.subject.endswith("alerts at 1 mission")
    assert "Consulate-General in Berlin (alpha, Berlin)" in english.body
    assert "- Critical: No contact with HQ for 5 hours (alert after 60 minutes)." in english.body
    assert "New York" not in english.body
    assert "every figure behind these alerts: http://localhost/hq/" in english.body
    turkish = by_address["admin.tr@example.org"]
    assert "Merkez (HQ) izleme" in turkish.subject
    assert (
        "- Kritik: 5 saat boyunca Merkez (HQ) ile temas yok (uyarı eşiği 60 dakika)."
        in turkish.body
    )
    # and a second run the same day sends nothing more
    assert monitoring_digest_send(now=morning + dt.timedelta(hours=3)) == 0
    assert len(mail.outbox) == 2
    assert AlertDigest.objects.get().alerts == 1


def test_a_day_without_alerts_sends_no_digest(mission_a, settings):
    settings.MONITORING_DIGEST_HOUR = 7
    _hq_people()
    morning = _hq_morning(9)
    MissionLink.objects.update_or_create(
        mission="alpha", defaults={"last_contact_at": morning - dt.timedelta(minutes=1)}
    )
    assert monitoring_digest_send(now=morning) == 0
    assert mail.outbox == []
    assert AlertDigest.objects.get().alerts == 0


def test_a_plot_with_negative_weeks_stays_inside_its_picture(mission_b, monkeypatch):
    from missions.templatetags.missions_monitoring import trend_chart

    weeks = weeks_ending(timezone.localdate(), 4)
    trend = Trend(
        key="net",
        label="Net",
        kind="money",
        unit="EUR",
        values=dict(zip(weeks, [5000, -2500, None, 0], strict=True)),
    )
    chart = trend_chart(trend, weeks, "c")
    # every bar inside the picture, the negative one hanging below the zero line
    zero = next(tick["y"] for tick in chart["ticks"] if tick["text"] == "€0.00")
    for bar in chart["bars"]:
        assert bar["h"] >= 0
        assert 0 <= bar["y"] <= chart["height"]
        assert bar["y"] + bar["h"] <= chart["height"]
    assert chart["bars"][1]["y"] == zero  # -25.00 starts at zero and goes down
    assert chart["ticks"][0]["text"] == "-€25.00"
    # a count's axis has no half bookings
    counts = Trend(key="n", label="N", kind="count", values={weeks[-1]: 1})
    assert [tick["text"] for tick in trend_chart(counts, weeks, "n")["ticks"]] == ["0", "1"]
    # and an axis with nothing on it says only 0
    nothing = Trend(key="z", label="Z", kind="money", unit="EUR", values={weeks[-1]: 0})
    assert [tick["text"] for tick in trend_chart(nothing, weeks, "z")["ticks"]] == ["€0.00"]


def test_staff_counts_people_with_an_active_account_once(mission_a):
    from missions.services import membership_grant

    officer = make_staff(mission_a, "officer")
    membership_grant(user=officer, mission=mission_a, role="cashier", acting_user=SYSTEM)
    gone = make_staff(mission_a, "consul")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    html = _hq_client().get("/hq/missions/alpha/").content.decode()
    assert "Staff\n1" in text_of(html, "dl", class_="figures-list")


def test_a_threshold_of_zero_is_refused_by_the_database(mission_a):
    from django.db import IntegrityError, transaction

    for column in ("silence_alert_minutes", "wait_target_days"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Mission.objects.filter(code="alpha").update(**{column: 0})


def test_sorting_and_filtering_by_form_on_a_phone_and_links_carry_only_what_was_understood(
    mission_a, mission_b, regions
):
    client = _hq_client()
    html = client.get(
        "/hq/?region=142&sort=sync.silent_minutes&order=desc&junk=1&junk=2"
    ).content.decode()
    # the sort is a labelled select in the filter form (the table's headings are hidden on a
    # phone), and the sorted column says so in words and with an arrow
    assert '<label for="f-sort">Sort by</label>' in html
    assert '<option value="sync.silent_minutes" selected>Silent for</option>' in html
    assert (
        'aria-sort="descending" class="sorted">Silent for <span aria-hidden="true">▼</span>' in html
    )
    # the page's links carry the filters it understood, nothing else
    assert 'href="/hq/missions.csv?region=142&amp;sort=sync.silent_minutes&amp;order=desc"' in html
    assert not [link for link in re.findall(r'href="([^"]*)"', html) if "junk" in link]
    # each row is named by its mission's heading cell
    assert '<th scope="row" role="rowheader"><a href="/hq/missions/beta/">' in html


def test_the_country_filter_is_on_the_trends_page_too(mission_a, mission_b):
    html = _hq_client(language="tr").get("/hq/trends/?country=JP").content.decode()
    options = texts_of(html, "option")
    # countries by their names in the reader's language: Almanya before Japonya
    assert options.index("Almanya") < options.index("Japonya")
    assert '<option value="JP" selected>Japonya</option>' in html


@pytest.mark.parametrize(("language", "turkey"), [("en", "Türkiye"), ("tr", "Türkiye")])
@pytest.mark.parametrize("page", ["/hq/", "/hq/trends/"])
def test_a_country_without_a_mission_stays_chosen_in_the_filter(
    mission_a, mission_b, page, language, turkey
):
    # when the analyst filters on a real country where HQ has no mission
    html = _hq_client(language=language).get(f"{page}?country=TR").content.decode()
    # then the form shows that country chosen (not "All countries"), over no mission
    assert f'<option value="TR" selected>{turkey}</option>' in html
    assert '<option value="" selected' not in html


def test_a_failed_delivery_is_tried_again_by_the_next_run(mission_a, settings, monkeypatch):
    from django.core.mail import EmailMessage

    from missions.models import AlertDigestDelivery

    settings.MONITORING_DIGEST_HOUR = 7
    _hq_people()
    morning = _hq_morning(8)
    MissionLink.objects.update_or_create(
        mission="alpha", defaults={"last_contact_at": morning - dt.timedelta(hours=5)}
    )
    real_send = EmailMessage.send

    def refused(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.to == ["admin.tr@example.org"]:
            raise OSError("mailbox unavailable")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", refused)
    assert monitoring_digest_send(now=morning) == 1
    failed = AlertDigestDelivery.objects.get(user__email="admin.tr@example.org")
    assert (failed.sent_at, failed.attempts) == (None, 1)
    assert failed.last_error == "OSError: mailbox unavailable"
    # the mailbox is back: the next run sends that copy, and only that one
    monkeypatch.setattr(EmailMessage, "send", real_send)
    assert monitoring_digest_send(now=morning + dt.timedelta(minutes=30)) == 1
    assert [message.to for message in mail.outbox] == [
        ["analyst.en@example.org"],
        ["admin.tr@example.org"],
    ]
    assert monitoring_digest_send(now=morning + dt.timedelta(minutes=60)) == 0


def test_a_mission_node_sends_no_digest_and_no_silence_alert(mission_a, settings):
    from missions.services.sync import sync_silence_alert

    settings.SYNC_HQ_URL = "https://hq.example.org"
    _hq_people()
    assert monitoring_digest_send(now=_hq_morning(9)) == 0
    assert sync_silence_alert(now=_hq_morning(9)) == []
    assert mail.outbox == []
    assert not AlertDigest.objects.exists()


def test_a_name_a_mission_sent_cannot_add_lines_to_the_digest(mission_a, settings):
    settings.MONITORING_DIGEST_HOUR = 7
    _hq_people()
    Mission.objects.filter(code="alpha").update(city="Berlin\n\nDear analyst, click here")
    morning = _hq_morning(8)
    MissionLink.objects.update_or_create(
        mission="alpha", defaults={"last_contact_at": morning - dt.timedelta(hours=5)}
    )
    monitoring_digest_send(now=morning)
    body = mail.outbox[0].body
    assert "(alpha, Berlin Dear analyst, click here)" in body
    assert "\nDear analyst" not in body


@pytest.mark.parametrize(
    ("language", "written"),
    [("en", ["66.7%", "50%", "100%", "0%"]), ("tr", ["%66,7", "%50", "%100", "%0"])],
)
def test_a_share_is_written_one_way_in_the_readers_language(language, written):
    from missions.monitoring import figure_text
    from missions.templatetags.missions_monitoring import share

    # given a dashboard column of shares
    column = Column(key="test.share", label="Share", kind="percent")
    zone = zoneinfo.ZoneInfo("Asia/Tokyo")
    with translation.override(language):
        # then a share has a decimal only where it has one, the sign where the language puts
        # it, in a row's cell and through the filter other HQ pages use alike
        shares = (2 / 3, 0.5, 1.0, 0.0)
        assert [figure_text(column, value, zone=zone) for value in shares] == written
        assert [share(value) for value in shares] == written
        assert figure_text(column, None, zone=zone) == "–"


def test_the_turkish_filters_say_filtre_throughout(mission_a, mission_b, regions):
    # the filter form, its way to clear it, an empty result and a refusal all say "filtre"
    # (they said "süzgeç" and "filtre" side by side)
    client = _hq_client(language="tr")
    empty = client.get("/hq/?region=002").content.decode()
    assert 'aria-label="Temsilcilikleri filtrele"' in empty
    assert text_of(empty, "a", href="?") == "Filtreleri temizle"
    assert "Bu filtrelere uyan temsilcilik yok." in empty
    refused = client.get("/hq/trends/?region=9").content.decode()
    assert "yukarıda işaretli filtreleri düzeltin" in refused
    for html in (empty, refused):
        assert "süz" not in html.lower()


def _paid_today(mission: Mission, amount_minor: int, currency: str, base_minor: int) -> None:
    """A payment taken at `mission` today (its date), projected as HQ's apply projects it."""
    from sync.registry import events_project
    from tests.missions.case_events import PAYMENT_SUCCEEDED, Seqs

    seqs = Seqs()
    seqs.add(
        PAYMENT_SUCCEEDED, "p1", timezone.now(), actor=3,
        payload={
            "subject_ref": "X", "method": "cash", "amount_minor": amount_minor,
            "currency": currency, "base_amount_minor": base_minor, "base_currency": "EUR",
            "rate": "1", "receipt": "R-1", "business_date": mission.today().isoformat(),
            "needs_refund": False,
        },
    )  # fmt: skip
    events_project(mission=mission.code, events=seqs.events)


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_dashboards_csv_writes_money_as_an_amount_and_its_currency(newyork, language):
    # given New York took $234.00 (215.00 EUR at its rate) today
    _paid_today(newyork, 23400, "USD", 21500)
    # when an analyst downloads the dashboard's CSV, in English or Turkish
    content = _hq_client(language=language).get("/hq/missions.csv").content.decode()
    rows = list(csv.reader(io.StringIO(content)))
    header = rows[0]
    row = next(dict(zip(header, cells, strict=True)) for cells in rows[1:] if cells[0] == "nyc")
    # then each amount is a number a spreadsheet sums, its currency in the next column
    at = header.index("fees.revenue_mtd")
    assert header[at : at + 4] == [
        "fees.revenue_mtd", "fees.revenue_mtd.currency",
        "fees.revenue_mtd_base", "fees.revenue_mtd_base.currency",
    ]  # fmt: skip
    assert (row["fees.revenue_mtd"], row["fees.revenue_mtd.currency"]) == ("234.00", "USD")
    assert (row["fees.revenue_mtd_base"], row["fees.revenue_mtd_base.currency"]) == (
        "215.00",
        "EUR",
    )
    assert "234.00 USD" not in content


@pytest.mark.parametrize(
    ("language", "heading", "labels"),
    [
        ("en", "Status", {"alpha": "Active", "beta": "Suspended"}),
        ("tr", "Durum", {"alpha": "Etkin", "beta": "Askıya alındı"}),
    ],
)
def test_the_dashboards_csv_writes_each_status_code_beside_the_label_the_page_shows(
    mission_a, mission_b, language, heading, labels
):
    # given Tokyo suspended, Berlin active
    Mission.objects.filter(code="beta").update(status=MissionStatus.SUSPENDED)
    client = _hq_client(language=language)
    # when an analyst reads the dashboard and downloads its CSV, in English or Turkish
    shown = texts_of(client.get("/hq/").content, "td", **{"data-label": heading})
    rows = list(csv.reader(io.StringIO(client.get("/hq/missions.csv").content.decode())))
    header, body = rows[0], [dict(zip(rows[0], cells, strict=True)) for cells in rows[1:]]
    # then the stable code stands under `status`, and beside it the label the page shows, in
    # the reader's language
    at = header.index("status")
    assert header[at : at + 2] == ["status", "status.label"]
    assert {row["mission"]: (row["status"], row["status.label"]) for row in body} == {
        "alpha": ("active", labels["alpha"]),
        "beta": ("suspended", labels["beta"]),
    }
    assert [row["status.label"] for row in body] == shown


def test_a_missions_table_csv_writes_codes_beside_labels_in_either_language(newyork):
    # given New York reports its passport service, released as places free up ("open")
    from tests.appointments.hq_data import project, report_event

    project(
        "nyc",
        [report_event("passport", occurred_at=timezone.now(), next_bookable=None, free=0,
                      names={"en": "Passport", "tr": "Pasaport"}, mode="open")],
    )  # fmt: skip
    _paid_today(newyork, 23400, "USD", 21500)
    path = "/hq/missions/nyc/appointments.services.csv"
    # when an analyst downloads the table in English and in Turkish
    files = {
        language: list(
            csv.reader(io.StringIO(_hq_client(language=language).get(path).content.decode()))
        )
        for language in ("en", "tr")
    }
    # then both have the same header of stable keys, a code beside each translated label
    english, turkish = files["en"], files["tr"]
    assert english[0] == turkish[0]
    assert english[0][:4] == [
        "appointments.service.name", "appointments.service.name.label",
        "appointments.service.release_mode", "appointments.service.release_mode.label",
    ]  # fmt: skip
    # and the codes join the two files; only the labels differ
    assert english[1][:4] == ["passport", "Passport", "open", "Open"]
    assert turkish[1][:4] == ["passport", "Pasaport", "open", "Açık"]
    # and the month's revenue is an amount with its currency beside it
    revenue = list(csv.DictReader(io.StringIO(
        _hq_client(language="tr").get("/hq/missions/nyc/fees.revenue_months.csv").content.decode()
    )))  # fmt: skip
    assert (revenue[0]["net"], revenue[0]["net.currency"]) == ("234.00", "USD")
