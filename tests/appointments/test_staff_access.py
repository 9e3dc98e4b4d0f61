"""Who may do what on the appointments pages and API, read from the permission table: the HQ
analyst's probe of issue 7 changes nothing at a mission, through the pages or the API; staff of
another mission find nothing (404); the analyst still reads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import Booking, BookingStatus, Closure, Counter, Service, Slot
from consulate.kernel.actors import SYSTEM
from missions.models import Role
from sync.models import OutboxEvent
from tests.appointments.factories import BookingFactory
from tests.conftest import make_staff
from tests.missions.test_tenant_isolation import login_with_second_factor

SETTINGS = "/staff/appointments/settings/"
DAY_SHEET = "/staff/appointments/"
CHECK_IN_API = "/api/v1/appointments/check-in/"


def _today(booking: Booking) -> Booking:
    """Bring a booking's time to a minute from now (today at the mission)."""
    starts_at = timezone.now() + dt.timedelta(minutes=2)
    Slot.objects.filter(pk=booking.slot_id).update(
        starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30)
    )
    booking.refresh_from_db()
    return booking


@pytest.fixture
def counter_day(catalogue, mission_a):
    """Three bookings today: one active, one checked in, one checked in and called."""
    active = _today(BookingFactory(service=catalogue))
    waiting = services.booking_check_in(
        booking=_today(BookingFactory(service=catalogue, skip=1)), acting_user=SYSTEM
    )
    called = services.booking_check_in(
        booking=_today(BookingFactory(service=catalogue, skip=2)), acting_user=SYSTEM
    )
    services.booking_call_next(acting_user=SYSTEM)
    called.refresh_from_db()
    return active, waiting, called


def _state():
    return (
        sorted(Booking.objects.values_list("reference", "status", "queue_number", "called_at")),
        sorted(Service.objects.values_list("code", "name")),
        sorted(Counter.objects.values_list("name", flat=True)),
        Closure.objects.count(),
        OutboxEvent.objects.count(),
    )


CLOSURE = {"closure-kind": "ad_hoc", "closure-reason": "Probe"}
RENAME = {
    "name_en": "Renamed", "duration_minutes": 30, "buffer_minutes": 0, "max_persons": 3,
    "horizon_days": 60, "min_notice_hours": 1, "cancel_cutoff_hours": 2, "release_mode": "open",
    "release_lead_days": 14, "release_time": "08:00", "is_active": "on",
}  # fmt: skip


def _probe(client, *, catalogue, active, waiting, day):
    """Issue 7's probe, through the pages and the API. Returns every answer's status."""
    return [
        client.post(SETTINGS, {"action": "closure", **CLOSURE, "closure-date": day}).status_code,
        client.post(f"{SETTINGS}service/{catalogue.code}/", RENAME).status_code,
        client.post(SETTINGS, {"action": "counter", "counter-name": "Probe desk"}).status_code,
        client.post(SETTINGS, {"action": "generate"}).status_code,
        client.post(CHECK_IN_API, {"reference": active.reference}).status_code,
        client.post(DAY_SHEET, {"action": "check_in", "reference": active.reference}).status_code,
        client.post(DAY_SHEET, {"action": "call_next"}).status_code,
        client.post(DAY_SHEET, {"action": "served", "reference": waiting.reference}).status_code,
        client.post(DAY_SHEET, {"action": "no_show", "reference": active.reference}).status_code,
    ]


def test_the_hq_analysts_probe_changes_nothing_at_a_mission(
    client_a, hq_analyst, catalogue, counter_day, mailoutbox
):
    # given a mission's day with people booked, waiting and called, and an HQ analyst there
    active, waiting, _ = counter_day
    day = active.slot.starts_at.date().isoformat()
    login_with_second_factor(client_a, hq_analyst)
    before = _state()
    # when the analyst closes the day, renames a service, adds a counter, generates slots,
    # checks someone in through the API and the page, calls next, marks served and no-show
    statuses = _probe(client_a, catalogue=catalogue, active=active, waiting=waiting, day=day)
    # then every write is refused as a page that does not exist for them, and nothing changed
    assert statuses == [404] * len(statuses)
    assert _state() == before
    assert mailoutbox == []


