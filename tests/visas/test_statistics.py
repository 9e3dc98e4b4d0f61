"""HQ's visa statistics (`visas.register.statistics`, /hq/visas/statistics/): the figures per
mission, nationality and category, asserted on the rendered page and the CSV.

The register's rows are written directly (what the projector leaves behind; the projector is
tested in test_register_projector.py). Berlin (alpha) is east of UTC by an hour or two, Tokyo
(beta) by nine: a decision time is counted on the mission's dates."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.http import HttpResponse
from django.test import Client

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from tests.conftest import host_client, make_staff, text_of, texts_of
from tests.factories import UserFactory
from tests.missions.test_monitoring_dashboard import (
    GENERIC_BAD_INPUT,
    NO_FIGURES,
    REMOVE_CONTROLS,
    THERE_IS_A_PROBLEM,
)
from tests.missions.test_sync_pages import _login
from visas.register.models import VisaCase
from visas.register.statistics import StatisticsFilters, statistics_read

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _case(mission: str, number: int, **fields: object) -> VisaCase:
    values: dict[str, object] = {
        "reference": f"V{number:09d}",
        "category": "tourism",
        "visa_type": "C",
        "nationality": "GBR",
        "submitted_at": _at(10, 1),
        "seq": number,
        **fields,
    }
    return VisaCase.objects.create(mission=mission, application_id=number, **values)


@pytest.fixture
def cases(mission_a: Mission, mission_b: Mission) -> None:
    # alpha (Berlin): issued in 10 days, refused in 18 (after its deadline), open past its
    # deadline, withdrawn
    _case("alpha", 1, admissible_at=_at(10, 2), decision_due_on=dt.date(2026, 10, 17),
          decided_at=_at(10, 12), outcome="issued")  # fmt: skip
    _case("alpha", 2, admissible_at=_at(10, 2), decision_due_on=dt.date(2026, 10, 17),
          decided_at=_at(10, 20), outcome="refused", grounds=["purpose"])  # fmt: skip
    _case("alpha", 3, category="business", nationality="UZB", admissible_at=_at(10, 1),
          decision_due_on=dt.date(2026, 10, 16))  # fmt: skip
    _case("alpha", 4, nationality="UZB", decided_at=_at(10, 3), outcome="withdrawn")
    # beta (Tokyo): admissible 5 Oct 23:30 UTC, which is 6 Oct in Tokyo; issued on 10 Oct:
    # four days (five in UTC dates); refused in 14 days, on time
    _case("beta", 5, category="study", visa_type="D", admissible_at=_at(10, 5, 23, 30),
          decision_due_on=dt.date(2026, 10, 21), decided_at=_at(10, 10, 1),
          outcome="issued")  # fmt: skip
    _case("beta", 6, category="study", visa_type="D", nationality="UZB",
          admissible_at=_at(10, 5), decision_due_on=dt.date(2026, 10, 20),
          decided_at=_at(10, 19), outcome="refused", grounds=["means"])  # fmt: skip


def _client(role: str = HqRole.ANALYST, language: str = "en") -> Client:
    client = _login(host_client("localhost"), UserFactory(hq_role=role))
    client.cookies["django_language"] = language
    return client


def _rows(html: bytes) -> list[list[str]]:
    return [row.split("\n") for row in texts_of(html, "tr")[1:]]


@pytest.mark.usefixtures("cases")
def test_figures_per_mission_with_decision_times_on_the_missions_dates() -> None:
    response = _client().get("/hq/visas/statistics/")
    assert response.status_code == 200
    rows = _rows(response.content)
    assert rows == [
        # mission, applications, issued, refused, withdrawn, open, refusal rate, median days,
        # decided within the deadline, open past it
        ["Consulate-General in Berlin alpha",
         "4", "1", "1", "1", "1", "50%", "14", "50%", "1"],
        ["Embassy in Tokyo beta", "2", "1", "1", "0", "0", "50%", "9", "100%", "0"],
        ["All", "6", "2", "2", "1", "1", "50%", "12", "75%", "1"],
    ]  # fmt: skip
    assert "Visa applications per mission" in texts_of(response.content, "caption")[0]
    turkish = _client(language="tr").get("/hq/visas/statistics/")
    assert "Temsilcilik bazında vize başvuruları" in texts_of(turkish.content, "caption")[0]


@pytest.mark.usefixtures("cases")
def test_figures_per_nationality_and_the_csv_of_the_same_table() -> None:
    client = _client()
    rows = _rows(client.get("/hq/visas/statistics/?group=nationality").content)
    # shares written as every HQ page writes one (the dashboard's `share_text`): a decimal
    # only where there is one, the sign where the reader's language puts it
    assert rows[:2] == [
        ["GBR", "3", "2", "1", "0", "0", "33.3%", "10", "66.7%", "0"],
        ["UZB", "3", "0", "1", "1", "1", "100%", "14", "100%", "1"],
    ]
    turkish = _rows(_client(language="tr").get("/hq/visas/statistics/?group=nationality").content)
    assert turkish[:2] == [
        ["GBR", "3", "2", "1", "0", "0", "%33,3", "10", "%66,7", "0"],
        ["UZB", "3", "0", "1", "1", "1", "%100", "14", "%100", "1"],
    ]
    response = client.get("/hq/visas/statistics.csv?group=nationality")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "visas-nationality-" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["group"], r["key"], r["applications"], r["refusal_rate"]) for r in table] == [
        ("nationality", "GBR", "3", "0.3333"),
        ("nationality", "UZB", "3", "1"),
        ("total", "", "6", "0.5"),
    ]
    assert table[0]["median_decision_days"] == "10"
    assert table[0]["decided_within_deadline"] == "0.6667"
    assert table[1]["overdue_open"] == "1"


@pytest.mark.usefixtures("cases")
def test_filters_by_mission_category_nationality_and_dates() -> None:
    client = _client()
    rows = _rows(client.get("/hq/visas/statistics/?group=category&mission=alpha").content)
    assert [row[:2] for row in rows] == [["tourism", "3"], ["business", "1"], ["All", "4"]]
    rows = _rows(client.get("/hq/visas/statistics/?nationality=uzb&group=mission").content)
    assert [row[:2] for row in rows] == [
        ["Consulate-General in Berlin alpha", "2"],
        ["Embassy in Tokyo beta", "1"],
        ["All", "3"],
    ]
    rows = _rows(client.get("/hq/visas/statistics/?category=study").content)
    assert rows[-1][:2] == ["All", "2"]
    # nothing submitted after October
    page = client.get("/hq/visas/statistics/?since=2026-11-01").content
    assert _rows(page) == []
    assert b"No applications in this period." in page
    # a period of one day, and one that ends on the last day offered
    rows = _rows(client.get("/hq/visas/statistics/?since=2026-10-01&until=2026-10-01").content)
    assert rows[-1][:2] == ["All", "6"]
    rows = _rows(client.get("/hq/visas/statistics/?since=2000-01-01&until=2099-12-31").content)
    assert rows[-1][:2] == ["All", "6"]
    response = client.get("/hq/visas/statistics.csv?nationality=uzb&mission=beta")
    assert response.status_code == 200
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["group"], r["key"], r["applications"]) for r in table] == [
        ("mission", "beta", "1"),
        ("total", "", "1"),
    ]
    # the CSV link carries the filters understood
    html = client.get("/hq/visas/statistics/?mission=alpha&group=category").content.decode()
    assert 'href="/hq/visas/statistics.csv?group=category&amp;mission=alpha"' in html


# Each filter the page cannot honour, the field it is told beside, and why (English, Turkish).
# Before, each of them answered 200 with every application counted, under a form that still
# showed the value, so the figures looked filtered.
REFUSED = [
    ("nationality=AAAA", "nationality",
     "“AAAA” is not a three-letter nationality code (ICAO Doc 9303).",
     "“AAAA” üç harfli bir uyruk kodu değil (ICAO Doc 9303)."),
    ("nationality=QQQ", "nationality",
     "“QQQ” is not a three-letter nationality code (ICAO Doc 9303).",
     "“QQQ” üç harfli bir uyruk kodu değil (ICAO Doc 9303)."),
    ("since=31.12.2026", "since", "Enter a valid date.", "Geçerli bir tarih girin."),
    ("mission=1000000000000000000000000000000", "mission",
     "Select a valid choice. 1000000000000000000000000000000 is not one of the available "
     "choices.",
     "Geçerli bir seçenek seçin. 1000000000000000000000000000000 mevcut seçeneklerden biri "
     "değil."),
    ("group=bogus", "group",
     "Select a valid choice. bogus is not one of the available choices.",
     "Geçerli bir seçenek seçin. bogus mevcut seçeneklerden biri değil."),
    ("category=nowhere", "category",
     "Select a valid choice. nowhere is not one of the available choices.",
     "Geçerli bir seçenek seçin. nowhere mevcut seçeneklerden biri değil."),
    ("since=2026-10-02&until=2026-10-01", "until",
     "The start date is after the end date.", "Başlangıç tarihi bitiş tarihinden sonra."),
    ("until=9999-12-31", "until",
     "Choose a day between 2000-01-01 and 2099-12-31.",
     "2000-01-01 ile 2099-12-31 arasında bir gün seçin."),
    ("since=0001-01-01", "since",
     "Choose a day between 2000-01-01 and 2099-12-31.",
     "2000-01-01 ile 2099-12-31 arasında bir gün seçin."),
]  # fmt: skip
LABELS = {
    "en": {"nationality": "Nationality (three letters)", "since": "Submitted from",
           "until": "Submitted until", "mission": "Mission", "group": "Figures per",
           "category": "Category"},
    "tr": {"nationality": "Uyruk (üç harf)", "since": "Gönderilme tarihi (başlangıç)",
           "until": "Gönderilme tarihi (bitiş)", "mission": "Temsilcilik", "group": "Gruplama",
           "category": "Kategori"},
}  # fmt: skip


@pytest.mark.usefixtures("cases")
@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize(
    ("query", "field", "english", "turkish"), REFUSED, ids=[case[0] for case in REFUSED]
)
def test_a_filter_the_page_cannot_honour_is_refused_beside_its_field(
    query: str, field: str, english: str, turkish: str, language: str
) -> None:
    # given an analyst reading in `language`
    client = _client(language=language)
    message = english if language == "en" else turkish
    # when the page is asked for figures under a filter it cannot honour
    response = client.get(f"/hq/visas/statistics/?{query}")
    # then it answers 400, the reason beside the field and in the error summary at the top,
    # which names the field and links to it; no message above the page repeating the reason
    # without its field; and no figures at all
    html = _refused(response, language, [(LABELS[language][field], message)])
    assert f'<a href="#id_{field}">' in html
    assert "statistics.csv" not in html
    # the refused field names its reason for a screen reader (the id Django's
    # aria-describedby points to)
    assert text_of(html, "span", id=f"id_{field}_error") == message
    assert re.search(
        rf'<(input|select)[^>]* aria-invalid="true" aria-describedby="id_{field}_error"'
        rf'[^>]* id="id_{field}"',
        html,
    )
    # and the CSV is the same refusal in plain text, not a file of every figure
    response = client.get(f"/hq/visas/statistics.csv?{query}")
    _refused_in_text(response, [(LABELS[language][field], message)])


HEADING = {"en": "Visa statistics", "tr": "Vize istatistikleri"}


def _refused(response: HttpResponse, language: str, expected: list[tuple[str, str]]) -> str:
    """`response` is the statistics page refusing its filters (its HTML): 400, each reason
    beside its field and in the error summary (`expected`: label and why, in the form's order),
    no message above the page, no figures."""
    assert response.status_code == 400
    html = response.content.decode()
    assert text_of(html, "h1") == HEADING[language]
    beside = texts_of(html, "div", class_="field field-error")
    # the label, the reason, then the field (a select's options follow)
    assert [tuple(text.split("\n")[:2]) for text in beside] == expected
    assert text_of(html, "div", id="error-summary").split("\n") == [
        THERE_IS_A_PROBLEM[language],
        *(f"{label}: {why}" for label, why in expected),
    ]
    assert 'class="messages"' not in html
    assert NO_FIGURES[language] in html
    assert _rows(response.content) == []
    return html


def _refused_in_text(response: HttpResponse, expected: list[tuple[str, str]]) -> None:
    """`response` is the CSV refusing its filters: 400 in plain text, a line per reason."""
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "Content-Disposition" not in response
    assert response.content.decode() == "".join(f"{label}: {why}\n" for label, why in expected)


@pytest.mark.usefixtures("cases")
@pytest.mark.parametrize("language", ["en", "tr"])
def test_every_refused_filter_is_told_at_once_beside_its_field(language: str) -> None:
    # given an analyst reading in `language`, and a filter refused in every field (the form's
    # selects and days, and the selector's nationality)
    client = _client(language=language)
    refusals = {case[1]: case for case in REFUSED if case[0].count("=") == 1}
    fields = ["group", "mission", "nationality", "category", "since", "until"]
    query = "&".join(refusals[field][0] for field in fields)
    expected = [
        (LABELS[language][field], refusals[field][2 if language == "en" else 3]) for field in fields
    ]
    # when the page is asked for figures under them
    response = client.get(f"/hq/visas/statistics/?{query}")
    # then every reason is beside its field and in the error summary at once: the
    # nationality's too, which showed only once the selects and days were corrected
    html = _refused(response, language, expected)
    # each line of the summary a link to its field, announced when the page arrives
    links = re.findall(r'<li><a href="#(id_[a-z]+)">', html)
    assert links == [f"id_{field}" for field in fields]
    assert all(f'id="{link}"' in html for link in links)
    assert 'class="error-summary" role="alert" tabindex="-1" id="error-summary"' in html
    # and the CSV says every reason, a line each, in the form's order
    _refused_in_text(client.get(f"/hq/visas/statistics.csv?{query}"), expected)


@pytest.mark.usefixtures("cases")
@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize(
    ("query", "field"),
    [("nationality=%00", "nationality"), ("nationality=UZB%00", "nationality"),
     ("group=nationality%01", "group"), ("mission=alpha&mission=%00", "mission"),
     ("category=%1b%5B31m", "category"), ("since=2026-10-01%7f", "since"),
     ("until=%00", "until")],
)  # fmt: skip
def test_a_control_character_in_a_filter_is_refused_beside_its_field(
    query: str, field: str, language: str
) -> None:
    # given an analyst reading in `language`
    client = _client(language=language)
    understood = ("group", "category") if field != "group" else ("mission", "alpha")
    expected = [(LABELS[language][field], REMOVE_CONTROLS[language])]
    # when a filter holds a NUL or another control character, beside one the page understands
    response = client.get(f"/hq/visas/statistics/?{query}&{'='.join(understood)}")
    # then the page answers as for any filter it cannot honour, the reason beside the field;
    # not the generic 400 page of bad input, which named no field
    html = _refused(response, language, expected)
    assert GENERIC_BAD_INPUT[language] not in html
    # the value is never shown back; what was understood beside it stays chosen
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", html)
    name, value = understood
    select = re.search(rf'<select name="{name}".*?</select>', html, re.DOTALL)
    assert select
    assert f'<option value="{value}" selected>' in select.group(0)
    # and the CSV answers the reason in plain text, in the reader's language
    _refused_in_text(client.get(f"/hq/visas/statistics.csv?{query}"), expected)


@pytest.mark.parametrize(
    "query", ["junk=%00", "%00=1", "nationality%00=UZB", "group=mission&q=%01"]
)
def test_bad_input_outside_the_filters_is_still_refused_before_the_page(
    mission_a: Mission, query: str
) -> None:
    # when a statistics request holds a control character anywhere but in the value of one of
    # its filters (another parameter, a parameter's name)
    for path in ("/hq/visas/statistics/", "/hq/visas/statistics.csv"):
        response = _client(language="tr").get(f"{path}?{query}")
        # then BadInputMiddleware refuses it before the page, as everywhere
        assert response.status_code == 400, path
        assert GENERIC_BAD_INPUT["tr"] in response.content.decode(), path


def test_the_selector_refuses_what_the_form_would_not_offer(mission_a: Mission) -> None:
    analyst = UserFactory(hq_role=HqRole.ANALYST)
    for filters, field in (
        (StatisticsFilters(group="bogus"), "group"),
        (StatisticsFilters(nationality="AAAA"), "nationality"),
        (StatisticsFilters(since=dt.date(2026, 2, 1), until=dt.date(2026, 1, 31)), "until"),
    ):
        with pytest.raises(ApplicationError) as refused:
            statistics_read(filters=filters, acting_user=analyst)
        assert refused.value.field == field
    # every refusal at once, each with its field
    every = StatisticsFilters(
        group="bogus", nationality="AAAA", since=dt.date(2026, 2, 1), until=dt.date(2026, 1, 31)
    )
    with pytest.raises(ApplicationError) as refused:
        statistics_read(filters=every, acting_user=analyst)
    assert list(refused.value.errors) == ["group", "nationality", "until"]


@pytest.mark.usefixtures("cases")
def test_the_category_names_follow_the_readers_language(mission_a: Mission) -> None:
    from tests.visas.reference import seed_visa_reference

    seed_visa_reference()
    rows = _rows(_client(language="tr").get("/hq/visas/statistics/?group=category").content)
    assert [row[0] for row in rows[:3]] == ["Turizm tourism", "Öğrenim study", "İş business"]


def test_only_hq_staff_see_the_statistics(mission_a: Mission, client_hq: Client) -> None:
    paths = ("/hq/visas/statistics/", "/hq/visas/statistics.csv")
    consul = make_staff(mission_a, "consul")
    client = _login(host_client("localhost"), consul)
    for path in paths:
        assert client.get(path).status_code == 404, path
    for role in (HqRole.ADMIN, HqRole.ANALYST):
        client = _client(role)
        for path in paths:
            assert client.get(path).status_code == 200, (role, path)
    assert client_hq.get("/hq/visas/statistics/").status_code == 302
