"""HQ monitoring in a real browser (Playwright, chromium) on a 390 px phone, as the issue's
"done when" walks it: an HQ analyst opens the dashboard, sees the alert for a mission whose
sync stopped, filters to one region, opens a mission's page with its tables and plots, and
downloads the CSV; in English and in Turkish. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from appointments.register.models import (
    BookingDay,
    BookingMonth,
    RegisteredBooking,
    ServiceAvailability,
)
from missions.models import Mission
from sync.hq.models import MissionLink, SkippedEvent
from tests.appointments.hq_data import booking_event, project, report_event
from tests.browser.test_missions_phone import (  # noqa: F401 - fixtures used by name
    fits_the_screen,
    log_in,
    no_sideways_scroll,
    people,
    tokyo,
    turkish_phone,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def watched(committed_db: None, tokyo: Mission) -> Iterator[Mission]:  # noqa: F811
    """Tokyo (Asia) heard from 2 minutes ago, with a passport service free in 12 days and a
    booking made online; alpha (no region) silent for five hours."""
    now = timezone.now()
    MissionLink.objects.update_or_create(
        mission=tokyo.code, defaults={"last_contact_at": now - dt.timedelta(minutes=2)}
    )
    MissionLink.objects.update_or_create(
        mission="alpha", defaults={"last_contact_at": now - dt.timedelta(hours=5)}
    )
    project(
        tokyo.code,
        [
            report_event("passport", occurred_at=now - dt.timedelta(minutes=30),
                         next_bookable=now + dt.timedelta(days=12), free=40,
                         names={"en": "Passport", "tr": "Pasaport"}),
            booking_event("created", f"{tokyo.code}-1", occurred_at=now - dt.timedelta(days=9),
                          starts_at=now - dt.timedelta(days=2), channel="online"),
        ],
    )  # fmt: skip
    cache.clear()
    try:
        yield tokyo
    finally:
        MissionLink.objects.filter(mission__in=[tokyo.code, "alpha"]).delete()
        for model in (ServiceAvailability, RegisteredBooking, BookingDay, BookingMonth,
                      SkippedEvent):  # fmt: skip
            model.objects.filter(mission=tokyo.code).delete()


def _fits(page: Any) -> None:
    no_sideways_scroll(page)
    fits_the_screen(page.locator("main .notice, main form.filters, main figure"), page)


def test_an_analyst_watches_the_missions_on_a_phone(phone_page, url, screenshot, people, watched):  # noqa: F811
    page = phone_page
    user, secret = people["analyst"]
    log_in(page, url, mission=None, user=user, secret=secret)
    page.goto(url("/hq/"))
    # the mission whose sync stopped is the alert on top, in words
    alerts = page.locator("section.monitoring-alerts").inner_text()
    assert "Critical: Consulate-General in Berlin: No contact with HQ for 5 hours" in alerts
    _fits(page)
    screenshot(page, "hq-monitoring-phone")
    # filtered to Asia: Tokyo, its next free appointment in its own zone, and not Berlin
    page.get_by_label("Region").select_option(label="Asia")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/hq/?region=142*")
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "Embassy in Tokyo" in row
    assert "(Asia/Tokyo)" in row
    assert "100%" in row  # booked online
    assert "Berlin" not in page.locator("tbody").inner_text()
    # the CSV is the table as filtered
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this table (CSV)").click()
    with open(download.value.path(), encoding="utf-8") as file:
        exported = list(csv.DictReader(io.StringIO(file.read())))
    assert [line["mission"] for line in exported] == [watched.code]
    assert exported[0]["appointments.online_share"] == "1"
    # Tokyo's page: its services and its weekly plots, each with the table behind it
    page.locator(f'a[href="/hq/missions/{watched.code}/"]').click()
    page.wait_for_url(f"**/hq/missions/{watched.code}/")
    services = page.locator(
        "section", has=page.get_by_role("heading", name="Appointments per service")
    )
    assert "Passport" in services.inner_text()
    plot = page.locator("figure.trend").first
    assert plot.locator("svg[role=img]").get_attribute("aria-label").startswith("Bookings per week")
    plot.get_by_text("The figures behind the plot").click()
    assert plot.locator("table tbody tr").count() == 12
    _fits(page)
    screenshot(page, "hq-monitoring-mission-phone")


def test_the_dashboard_on_a_phone_in_turkish(turkish_phone, url, screenshot, people, watched):  # noqa: F811
    page = turkish_phone
    user, secret = people["analyst"]
    log_in(page, url, mission=None, user=user, secret=secret)
    page.goto(url("/hq/"))
    assert page.locator("h1").inner_text() == "Merkez (HQ) paneli"
    alerts = page.locator("section.monitoring-alerts").inner_text()
    assert "Kritik: Consulate-General in Berlin: 5 saat boyunca Merkez (HQ) ile temas yok" in alerts
    assert "Tokyo Büyükelçiliği" in page.locator("tbody").inner_text()
    _fits(page)
    screenshot(page, "hq-monitoring-tr-phone")
    page.goto(url("/hq/trends/"))
    assert page.locator("h1").inner_text() == "Haftalık eğilimler"
    _fits(page)
    screenshot(page, "hq-trends-tr-phone")


# The computed colour of an element, that of the first ancestor with a background, and the
# contrast ratio between them (WCAG 2: relative luminance).
CONTRAST_JS = """element => {
  const rgb = value => value.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map(c => c / 255)
    .map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  let back = element;
  while (back && getComputedStyle(back).backgroundColor.match(/rgba\\(.*, 0\\)|transparent/)) {
    back = back.parentElement;
  }
  const fg = rgb(getComputedStyle(element).color);
  const bg = back ? rgb(getComputedStyle(back).backgroundColor) : [255, 255, 255];
  const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
  return {color: getComputedStyle(element).color, ratio: (hi + 0.05) / (lo + 0.05)};
}"""


def test_a_refused_filters_reason_is_in_the_error_colour(phone_page, url, people, watched):  # noqa: F811
    page = phone_page
    user, secret = people["analyst"]
    log_in(page, url, mission=None, user=user, secret=secret)
    # the colour every other form (allauth's `.errorlist`) shows its errors in
    page.goto(url("/hq/?status=bogus&country=ZZ"))
    error_colour = page.evaluate(
        "() => { const probe = document.createElement('span'); probe.className = 'errorlist';"
        " document.body.append(probe); return getComputedStyle(probe).color; }"
    )
    # when a filter is refused, its reason beside the field is in that red, not black, and
    # reads at WCAG AA contrast (4.5:1) on its background
    messages = page.locator("form.filters .field-message")
    assert messages.count() == 2
    for message in messages.all():
        found = message.evaluate(CONTRAST_JS)
        assert found["color"] == error_colour == "rgb(161, 0, 26)", found
        assert found["ratio"] >= 4.5, found


def test_the_staff_menu_on_a_phone_a_row_on_a_desktop(phone_page, url, screenshot, people, watched):  # noqa: F811
    page = phone_page
    user, secret = people["admin"]
    log_in(page, url, mission="alpha", user=user, secret=secret)
    page.goto(url("/staff/", mission="alpha"))
    # on a 390 px phone the header is the mission's name, a "Menu" button and the language
    # (it was some 400 px of wrapped links before any content)
    header = page.locator("header.site-header")
    assert header.bounding_box()["height"] < 200
    menu = page.locator("nav.site-nav summary")
    assert menu.inner_text().strip() == "Menu"
    assert not page.get_by_role("link", name="Day sheet").is_visible()
    no_sideways_scroll(page)
    screenshot(page, "staff-nav-phone")
    # opened with the keyboard alone (no script): its links are there, a column of them
    menu.focus()
    page.keyboard.press("Enter")
    assert page.locator("nav.site-nav details").get_attribute("open") is not None
    for name in ("Day sheet", "Counter", "Staff", "Security"):
        assert page.get_by_role("link", name=name, exact=True).is_visible(), name
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "All missions"
    no_sideways_scroll(page)
    screenshot(page, "staff-nav-phone-open")
    # and the button reads white on the header on every page, the day sheet too, whose own
    # sheet colours the summaries in its main part (it was blue on blue there: a user trial)
    for path in ("/staff/", "/staff/appointments/", "/appointments/"):
        page.goto(url(path, mission="alpha"))
        colours = page.evaluate(
            "() => [getComputedStyle(document.querySelector('nav.site-nav summary')).color,"
            " getComputedStyle(document.querySelector('header.site-header')).color]"
        )
        assert colours == ["rgb(255, 255, 255)", "rgb(255, 255, 255)"], (path, colours)
    page.goto(url("/staff/", mission="alpha"))
    # on a desktop the links are the row they were, and there is no menu button
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url("/staff/", mission="alpha"))
    assert not page.locator("nav.site-nav summary").is_visible()
    for name in ("All missions", "Day sheet", "Counter", "Staff", "Security"):
        assert page.get_by_role("link", name=name, exact=True).is_visible(), name
    assert page.get_by_role("button", name="Sign out").is_visible()
    screenshot(page, "staff-nav-desktop")


def test_the_menu_in_turkish_on_a_phone(turkish_phone, url, people, watched):  # noqa: F811
    page = turkish_phone
    user, secret = people["analyst"]
    log_in(page, url, mission=None, user=user, secret=secret)
    page.goto(url("/hq/"))
    menu = page.locator("nav.site-nav summary")
    assert menu.inner_text().strip() == "Menü"
    assert page.locator("header.site-header").bounding_box()["height"] < 200
    menu.click()
    assert page.get_by_role("link", name="Merkez (HQ) paneli").is_visible()