def test_the_same_requests_by_the_missions_own_staff_do_change_it(
    client_a, mission_a, catalogue, counter_day
):
    # the probe's requests are well formed: the mission admin's settings and the officer's
    # counter work go through (so the 404s above are the table's answer, not bad input)
    active, waiting, _ = counter_day
    day = active.slot.starts_at.date().isoformat()
    login_with_second_factor(client_a, make_staff(mission_a, Role.MISSION_ADMIN))
    assert (
        client_a.post(SETTINGS, {"action": "counter", "counter-name": "Desk 9"}).status_code == 302
    )
    assert client_a.post(f"{SETTINGS}service/{catalogue.code}/", RENAME).status_code == 302
    login_with_second_factor(client_a, make_staff(mission_a, Role.OFFICER))
    assert client_a.post(CHECK_IN_API, {"reference": active.reference}).status_code == 200
    assert client_a.post(DAY_SHEET, {"action": "call_next"}).status_code == 302
    served = {"action": "served", "reference": waiting.reference}
    assert client_a.post(DAY_SHEET, served).status_code == 302
    catalogue.refresh_from_db()
    waiting.refresh_from_db()
    assert catalogue.name == "Renamed"
    assert Counter.objects.filter(name="Desk 9").exists()
    assert waiting.status == BookingStatus.SERVED
    assert Booking.objects.get(pk=active.pk).status == BookingStatus.CHECKED_IN
    assert (
        client_a.post(SETTINGS, {"action": "closure", **CLOSURE, "closure-date": day}).status_code
        == 404
    )  # an officer does not close days


def test_the_hq_analyst_reads_the_settings_and_the_day_sheet_without_their_buttons(
    client_a, hq_analyst, counter_day
):
    login_with_second_factor(client_a, hq_analyst)
    settings_page = client_a.get(SETTINGS)
    day_sheet = client_a.get(DAY_SHEET)
    assert settings_page.status_code == 200
    assert day_sheet.status_code == 200
    assert 'value="closure"' not in settings_page.content.decode()
    assert 'value="generate"' not in settings_page.content.decode()
    page = day_sheet.content.decode()
    assert counter_day[0].reference in page
    assert 'value="call_next"' not in page
    assert 'value="served"' not in page


@pytest.mark.parametrize("role", [*Role.values])
def test_staff_of_another_mission_find_nothing(client_a, mission_b, role, catalogue, counter_day):
    # given someone with `role` at beta, on alpha's host
    active, waiting, _ = counter_day
    login_with_second_factor(client_a, make_staff(mission_b, role))
    before = _state()
    # when they open the staff pages or try the probe, then none of it exists for them
    assert client_a.get(SETTINGS).status_code == 404
    assert client_a.get(DAY_SHEET).status_code == 404
    assert client_a.get(f"{SETTINGS}service/{catalogue.code}/").status_code == 404
    day = active.slot.starts_at.date().isoformat()
    statuses = _probe(client_a, catalogue=catalogue, active=active, waiting=waiting, day=day)
    assert statuses == [404] * len(statuses)
    assert _state() == before


def test_a_cashier_sees_neither_the_day_sheet_nor_the_settings(client_a, mission_a, catalogue):
    login_with_second_factor(client_a, make_staff(mission_a, Role.CASHIER))
    assert client_a.get(DAY_SHEET).status_code == 404
    assert client_a.get(SETTINGS).status_code == 404


def test_an_officer_reads_the_settings_link_only_if_the_table_says_so(
    client_a, officer_a, catalogue
):
    # officers process bookings but do not view the settings
    login_with_second_factor(client_a, officer_a)
    page = client_a.get(DAY_SHEET).content.decode()
    assert 'value="call_next"' in page
    assert SETTINGS not in page
