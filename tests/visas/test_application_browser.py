"""The visa applicant's pages in a real browser on a phone (390 px), in English and Turkish: the
draft is saved as it is typed, a refused value is answered beside its field, and long Turkish
and German words never make a page scroll sideways."""

# ruff: noqa: F811 - the browser fixtures are imported by name

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django_tenants.utils import schema_context

from missions.models import Mission
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
from tests.browser.test_missions_phone import fits_the_screen, no_sideways_scroll
from tests.factories import UserFactory
from visas.models import ItemReview, Upload, VisaApplication
from visas.reference.models import CategoryQuestion, ChecklistItem, ItemKind, VisaCategory

pytestmark = pytest.mark.browser

CODE = "browser_phone"
# Long words as they come: a German compound and a Turkish agglutination, no space to break at.
GERMAN = "Donaudampfschifffahrtsgesellschaftskapitänsmützenhersteller"
TURKISH = "Çekoslovakyalılaştıramadıklarımızdanmışsınızcasına"


@pytest.fixture
def phone_category(committed_db: None) -> Iterator[VisaCategory]:
    """A category of alpha's own (committed data), removed afterwards with what was made."""
    mission = Mission.objects.get(code="alpha")
    with schema_context(mission.schema_name):
        category = VisaCategory.objects.create(
            code=CODE,
            name=f"Besuch {GERMAN}",
            name_en=f"Visit {GERMAN}",
            name_tr=f"Ziyaret {TURKISH}",
            description=f"{GERMAN} {TURKISH}",
            mission="alpha",
            fee_code=CODE,
            order=1,
        )
        ChecklistItem.objects.create(
            category=category, code="photo", label="Photo", kind=ItemKind.PHOTO, order=1
        )
        ChecklistItem.objects.create(
            category=category,
            code="letter",
            label=f"Einladungsschreiben {GERMAN}",
            label_en=f"Letter {GERMAN}",
            label_tr=f"Davet mektubu {TURKISH}",
            order=2,
        )
        CategoryQuestion.objects.create(
            category=category,
            code="relation",
            label=f"{GERMAN}?",
            label_en=f"{GERMAN}?",
            label_tr=f"{TURKISH}?",
        )
    yield category
    with schema_context(mission.schema_name):
        for application in VisaApplication.objects.filter(category=CODE):
            ItemReview.objects.filter(application=application).delete()
            Upload.objects.filter(application=application).delete()
            application.steps.all().delete()
            application.delete()
        ChecklistItem.objects.filter(category=category).delete()
        CategoryQuestion.objects.filter(category=category).delete()
        category.delete()


@pytest.fixture
def applicants(committed_db: None) -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for user in made:
        EmailAddress.objects.filter(user=user).delete()
        user.delete()


