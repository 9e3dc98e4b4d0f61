"""The revenue report's dates: one it cannot honour (a day that does not exist, another way of
writing it, a period that ends before it starts, a control character) answers 400 with the
reason beside its field and in an error summary, in the reader's language, and no figures; its
CSV answers the reasons in plain text. Days are written as every page writes them
(`short_day`), at Tokyo (JPY) and New York (USD)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from django_tenants.utils import schema_context

from consulate.kernel import reference
from tests.conftest import text_of, texts_of
from tests.fees.conftest import assess, at_place, login, pay_cash

pytestmark = pytest.mark.usefixtures("fee_reference")

EXISTS = {
    "en": "Enter a day that exists, written YYYY-MM-DD (such as 2026-12-07).",
    "tr": "Var olan bir günü YYYY-AA-GG biçiminde yazın (örneğin 2026-12-07).",
}
CONTROL = {
    "en": "Remove the control characters from this field.",
    "tr": "Bu alandaki kontrol karakterlerini silin.",
}
LABEL = {"en": {"from": "From", "to": "To"}, "tr": {"from": "Başlangıç", "to": "Bitiş"}}


def _staff(request, place: str):  # type: ignore[no-untyped-def]
    """The mission and a client of its consul, logged in."""
    mission, consul, client = at_place(request, place, role="consul")
    login(client, consul)
    return mission, client


PLACES = [("tokyo", "en"), ("tokyo", "tr"), ("new_york", "en"), ("new_york", "tr")]


@pytest.mark.parametrize(("place", "language"), PLACES)
@pytest.mark.parametrize(
    ("query", "field", "why"),
    [
        ({"from": "2026-02-31"}, "from", EXISTS),
        ({"from": "7.12.2026"}, "from", EXISTS),
        ({"to": "2026-13-01"}, "to", EXISTS),
        ({"from": "2026-12\x00-01"}, "from", CONTROL),
    ],
)
def test_a_date_the_report_cannot_read_is_refused_beside_its_field(
    request, place, language, query, field, why
):
    # given a consul at the mission
    _mission, client = _staff(request, place)
    # when the report is asked for a date it cannot read
    response = client.get("/fees/reports/", query, HTTP_ACCEPT_LANGUAGE=language)
    # then 400, the reason beside the field and named in the summary, and no figures
    assert response.status_code == 400
    page = response.content.decode()
    assert text_of(page, "span", id=f"{field}-message") == why[language]
    assert f'aria-invalid="true" aria-describedby="{field}-message"' in page
    summary = texts_of(page, "div", id="error-summary")
    assert f"{LABEL[language][field]}: {why[language]}" in summary[0]
    assert 'id="revenue"' not in page
    # and the CSV says the same in plain text
    csv = client.get("/fees/reports/", {**query, "format": "csv"}, HTTP_ACCEPT_LANGUAGE=language)
    assert csv.status_code == 400
    assert csv["Content-Type"] == "text/plain; charset=utf-8"
    assert csv.content.decode() == f"{LABEL[language][field]}: {why[language]}\n"


@pytest.mark.parametrize(("place", "language"), PLACES)
def test_a_period_that_ends_before_it_starts_is_refused(request, place, language):
    _mission, client = _staff(request, place)
    response = client.get(
        "/fees/reports/", {"from": "2026-12-05", "to": "2026-12-01"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 400
    with translation.override(language):
        start = reference.day_written_short(dt.date(2026, 12, 5))
    expected = {
        "en": f"Choose a day on or after the start of the period, {start}.",
        "tr": f"Dönemin başlangıcı olan {start} ya da sonrasından bir gün seçin.",
    }[language]
    assert text_of(response.content, "span", id="to-message") == expected
    csv = client.get(
        "/fees/reports/",
        {"from": "2026-12-05", "to": "2026-12-01", "format": "csv"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert (csv.status_code, csv.content.decode()) == (
        400,
        f"{LABEL[language]['to']}: {expected}\n",
    )


@pytest.mark.parametrize(("place", "language"), PLACES)
def test_the_report_writes_its_days_as_every_page_does(request, place, language):
    # given a fee paid today
    mission, client = _staff(request, place)
    cashier = request.getfixturevalue("cashier_b" if place == "tokyo" else "cashier_a")
    with schema_context(mission.schema_name):
        receipt = pay_cash(assess(cashier), cashier).receipt
    # when the report is read
    response = client.get("/fees/reports/", HTTP_ACCEPT_LANGUAGE=language)
    # then the day's heading is the site's short day ("Mon 7 Dec 2026", "7 Ara 2026 Pzt")
    assert response.status_code == 200
    with translation.override(language):
        day = reference.day_written_short(receipt.business_date)
    headings = texts_of(response.content, "th", scope="colgroup")
    assert headings == [day]
