"""Every page with a search box (`?q=`) refuses a control character, or a text longer than
any name it searches, beside the box: 400, in the reader's language, the page itself with the
box empty (a control character is never shown back), not `BadInputMiddleware`'s page that
leaves the reader nowhere. The fee counter, the passport and visa queues (staff with the second
factor), HQ's directory of missions and its wait times (anyone)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from tests.appointments.test_wait_times import published  # noqa: F401 (a fixture)
from tests.conftest import host_client, make_staff, texts_of
from tests.missions.test_tenant_isolation import login_with_second_factor

pytestmark = pytest.mark.django_db

# (path, the role signed in at mission A; None: HQ's host, nobody signed in)
PAGES = [
    ("/fees/counter/", "cashier"),
    ("/staff/passports/", "officer"),
    ("/staff/visas/", "officer"),
    ("/", None),
    ("/wait-times/", None),
]
WHY = {
    "en": "Remove the control characters from this field.",
    "tr": "Bu alandaki kontrol karakterlerini silin.",
}


def page_client(mission_a, role: str | None) -> Client:  # type: ignore[no-untyped-def]
    if role is None:
        return host_client("localhost")
    client = host_client(mission_a.host)
    login_with_second_factor(client, make_staff(mission_a, role))
    return client


@pytest.mark.parametrize(("path", "role"), PAGES)
@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_control_character_in_the_search_box_is_refused_beside_it(
    mission_a, path, role, language
):
    client = page_client(mission_a, role)
    # when the reader searches for a text holding a NUL
    response = client.get(path, {"q": "Ok\x00oro"}, HTTP_ACCEPT_LANGUAGE=language)
    # then the page answers 400 with the reason beside the box, in the reader's language
    assert response.status_code == 400
    page = response.content.decode()
    assert texts_of(page, "span", id="q-message") == [WHY[language]]
    # the box is there once, labelled, empty, and says it is wrong to a screen reader
    box = re.findall(r"<input[^>]*\bid=\"q\"[^>]*>", page)
    assert len(box) == 1
    assert '<label for="q">' in page
    assert 'value=""' in box[0]
    assert 'aria-invalid="true"' in box[0]
    assert re.search(r'aria-describedby="q-message\b', box[0])
    assert "\x00" not in page
    # and it is the page, not the generic one
    assert "not allowed (such as a NUL byte)" not in page


@pytest.mark.parametrize(("path", "role"), PAGES)
def test_a_nul_in_any_value_of_a_repeated_search_is_refused_beside_the_box(mission_a, path, role):
    response = page_client(mission_a, role).get(f"{path}?q=Okoro&q=%00")
    assert response.status_code == 400
    assert texts_of(response.content, "span", id="q-message") == [WHY["en"]]


@pytest.mark.parametrize(
    ("path", "role", "longest"),
    [(path, role, 200 if path == "/fees/counter/" else 100) for path, role in PAGES],
)
def test_a_search_longer_than_what_the_page_searches_is_refused_beside_the_box(
    mission_a, path, role, longest
):
    client = page_client(mission_a, role)
    assert client.get(path, {"q": "x" * longest}).status_code == 200
    response = client.get(path, {"q": "x" * (longest + 1)}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert texts_of(response.content, "span", id="q-message") == [
        f"Ensure this value has at most {longest} characters (it has {longest + 1})."
    ]


@pytest.mark.parametrize(("path", "role"), PAGES)
@pytest.mark.parametrize("query", [{"q": "Okoro", "x": "\x00"}, {"q": "Okoro", "x\x00": "1"}])
def test_a_control_character_elsewhere_in_the_query_still_gets_the_generic_page(
    mission_a, path, role, query
):
    client = page_client(mission_a, role)
    response = client.get(path, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "not allowed (such as a NUL byte)" in response.content.decode()


@pytest.mark.usefixtures("published")
def test_a_refused_search_does_not_empty_the_wait_times_kept_for_everyone(client_hq):
    # given the wait times of two missions
    plain = client_hq.get("/wait-times/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No mission matches your search." not in plain
    cache.clear()  # the table is built anew by the next request
    # when a refused search is the first request after the figures were built
    assert client_hq.get("/wait-times/", {"q": "a\x00"}).status_code == 400
    # then the next reader still sees every mission
    after = client_hq.get("/wait-times/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No mission matches your search." not in after
    assert texts_of(after, "table") == texts_of(plain, "table")
