"""The public wait-times page in a real browser (Playwright, chromium) on a 390 px phone: a
citizen searches for a city and reads the next appointment without scrolling sideways."""

from __future__ import annotations

import datetime as dt

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
from sync.hq.models import SkippedEvent
from tests.appointments.hq_data import booking_event, project, report_event

pytestmark = pytest.mark.browser


@pytest.fixture
def reported(throwaway_mission):
    """The throwaway mission (Berlin) reports a passport service free in five days, with a
    long name; its HQ rows are removed afterwards (they are committed)."""
    code = throwaway_mission.code
    Mission.objects.filter(code=code).update(city="Düsseldorf")
    now = timezone.now()
    project(
        code,
        [
            report_event("passport", occurred_at=now, next_bookable=now + dt.timedelta(days=5),
                         free=4, names={"en": "Passport and emergency travel document application",
                                        "tr": "Pasaport başvurusu"}),
            booking_event("created", f"{code}-1", occurred_at=now - dt.timedelta(days=12),
                          starts_at=now - dt.timedelta(days=2), channel="online"),
        ],
    )  # fmt: skip
    cache.clear()
    try:
        yield throwaway_mission
    finally:
        for model in (ServiceAvailability, RegisteredBooking, BookingDay, BookingMonth,
                      SkippedEvent):  # fmt: skip
            model.objects.filter(mission=code).delete()


def test_a_citizen_finds_the_next_appointment_on_a_phone(phone_page, url, screenshot, reported):
    from tests.browser.test_pages import assert_no_horizontal_scroll

    # when a visitor opens the wait times on a phone and searches without the umlaut
    phone_page.goto(url("/wait-times/"))
    phone_page.get_by_label("Country or city").fill("dusseldorf")
    phone_page.get_by_role("button", name="Search").click()
    phone_page.wait_for_url("**/wait-times/?q=dusseldorf")
    # then the mission's service is there with its next appointment, zone named
    table = phone_page.get_by_role("table")
    assert "Passport and emergency travel document application" in table.inner_text()
    assert "(Europe/Berlin)" in table.inner_text()
    assert "10.0 days" in table.inner_text()
    assert "1 mission found." in phone_page.content()
    assert_no_horizontal_scroll(phone_page)
    # the time, its zone and how far away are one value beside their label, not split into
    # the label's column
    value = phone_page.locator("td[data-label='Next free appointment'] > span").first
    box = value.bounding_box()
    assert box is not None
    assert box["x"] > 390 * 0.3
    assert "(Europe/Berlin), in 5 days" in value.inner_text().replace("\n", " ")
    screenshot(phone_page, "wait-times-phone")
