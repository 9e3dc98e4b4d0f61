"""The appointments' list pages and hot paths cost a pinned number of queries, whatever the
number of rows. The pins count everything a request sends, `SET search_path` included
(django-tenants sends one before each query in these tests), and the session, second-factor and
permission reads of the layout.

A mission's data key is cached once its row is settled (consulate/kernel/crypto/envelope.py);
the test missions' keys are minutes old, so `settled_data_key` lets the first read's caching
commit, as it would in production, before anything is counted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import BookingPerson, ReleaseMode, Slot
from tests.appointments.factories import BookingFactory, PersonInputFactory, build_catalogue
from tests.conftest import MODEL_BACKEND
from tests.missions.test_tenant_isolation import login_with_second_factor


def _bookings_today(service, user, count: int) -> None:
    for n in range(count):
        booking = BookingFactory(
            service=service, user=user, skip=n,
            persons=[PersonInputFactory(), PersonInputFactory()],
        )  # fmt: skip
        starts_at = timezone.now() + dt.timedelta(minutes=2 + n)
        Slot.objects.filter(pk=booking.slot_id).update(
            starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30)
        )


@pytest.fixture
def settled_data_key(in_mission_a, django_capture_on_commit_callbacks):
    BookingFactory(service=build_catalogue(code="warm", days=3), skip=6)  # never today
    with django_capture_on_commit_callbacks(execute=True):
        assert all(person.full_name for person in BookingPerson.objects.all())  # decrypts


def _count(client, path, django_assert_num_queries, expected):
    with django_assert_num_queries(expected):
        response = client.get(path)
    assert response.status_code == 200
    return response


@pytest.fixture
def services_(in_mission_a):
    """Three services, one of each release mode."""
    return [
        build_catalogue(days=3),
        build_catalogue(code="visa", name="Visa", days=3, release_mode=ReleaseMode.SCHEDULED),
        build_catalogue(code="draw", name="Civil", days=3, release_mode=ReleaseMode.LOTTERY),
    ]


def test_the_citizens_booking_list(
    client_a, citizen, services_, settled_data_key, django_assert_num_queries
):
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    BookingFactory(service=services_[0], user=citizen)
    _count(client_a, "/appointments/mine/", django_assert_num_queries, 20)
    for n in range(1, 4):
        BookingFactory(service=services_[0], user=citizen, skip=n)
    # and waitlist entries (for the lottery's days, which no one books directly)
    for n in range(3):
        day = services_[2].created_at.date() + dt.timedelta(days=n + 1)
        services.waitlist_join(
            service=services_[2], person=PersonInputFactory(), day_from=day, day_to=day,
            user=citizen, language="en", acting_user=citizen,
        )  # fmt: skip
    page = _count(client_a, "/appointments/mine/", django_assert_num_queries, 20)
    assert page.content.decode().count("/appointments/booking/") >= 4
    assert page.content.decode().count("/leave/") == 3


def test_the_staff_day_sheet(
    client_a, officer_a, citizen, services_, settled_data_key, django_assert_num_queries
):
    # given one booking today (two people), then three
    login_with_second_factor(client_a, officer_a)
    _bookings_today(services_[0], citizen, 1)
    _count(client_a, "/staff/appointments/", django_assert_num_queries, 28)
    _bookings_today(services_[1], citizen, 2)
    page = _count(client_a, "/staff/appointments/", django_assert_num_queries, 28)
    assert page.content.decode().count("<code>") == 3


def test_the_availability_feed(client_a, in_mission_a, django_assert_num_queries):
    build_catalogue(days=3)
    _count(client_a, "/appointments/availability.json", django_assert_num_queries, 10)
    build_catalogue(code="visa", name="Visa", days=3, release_mode=ReleaseMode.SCHEDULED)
    build_catalogue(code="draw", name="Civil", days=3, release_mode=ReleaseMode.LOTTERY)
    response = _count(client_a, "/appointments/availability.json", django_assert_num_queries, 10)
    assert len(response.json()["services"]) == 3


def test_the_service_list(client_a, in_mission_a, django_assert_num_queries):
    build_catalogue(days=3)
    _count(client_a, "/appointments/", django_assert_num_queries, 12)
    build_catalogue(code="visa", name="Visa", days=3, release_mode=ReleaseMode.SCHEDULED)
    build_catalogue(code="draw", name="Civil", days=3, release_mode=ReleaseMode.LOTTERY)
    page = _count(client_a, "/appointments/", django_assert_num_queries, 12)
    assert page.content.decode().count('class="card"') == 3
