"""Every page with a search box (`?q=`) refuses a control character, or a text longer than
any name it searches, beside the box: 400, in the reader's language, the page itself with the
box empty (a control character is never shown back), not `BadInputMiddleware`'s page that
leaves the reader nowhere. The fee counter, the passport and visa queues (staff with the second
factor), HQ's directory of missions and its wait times (anyone)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import host_client, make_staff, text_of, texts_of
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
    # (the wait times' page has its own form, whose message is a paragraph)
    messages = texts_of(page, "span", id="q-message") or texts_of(page, "p", id="q-error")
    assert messages == [WHY[language]]
    # the box is there, empty, and says it is wrong to a screen reader
    assert 'name="q"' in page
    assert "\x00" not in page
    assert 'aria-invalid="true"' in page or "q-error" in page
    # and it is the page, not the generic one
    assert "not allowed (such as a NUL byte)" not in page


@pytest.mark.parametrize(("path", "role"), [page for page in PAGES if page[0] != "/wait-times/"])
def test_a_search_longer_than_any_name_is_refused_beside_the_box(mission_a, path, role):
    client = page_client(mission_a, role)
    response = client.get(path, {"q": "x" * 201}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert (
        text_of(response.content, "span", id="q-message")
        == "Ensure this value has at most 200 characters (it has 201)."
    )


@pytest.mark.parametrize(("path", "role"), PAGES)
def test_a_control_character_in_another_parameter_still_gets_the_generic_page(
    mission_a, path, role
):
    client = page_client(mission_a, role)
    response = client.get(path, {"q": "Okoro", "status\x00": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "not allowed (such as a NUL byte)" in response.content.decode()
