"""A consul's forms that decide (issue or refuse, uphold or grant an appeal, annul or revoke):
Enter in one of their boxes decides nothing. HTML presses a form's first button when Enter is
pressed in a box; in a trial, "2" and Enter in "Days of stay" issued the visa at once. Each such
form starts with a disabled default button (consulate/templates/_no_default_button.html), which
makes Enter submit nothing. Checked in chromium, on the forms as the case page renders them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import in_own_browser_thread
from tests.conftest import make_staff
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.visas.factories_casework import visa_appealed, visa_issued, visa_recommended

pytestmark = [pytest.mark.django_db, pytest.mark.browser]

# (the case, the form's path, a box of it to press Enter in, a button pressed on purpose)
FORMS = {
    "decide": (visa_recommended, "decide/", "#id_duration_days", "Refuse"),
    "appeal": (lambda m: visa_appealed(m).application, "appeal/decide/", "#id_note", None),
    "end": (visa_issued, "end/", "#id_note", None),
}


def _form(html: str, action: str) -> str:
    found = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', html, re.S)
    assert found, action
    return found.group(0)


@pytest.mark.parametrize("kind", list(FORMS))
def test_enter_in_a_box_of_a_deciding_form_sends_nothing(client_a, mission_a, kind):
    make_case, path, box, button = FORMS[kind]
    # given the case page of a case at the point where the form shows, as a consul reads it
    application = make_case(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "consul"))
    base = f"http://{mission_a.host}/staff/visas/{application.reference}/"
    action = f"/staff/visas/{application.reference}/{path}"
    form = _form(client_a.get(base).content.decode(), action)
    # its first button is the disabled one, before every button that decides
    first = re.search(r"<button[^>]*>", form)
    assert first
    assert "disabled" in first.group(0)
    assert "hidden" in first.group(0)
    sent: list[str] = []

    def body(chromium: Any) -> None:
        page = chromium.new_page()

        def answer(route: Any) -> None:  # the case page's form; anything else is a sending
            if route.request.method == "GET" and route.request.url == base:
                route.fulfill(content_type="text/html", body=f"<!doctype html><body>{form}")
            else:
                sent.append(f"{route.request.method} {route.request.url}")
                route.abort()

        page.route("**/*", answer)
        page.goto(base)
        # when Enter is pressed in one of its boxes (an input, where HTML would submit)
        target = page.locator(box)
        if target.evaluate("e => e.tagName") == "TEXTAREA":
            page.evaluate(
                "s => { const i = document.createElement('input'); i.id = 'typed';"
                " document.querySelector(s).closest('form').prepend(i); }",
                box,
            )
            target = page.locator("#typed")
        target.fill("2")
        target.press("Enter")
        page.wait_for_timeout(500)
        # then nothing is sent
        assert sent == []
        # while a button pressed on purpose sends the form (the check can see a sending)
        if button:
            page.get_by_role("button", name=button).click()
        else:
            page.locator("form button:not([disabled])").first.click()
        page.wait_for_timeout(500)
        assert sent == [f"POST http://{mission_a.host}{action}"]

    in_own_browser_thread(body)