def _applicant(made: list[Any]) -> Any:
    user = UserFactory(email=unique_email("visa"))
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    made.append(user)
    return user


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_visa_draft_on_a_phone(
    live_server_url, url, screenshot, phone_category, applicants, language
):
    user = _applicant(applicants)
    # the message in the page's language (Turkish: whatever the catalogue says, not empty)
    expected = "three-letter" if language == "en" else ""

    def body(browser: Any) -> None:
        with signed_in_on_a_phone(browser, url, email=user.email, language=language) as page:
            # the start page: each category with its description and checklist, on the screen
            page.goto(url("/visas/", mission="alpha"))
            no_sideways_scroll(page)
            fits_the_screen(
                page.locator("main h1:visible, main label:visible, main p:visible"), page
            )
            screenshot(page, f"visa-start-{language}")
            page.locator(f"input[value={CODE}]").check()
            with page.expect_navigation():
                page.locator("form.stack-form button[type=submit]").first.click()
            # step 1 says where it is
            assert "1" in page.locator("h1 .step-count").inner_text()
            # when the applicant types a long surname and a wrong nationality code
            page.locator("#id_surname").fill(GERMAN)
            page.locator("#id_occupation").fill(TURKISH)
            page.locator("#id_nationality").fill("QQQ")
            page.locator("#id_nationality").blur()
            # then the nationality is answered beside its field, and nothing scrolls sideways
            page.wait_for_function(
                "text => { const got = document.querySelector("
                "'[data-field=nationality] .field-message').textContent;"
                " return text ? got.includes(text) : got.trim().length > 0; }",
                arg=expected,
            )
            assert page.locator("#id_nationality").get_attribute("aria-invalid") == "true"
            # a refused "Save and continue" names it at the top of the page too; put right, it
            # goes from there as from beside the field (a trial found the top box stayed)
            with page.expect_navigation():
                page.locator("button[name=next]").click()
            line = page.locator("#error-summary li", has=page.locator("a[href='#id_nationality']"))
            assert line.is_visible()
            page.locator("#id_nationality").fill("DEU")
            page.locator("#id_nationality").blur()
            line.wait_for(state="hidden")
            page.locator("#id_nationality").fill("QQQ")
            page.locator("#id_nationality").blur()
            line.wait_for(state="visible")
            page.wait_for_function(
                "() => document.getElementById('autosave-status').textContent.length > 0"
            )
            # the status line says "Saved", a refusal before the view and a server error, each
            # in the page's language (the wrong code taken out first: the save would be refused)
            page.locator("#id_nationality").fill("")
            autosave_status_checked(page, "#id_occupation", TURKISH, language)
            no_sideways_scroll(page)
            fits_the_screen(page.locator("main input:visible, main label:visible"), page)
            screenshot(page, f"visa-identity-{language}")
            # the questions and documents steps, with their long words
            for step in ("questions", "documents", "review"):
                page.goto(page.url.rsplit("/edit/", 1)[0] + f"/edit/{step}/")
                no_sideways_scroll(page)
                screenshot(page, f"visa-{step}-{language}")

    in_own_browser_thread(body)
    mission = Mission.objects.get(code="alpha")
    with schema_context(mission.schema_name):
        application = VisaApplication.objects.get(user_id=user.pk)
        # the surname and the occupation were saved as typed; the wrong code was not
        assert application.surname == GERMAN
        assert application.occupation == TURKISH
        assert application.nationality == ""


ARRIVES = {"en": "You arrive on", "tr": "tarihinde varıyorsunuz"}


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_arrival_too_soon_is_said_as_it_is_typed(
    live_server_url, url, screenshot, phone_category, applicants, language
):
    user = _applicant(applicants)
    today = Mission.objects.get(code="alpha").today()

    def body(browser: Any) -> None:
        with signed_in_on_a_phone(browser, url, email=user.email, language=language) as page:
            page.goto(url("/visas/", mission="alpha"))
            page.locator(f"input[value={CODE}]").check()
            with page.expect_navigation():
                page.locator("form.stack-form button[type=submit]").first.click()
            # given the journey's step, no arrival typed: nothing warns
            page.goto(page.url.rsplit("/edit/", 1)[0] + "/edit/travel/")
            notice = page.locator("#arrival-notice")
            assert notice.inner_text().strip() == ""
            assert notice.get_attribute("aria-live") == "polite"
            # when an arrival three days ahead is typed, then the warning appears without a
            # send, in the page's language, and fits the phone's screen
            page.locator("#id_entry_date").fill((today + dt.timedelta(days=3)).isoformat())
            page.wait_for_function(
                "text => document.getElementById('arrival-notice').textContent.includes(text)",
                arg=ARRIVES[language],
            )
            no_sideways_scroll(page)
            fits_the_screen(page.locator("#arrival-notice p, #arrival-notice h2"), page)
            screenshot(page, f"visa-arrival-too-soon-{language}")
            # when the arrival is moved four months ahead, then the warning goes
            page.locator("#id_entry_date").fill((today + dt.timedelta(days=120)).isoformat())
            page.wait_for_function(
                "() => document.getElementById('arrival-notice').textContent.trim() === ''"
            )

    in_own_browser_thread(body)
