"""What a visitor and a staff member see in a real browser, on desktop and phone."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from django.core.cache import cache

from consulate.kernel.accounts.models import User
from missions.models import Membership, Mission
from tests.browser.conftest import PASSWORD, totp_code, unique_email
from tests.conftest import make_staff

pytestmark = pytest.mark.browser


def assert_no_horizontal_scroll(page: Any) -> None:
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"page scrolls sideways: {widths}"


def assert_one_h1(page: Any) -> None:
    assert page.locator("h1").count() == 1
    assert page.locator("header").count() >= 1
    assert page.locator("main#main").count() == 1
    assert page.locator("footer").count() >= 1


@pytest.fixture
def staff_alpha(committed_db: None) -> Iterator[tuple[User, str]]:
    """An officer of `alpha` with a verified e-mail and TOTP set up; removed afterwards."""
    mission = Mission.objects.get(code="alpha")
    user = make_staff(mission, "officer", email=unique_email("officer.alpha"))
    user.set_password(PASSWORD)  # UserFactory sets it after saving and does not save again
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    TOTP.activate(user, secret)
    try:
        yield user, secret
    finally:
        Membership.objects.filter(user=user).delete()
        user.delete()


def log_in(page: Any, url: Callable[..., str], *, mission: str, user: User, secret: str) -> Any:
    page.goto(url("/staff/", mission=mission))
    assert "/accounts/login/" in page.url
    page.get_by_label("Email", exact=True).fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/accounts/2fa/authenticate/")
    code_input = page.get_by_label("Code", exact=True)
    code_input.fill(totp_code(secret))
    return code_input


def test_directory_lists_missions_and_search_filters_them(page, url, screenshot):
    # other tests may add missions of their own, so cards are told apart by their link's host
    alpha = page.locator(".cards .card", has=page.locator('a[href*="//alpha.localhost:"]'))
    beta = page.locator(".cards .card", has=page.locator('a[href*="//beta.localhost:"]'))

    # given the HQ directory
    page.goto(url("/"))
    assert_one_h1(page)
    assert "Consulate-General in Berlin" in alpha.inner_text()
    assert "Embassy in Tokyo" in beta.inner_text()
    screenshot(page, "directory-desktop")

    # when searching by country
    page.get_by_label("Country").select_option("JP")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**country=JP**")

    # then only missions in Japan are left
    assert beta.count() == 1
    assert alpha.count() == 0
    assert all("Japan" in text for text in page.locator(".cards .card").all_inner_texts())
    screenshot(page, "directory-search-country-desktop")

    # when searching by city
    page.get_by_label("Country").select_option("")
    page.get_by_label("City or name").fill("Berlin")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=Berlin**")

    # then only Berlin
    assert alpha.count() == 1
    assert beta.count() == 0
    assert all("Berlin" in text for text in page.locator(".cards .card").all_inner_texts())

    # and a search that matches nothing says so
    page.get_by_label("City or name").fill("Atlantis")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=Atlantis**")
    assert page.get_by_text("No mission matches your search.").is_visible()
    assert page.get_by_text("0 missions found.").is_visible()
    screenshot(page, "directory-search-empty-desktop")


def test_mission_home_shows_address_hours_time_zone_and_languages(page, url, screenshot):
    page.goto(url("/", mission="alpha"))
    assert_one_h1(page)
    assert page.locator("h1").inner_text() == "Consulate-General in Berlin"
    assert "Example street 1" in page.locator("address").inner_text()
    hours = page.locator("table.hours")
    assert hours.locator("tr", has_text="Monday").inner_text().endswith("09:00–13:00")
    assert "Closed" in hours.locator("tr", has_text="Sunday").inner_text()
    info = page.locator("section", has=page.get_by_role("heading", name="Good to know"))
    assert "Europe/Berlin" in info.inner_text()
    assert "German, Turkish, English" in info.inner_text()
    screenshot(page, "mission-home-desktop")


def test_language_switcher_turns_the_page_turkish_and_back(page, url, screenshot):
    # given the Tokyo embassy's page in English
    page.goto(url("/", mission="beta"))
    assert page.locator("html").get_attribute("lang") == "en"

    # when a visitor picks Türkçe with the keyboard and submits
    page.get_by_label("Language").focus()
    page.get_by_label("Language").select_option("tr")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # then the page is Turkish, and only Turkish
    assert page.locator("html").get_attribute("lang") == "tr"
    assert page.get_by_role("heading", name="Çalışma saatleri").is_visible()
    assert page.get_by_role("link", name="Ana içeriğe geç").count() == 1
    body = page.locator("body").inner_text()
    for english in ("Opening hours", "Good to know", "Time zone", "Sign in", "Closed"):
        assert english not in body
    assert "Pazartesi" in body
    screenshot(page, "mission-home-tr-desktop")

    # when they switch back
    page.get_by_label("Dil").select_option("en")
    with page.expect_navigation():
        page.get_by_role("button", name="Değiştir").click()

    # then English again
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Opening hours").is_visible()


def test_staff_logs_in_with_totp_and_reaches_own_staff_area(page, url, staff_alpha, screenshot):
    user, secret = staff_alpha

    page.goto(url("/accounts/login/", mission="alpha"))
    assert_one_h1(page)
    screenshot(page, "login-desktop")
    # a wrong password is announced and tied to the form
    page.get_by_label("Email", exact=True).fill(user.email)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign In").click()
    alert = page.get_by_role("alert")
    assert "not correct" in alert.inner_text()
    screenshot(page, "login-error-desktop")

    log_in(page, url, mission="alpha", user=user, secret=secret)
    screenshot(page, "totp-desktop")
    page.get_by_role("button", name="Sign In").click()

    page.wait_for_url(url("/staff/", mission="alpha"))
    assert page.locator("h1").inner_text() == "Staff area"
    assert user.email in page.locator("main").inner_text()
    assert "Your roles here: Officer" in page.locator("main").inner_text()
    # the header's "Sign out" is a button styled as a link: readable on the blue header
    logout = page.get_by_role("button", name="Sign out")
    assert logout.evaluate("b => getComputedStyle(b).backgroundColor") == "rgba(0, 0, 0, 0)"
    screenshot(page, "staff-desktop")


def test_staff_without_totp_is_sent_to_set_it_up(page, url, staff_alpha, screenshot):
    # given an officer who has not enrolled an authenticator yet
    user, _secret = staff_alpha
    user.authenticator_set.all().delete()

    # when they log in
    page.goto(url("/accounts/login/", mission="alpha"))
    page.get_by_label("Email", exact=True).fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    # then they are sent to set it up; allauth first asks for the password once more
    page.wait_for_url("**/accounts/reauthenticate/**")
    assert_one_h1(page)
    screenshot(page, "reauthenticate-desktop")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    page.goto(url("/staff/", mission="alpha"))
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    assert_one_h1(page)
    assert page.get_by_label("Authenticator code", exact=True).get_attribute("inputmode") == (
        "numeric"
    )
    assert page.get_by_label("Authenticator secret", exact=True).input_value()
    assert page.locator("img.qr").count() == 1
    screenshot(page, "totp-activate-desktop")

    # and a wrong code is announced and tied to the field
    page.get_by_label("Authenticator code", exact=True).fill("000000")
    page.get_by_role("button", name="Activate").click()
    code = page.get_by_label("Authenticator code", exact=True)
    assert code.get_attribute("aria-invalid") == "true"
    error_id = code.get_attribute("aria-describedby").split()[0]
    assert page.locator(f"#{error_id}").inner_text().strip()
    assert page.get_by_role("alert").count() == 1
    screenshot(page, "totp-activate-error-desktop")


def test_staff_gets_404_at_another_missions_staff_area(page, url, staff_alpha, screenshot):
    user, secret = staff_alpha
    # the code just used at alpha may not be used twice; a new login at beta needs a fresh one
    cache.clear()

    log_in(page, url, mission="beta", user=user, secret=secret)
    with page.expect_navigation(url=url("/staff/", mission="beta")) as navigation:
        page.get_by_role("button", name="Sign In").click()

    assert navigation.value.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    assert "Staff" not in page.locator("main").inner_text()
    screenshot(page, "staff-other-mission-404-desktop")


def test_unknown_host_shows_no_such_mission(page, url, screenshot):
    response = page.goto(url("/", host="nowhere.localhost"))
    assert response.status == 404
    assert page.locator("h1").inner_text() == "No such mission"
    assert page.get_by_role("link", name="See all missions").is_visible()
    # logging in or switching language would post to this same unknown host: not offered
    assert page.get_by_role("link", name="Sign in").count() == 0
    all_missions = page.get_by_role("link", name="All missions", exact=True)
    assert all_missions.get_attribute("href").startswith("//localhost:")
    screenshot(page, "unknown-host-desktop")


def test_first_tab_focuses_the_skip_link(page, url):
    page.goto(url("/", mission="alpha"))
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.className")
    assert "skip-link" in focused
    assert page.locator(".skip-link").is_visible()
    assert page.locator(".skip-link").bounding_box()["x"] >= 0

    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


@pytest.mark.parametrize(
    ("name", "path", "mission", "host"),
    [
        ("mission-home", "/", "alpha", None),
        ("mission-home-tokyo", "/", "beta", None),
        ("directory", "/", None, None),
        ("login", "/accounts/login/", "alpha", None),
        ("signup", "/accounts/signup/", None, None),
        ("not-found", "/no-such-page/", "alpha", None),
        ("unknown-host", "/", None, "nowhere.localhost"),
    ],
)
def test_phone_layout_has_no_horizontal_scrolling(
    phone_page, url, screenshot, name, path, mission, host
):
    phone_page.goto(url(path, mission=mission, host=host))
    assert_one_h1(phone_page)
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, f"{name}-phone")
