"""The citizen's passport draft in a real browser on a phone (390 px), in English and Turkish:
it is saved as it is typed (the status line says so, or why not), says what is still needed
and takes it off the list as it is filled, shows a refused photo's reason, and never scrolls
sideways."""

# ruff: noqa: F811 - the browser fixtures are imported by name

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django_tenants.utils import schema_context

from missions.models import Mission
from passports.models import Application, PhotoAttempt
from tests.browser.autosave import autosave_status_checked
from tests.browser.conftest import (  # noqa: F401 - fixtures
    PASSWORD,
    in_own_browser_thread,
    live_server_url,
    screenshot,
    signed_in_on_a_phone,
    unique_email,
    url,
)
from tests.browser.test_missions_phone import no_sideways_scroll
from tests.factories import UserFactory
from tests.passports.photos import photo_bytes, spec_vary

pytestmark = pytest.mark.browser


@pytest.fixture
def citizen_drafts(committed_db: None) -> Iterator[list[Any]]:
    """Citizens made for the test; their drafts are removed afterwards (committed data)."""
    made: list[Any] = []
    yield made
    mission_a = Mission.objects.get(code="alpha")
    with schema_context(mission_a.schema_name):
        for user in made:
            for application in Application.objects.filter(user_id=user.pk):
                PhotoAttempt.objects.filter(application=application).delete()
                application.steps.all().delete()
                application.delete()
    for user in made:
        EmailAddress.objects.filter(user=user).delete()
        user.delete()


def _citizen(made: list[Any]) -> Any:
    user = UserFactory(email=unique_email("draft"))
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    made.append(user)
    return user


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_draft_saves_as_it_is_typed_and_says_what_is_missing(
    live_server_url, url, screenshot, citizen_drafts, language, tmp_path
):
    mission_a = Mission.objects.get(code="alpha")
    user = _citizen(citizen_drafts)
    bad = tmp_path / "me.jpg"
    bad.write_bytes(photo_bytes(spec_vary(head_fraction=0.45)))
    expected = "santimetre" if language == "tr" else "centimetres"
    reason = "çok küçük" if language == "tr" else "too small"

    def body(browser: Any) -> None:
        with signed_in_on_a_phone(browser, url, email=user.email, language=language) as page:
            page.goto(url("/passports/", mission="alpha"))
            page.locator("input[value=renewal]").check()
            page.locator("form.stack-form button[type=submit]").first.click()
            page.wait_for_load_state()
            assert page.locator("#missing li[data-missing=surname]").is_visible()
            # when the citizen types a surname and an impossible height
            page.locator("#id_surname").fill("Şahin")
            page.locator("#id_height_cm").fill("9000")
            page.locator("#id_height_cm").blur()
            # then the surname is saved and off the list, the height answered beside its field
            page.wait_for_function(
                "() => document.querySelector('#missing li[data-missing=surname]').hidden"
            )
            page.wait_for_function(
                "text => document.querySelector('[data-field=height_cm] .field-message')"
                ".textContent.includes(text)",
                arg=expected,
            )
            no_sideways_scroll(page)
            # when a good height is saved and the page opened again, its line is not shown
            page.locator("#id_height_cm").fill("172")
            page.locator("#id_height_cm").blur()
            page.wait_for_function(
                "() => document.querySelector('#missing li[data-missing=height_cm]').hidden"
            )
            page.reload()
            page.wait_for_load_state()
            assert not page.locator("#missing li[data-missing=height_cm]").is_visible()
            # the status line says "Saved", a refusal before the view and a server error, each
            # in the page's language
            autosave_status_checked(page, "#id_given_names", "Ayşe", language)
            # then a wrong one typed over it is named in the list with the field's reason
            page.locator("#id_height_cm").fill("9000")
            page.locator("#id_height_cm").blur()
            page.wait_for_function(
                "text => { const line = document.querySelector("
                "'#missing li[data-missing=height_cm]');"
                " return !line.hidden && line.textContent.includes(text); }",
                arg=expected,
            )
            # a photo whose face is too small is refused with its reason
            page.locator("#id_photo").set_input_files(str(bad))
            page.locator("form[enctype] button[type=submit]").click()
            page.wait_for_load_state()
            assert reason in page.locator("body").inner_text()
            no_sideways_scroll(page)
            screenshot(page, f"passport-draft-{language}")

    in_own_browser_thread(body)
    with schema_context(mission_a.schema_name):
        application = Application.objects.get(user_id=user.pk)
        assert application.surname == "Şahin"
        assert application.given_names == "Ayşe"
        assert application.height_cm == 172  # the refused 9000 never replaced it
