"""A service booked from its case (`BOOKED_FROM_CASE`: the visa appointment, bookable once the
mission found the file complete) refuses a booking, a lottery entry and a waitlist place made
on its own; the visa case books it (tests/visas/test_application_services.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from appointments import services
from appointments.error_codes import AppointmentError
from appointments.models import Booking, LotteryEntry, ReleaseMode, Service, WaitlistEntry
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from tests.appointments.conftest import first_free_slot, person
from tests.appointments.factories import build_catalogue
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("in_mission_a")


def test_a_visa_appointment_is_not_booked_on_its_own():
    service = build_catalogue(purpose="visa", code="visa", name="Visa application")
    user = UserFactory()
    with pytest.raises(ApplicationError) as refused:
        services.booking_create(
            slot_id=first_free_slot(service).pk, service=service, persons=[person()],
            user=user, language="en", acting_user=user,
        )  # fmt: skip
    assert refused.value.code is AppointmentError.BOOKED_FROM_CASE
    assert "open your application to book it" in str(refused.value.message)
    assert not Booking.objects.exists()


def test_nor_by_lottery():
    service = build_catalogue(
        purpose="visa", code="visa", name="Visa application", release_mode=ReleaseMode.LOTTERY
    )
    user = UserFactory()
    now = timezone.now()
    draw = services.lottery_round_create(
        service=service,
        period_start=(now + dt.timedelta(days=3)).date(),
        period_end=(now + dt.timedelta(days=3)).date(),
        window_opens_at=now - dt.timedelta(hours=1),
        window_closes_at=now + dt.timedelta(hours=1),
        acting_user=SYSTEM,
    )
    with pytest.raises(ApplicationError) as refused:
        services.lottery_enter(
            lottery_round=draw, person=person(), user=user, language="en", acting_user=user
        )
    assert refused.value.code is AppointmentError.BOOKED_FROM_CASE
    assert not LotteryEntry.objects.exists()


def test_nor_from_the_waitlist():
    service = build_catalogue(purpose="visa", code="visa", name="Visa application")
    user = UserFactory()
    day = (timezone.now() + dt.timedelta(days=3)).date()
    with pytest.raises(ApplicationError) as refused:
        services.waitlist_join(
            service=service, person=person(), day_from=day, day_to=day, user=user,
            language="en", acting_user=user,
        )  # fmt: skip
    assert refused.value.code is AppointmentError.BOOKED_FROM_CASE
    assert not WaitlistEntry.objects.exists()


def test_other_services_are_booked_as_before():
    service = build_catalogue(purpose="passport")
    user = UserFactory()
    booking = services.booking_create(
        slot_id=first_free_slot(service).pk, service=service, persons=[person()],
        user=user, language="en", acting_user=user,
    )  # fmt: skip
    assert booking.pk


def test_the_catalogue_says_where_it_is_booked(client_a):
    # given the visa appointment beside an ordinary service
    build_catalogue(days=3)
    build_catalogue(purpose="visa", code="visa", name="Visa application", days=3)
    # when a citizen opens the catalogue
    html = client_a.get("/appointments/").content.decode()
    # then the visa card links to no calendar and says it is booked from the application
    assert 'href="/appointments/passport/"' in html
    assert 'href="/appointments/visa/"' not in html
    assert "Booked from your application, once the mission has found it complete." in html


def test_its_calendar_says_where_it_is_booked(client_a):
    build_catalogue(purpose="visa", code="visa", name="Visa application", days=3)
    response = client_a.get("/appointments/visa/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "open your application to book it" in html
    assert "/appointments/visa/book/" not in html
    # and a booking page reached by its address says the same, with no form
    slot = first_free_slot(Service.objects.get(code="visa"))
    client_a.force_login(UserFactory())
    html = client_a.get(f"/appointments/visa/book/{slot.pk}/").content.decode()
    assert "open your application to book it" in html
    assert 'name="person-0-full_name"' not in html
