"""HQ's directory and dashboard, a mission's home and its staff area, read on a phone (390 px
wide) in English and Turkish, and the hand-off from HQ to a mission's staff area in a real
browser. Screenshots go to test-artifacts/screenshots/ to be looked at."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.cache import cache

from consulate import demo
from consulate.kernel.accounts.models import HqRole, User
from consulate.kernel.actors import SYSTEM
from missions.models import Handoff, Membership, Mission
from missions.services import mission_create
from tests.browser.conftest import PASSWORD, totp_code, unique_email
from tests.conftest import drop_mission
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.browser


def no_sideways_scroll(page: Any) -> None:
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"page scrolls sideways: {widths}"


def fits_the_screen(locator: Any, page: Any) -> None:
    """Every matching element lies within the screen's width (nothing cut off at the right)."""
    width = page.viewport_size["width"]
    for box in (element.bounding_box() for element in locator.all()):
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width + 0.5, box


def one_line(locator: Any) -> None:
    """Short text is not broken up (a column squeezed to one letter made "Cou/ntr/y")."""
    for element in locator.all():
        box = element.bounding_box()
        assert box is not None
        assert box["height"] < 40, (element.inner_text(), box)


def finger_sized(locator: Any) -> None:
    for element in locator.all():
        box = element.bounding_box()
        assert box is not None
        assert box["height"] >= 44, (element.inner_text(), box)


def _person(user: User) -> str:
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture
def tokyo(committed_db: None) -> Iterator[Mission]:
    """The demo's Tokyo embassy, with its Turkish name and address, as `tokyo-<n>`."""
    params = {**next(m for m in demo.MISSIONS if m["code"] == "tokyo")}
    params["code"] = f"tokyo-{secrets.token_hex(3)}"
    mission = mission_create(acting_user=SYSTEM, **params)
    try:
        yield mission
    finally:
        Handoff.objects.filter(mission=mission).delete()
        drop_mission(mission)


@pytest.fixture
def people(committed_db: None, tokyo: Mission) -> Iterator[dict[str, tuple[User, str]]]:
    """An HQ analyst, and a mission admin of alpha who is also an officer at Tokyo."""
    alpha = Mission.objects.get(code="alpha")
    analyst = UserFactory(email=unique_email("analyst"), hq_role=HqRole.ANALYST)
    admin = UserFactory(email=unique_email("mission-admin.alpha"))
    MembershipFactory(user=admin, mission=alpha, role="mission_admin")
    MembershipFactory(user=admin, mission=tokyo, role="officer")
    made = {"analyst": (analyst, _person(analyst)), "admin": (admin, _person(admin))}
    try:
        yield made
    finally:
        for user, _secret in made.values():
            Handoff.objects.filter(user=user).delete()
            Membership.objects.filter(user=user).delete()
            Authenticator.objects.filter(user=user).delete()
            EmailAddress.objects.filter(user=user).delete()
            user.delete()


@pytest.fixture
def turkish_phone(browser: Any, committed_db: None) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="tr-TR",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def log_in(
    page: Any, url: Callable[..., str], *, mission: str | None, user: User, secret: str
) -> None:
    cache.clear()  # a TOTP code is accepted once; each login here gets the current one afresh
    page.goto(url("/accounts/login/", mission=mission))
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.locator("input[name=code]").fill(totp_code(secret))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()  # not "Cancel"
    assert "/accounts/" not in page.url, page.url


def test_directory_and_mission_home_on_a_phone_in_turkish(turkish_phone, url, screenshot, tokyo):
    page = turkish_phone
    # the directory: Turkish names and countries, every card and the search within the screen
    page.goto(url("/"))
    card = page.locator(".card", has=page.get_by_role("link", name="Tokyo Büyükelçiliği"))
    assert "Büyükelçilik · Tokyo, Japonya" in card.inner_text()
    no_sideways_scroll(page)
    fits_the_screen(page.locator(".card, .search button, .search select"), page)
    screenshot(page, "directory-tr-phone")
    # the mission's home: its Turkish name and address, ending with the country in Turkish
    page.goto(url("/", mission=tokyo.code))
    assert page.locator("h1").inner_text() == "Tokyo Büyükelçiliği"
    assert page.locator("address").inner_text().splitlines() == [
        "2-33-6 Jingumae, Shibuya-ku",
        "Tokyo 150-0001",
        "Japonya",
    ]
    no_sideways_scroll(page)
    fits_the_screen(page.locator("main section, table.hours"), page)
    screenshot(page, "mission-home-tr-phone")


def test_hq_dashboard_hands_over_to_a_mission_on_a_phone(
    phone_page, url, screenshot, people, tokyo
):
    page = phone_page
    user, secret = people["analyst"]
    # given an HQ analyst logged in at HQ with their second factor
    log_in(page, url, mission=None, user=user, secret=secret)
    page.goto(url("/hq/"))
    # then the dashboard fits the phone: each mission a block of labelled figures, readable
    # without scrolling sideways, its name a finger-sized link
    tokyo_link = page.locator(f'a[href="/hq/missions/{tokyo.code}/"]')
    row = page.locator("tbody tr", has=tokyo_link)
    assert "Tokyo, Japan" in row.inner_text()
    assert "Active" in row.inner_text()
    no_sideways_scroll(page)
    fits_the_screen(page.locator("tbody tr"), page)
    finger_sized(page.locator("tbody td:first-child a"))
    screenshot(page, "hq-dashboard-phone")
    # when they open Tokyo's page and press the way into its staff pages
    tokyo_link.click()
    page.wait_for_url(url(f"/hq/missions/{tokyo.code}/"))
    no_sideways_scroll(page)
    screenshot(page, "hq-mission-phone")
    page.get_by_role("button", name="Open the mission's staff pages").click()
    # then they are in Tokyo's staff area, logged in, without a login page on the way
    page.wait_for_url(url("/staff/", mission=tokyo.code))
    assert page.locator("h1").inner_text() == "Staff area"
    assert f"Signed in as {user.email}." in page.locator("main").inner_text()
    assert "Your roles here: HQ analyst" in page.locator("main").inner_text()
    no_sideways_scroll(page)
    screenshot(page, "staff-after-handoff-phone")
    # and the way back to HQ's dashboard needs no login either (HQ's session is still there)
    page.get_by_role("link", name="Back to the HQ dashboard").click()
    page.wait_for_url(url("/hq/"))
    assert page.locator("h1").inner_text() == "HQ dashboard"


def test_staff_area_on_a_phone_in_turkish_leads_to_the_other_mission(
    turkish_phone, url, screenshot, people, tokyo
):
    page = turkish_phone
    user, secret = people["admin"]
    # given a mission admin of alpha, also an officer at Tokyo, logged in at alpha
    log_in(page, url, mission="alpha", user=user, secret=secret)
    page.goto(url("/staff/", mission="alpha"))
    # then the staff area fits the phone, e-mail addresses included
    main = page.locator("main").inner_text()
    assert "Diğer temsilcilikleriniz" in main
    no_sideways_scroll(page)
    fits_the_screen(page.locator("main table, main h2, .other-missions button"), page)
    finger_sized(page.locator(".other-missions button"))
    screenshot(page, "staff-tr-phone")
    # and Tokyo, under its Turkish name, opens Tokyo's staff area without another login
    page.get_by_role("button", name="Tokyo Büyükelçiliği").click()
    page.wait_for_url(url("/staff/", mission=tokyo.code))
    assert "Buradaki rolleriniz: Memur" in page.locator("main").inner_text()
    screenshot(page, "staff-after-handoff-tr-phone")
