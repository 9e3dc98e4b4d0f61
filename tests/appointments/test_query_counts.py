"""The appointments' pages and hot paths cost a pinned number of statements, whatever the number
of rows. The pins count everything a request sends, with the host's mission cached as in
production; no `SET search_path`, since the connection holds the mission's path from the
request before (consulate/kernel/db/base.py, tests/consulate/test_search_path.py); a request in
the steady state (the session written within the minute, the mission's data key cached). A
logged-in user's roles and second factor come with the user (missions/auth.py).

A mission's data key is cached once its row is settled (consulate/kernel/crypto/envelope.py);
the test missions' keys are minutes old, so `settled_data_key` lets the first read's caching
commit, as it would in production, before anything is counted."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import BookingPerson, ReleaseMode, Slot
from appointments.selectors import slot_list_available
from consulate.kernel.actors import SYSTEM
from consulate.kernel.crypto.envelope import active_key_id
from consulate.kernel.tenancy import current_schema
from missions.selectors import current_mission
from tests.appointments.conftest import today_in_minutes
from tests.appointments.factories import BookingFactory, PersonInputFactory, build_catalogue
from tests.conftest import MODEL_BACKEND, texts_of
from tests.missions.test_tenant_isolation import login_with_second_factor


def _bookings_today(service, user, count: int) -> None:
    for n in range(count):
        booking = BookingFactory(
            service=service, user=user, skip=n,
            persons=[PersonInputFactory(), PersonInputFactory()],
        )  # fmt: skip
        starts_at = today_in_minutes(2 + n, current_mission().zone)
        Slot.objects.filter(pk=booking.slot_id).update(
            starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30)
        )


@pytest.fixture(autouse=True)
def _as_in_production(settings):
    from django.core.cache import cache

    settings.CONSULATE_TENANT_CACHE_SECONDS = 300
    settings.CONSULATE_AVAILABILITY_CACHE_SECONDS = 2
    settings.APPOINTMENTS_SERVICE_LOCAL_SECONDS = 300  # a slow machine's test outlives 2 s
    cache.clear()


@pytest.fixture
def settled_data_key(in_mission_a, django_capture_on_commit_callbacks):
    BookingFactory(service=build_catalogue(code="warm", days=3), skip=6)  # never today
    with django_capture_on_commit_callbacks(execute=True):
        assert all(person.full_name for person in BookingPerson.objects.all())  # decrypts
        active_key_id(current_schema())  # the key new ciphertexts are written with
        active_key_id("public")  # and the one of the accounts' names


def _count(client, path, django_assert_num_queries, expected):
    client.get(path)  # warm: the host's mission in the cache, the session's write of the minute
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
    _count(client_a, "/appointments/mine/", django_assert_num_queries, 3)
    for n in range(1, 4):
        BookingFactory(service=services_[0], user=citizen, skip=n)
    # and waitlist entries (for the lottery's days, which no one books directly)
    for n in range(3):
        day = services_[2].created_at.date() + dt.timedelta(days=n + 1)
        services.waitlist_join(
            service=services_[2], person=PersonInputFactory(), day_from=day, day_to=day,
            user=citizen, language="en", acting_user=citizen,
        )  # fmt: skip
    page = _count(client_a, "/appointments/mine/", django_assert_num_queries, 3)
    assert page.content.decode().count("/appointments/booking/") >= 4
    assert page.content.decode().count("/leave/") == 3


def test_the_staff_day_sheet(
    client_a, officer_a, citizen, services_, settled_data_key, django_assert_num_queries
):
    # given one booking today (two people), then three
    login_with_second_factor(client_a, officer_a)
    _bookings_today(services_[0], citizen, 1)
    # (one of them: the day's closure, said above the table when the mission is closed)
    _count(client_a, "/staff/appointments/", django_assert_num_queries, 5)
    _bookings_today(services_[1], citizen, 2)
    page = _count(client_a, "/staff/appointments/", django_assert_num_queries, 5)
    assert page.content.decode().count("<code>") == 3


def _feed_forgotten() -> None:
    """Drop the cached feeds (kept a few seconds), as if the interval had passed."""
    from django.core.cache import cache

    cache.delete_many([f"availability-feed:alpha:{language}" for language in ("en", "tr")])


def test_the_availability_feed(client_a, in_mission_a, django_assert_num_queries):
    build_catalogue(days=3)
    _count(client_a, "/appointments/availability.json", django_assert_num_queries, 0)
    _feed_forgotten()
    with django_assert_num_queries(4):  # the services, next times, releases, draws
        client_a.get("/appointments/availability.json")
    build_catalogue(code="visa", name="Visa", days=3, release_mode=ReleaseMode.SCHEDULED)
    build_catalogue(code="draw", name="Civil", days=3, release_mode=ReleaseMode.LOTTERY)
    _feed_forgotten()
    with django_assert_num_queries(4):
        response = client_a.get("/appointments/availability.json")
    assert len(response.json()["services"]) == 3
    # and within the cache's interval, from the cache: no query at all
    response = _count(client_a, "/appointments/availability.json", django_assert_num_queries, 0)
    assert len(response.json()["services"]) == 3


def test_the_service_list(client_a, in_mission_a, django_assert_num_queries, settings):
    # the kept feed expires only when the test says so (_feed_forgotten), however slow the run
    settings.CONSULATE_AVAILABILITY_CACHE_SECONDS = 3600
    build_catalogue(days=3)
    # the services, the public draws; each service's times from the kept feed
    _count(client_a, "/appointments/", django_assert_num_queries, 2)
    build_catalogue(code="visa", name="Visa", days=3, release_mode=ReleaseMode.SCHEDULED)
    build_catalogue(code="draw", name="Civil", days=3, release_mode=ReleaseMode.LOTTERY)
    # two services the kept feed does not know yet: their times are read (three more)
    page = _count(client_a, "/appointments/", django_assert_num_queries, 5)
    assert page.content.decode().count('class="card"') == 3
    _feed_forgotten()
    page = _count(client_a, "/appointments/", django_assert_num_queries, 2)
    assert page.content.decode().count('class="card"') == 3


def test_the_mission_home(client_a, in_mission_a, django_assert_num_queries):
    build_catalogue(days=3)
    _count(client_a, "/", django_assert_num_queries, 0)  # the feed from the cache
    build_catalogue(code="visa", name="Visa", days=3, release_mode=ReleaseMode.SCHEDULED)
    _feed_forgotten()
    page = _count(client_a, "/", django_assert_num_queries, 0)
    assert "Visa" in page.content.decode()
    _feed_forgotten()
    with django_assert_num_queries(4):  # the feed's four
        client_a.get("/")


def in_mission_zone():
    from missions.selectors import current_mission

    return current_mission().zone


def test_a_services_calendar(
    client_a, citizen, services_, settled_data_key, django_assert_num_queries
):
    # given a citizen looking at a service with times over three days, then over thirty
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    # the times of the service come from the kept feed (no query), its days in one aggregate,
    # the service itself from this process's copy
    _count(client_a, "/appointments/passport/", django_assert_num_queries, 3)
    services.slot_generate(service=services_[0], days=30, acting_user=SYSTEM)
    page = _count(client_a, "/appointments/passport/", django_assert_num_queries, 3)
    # the page lists the first free day's times (today's, late in the morning, may be few)
    zone = in_mission_zone()
    free = slot_list_available(service=services_[0])
    first_day = free[0].starts_at.astimezone(zone).date()
    on_first_day = sum(1 for slot in free if slot.starts_at.astimezone(zone).date() == first_day)
    assert page.content.decode().count("/appointments/passport/book/") == on_first_day


def test_the_booking_page(
    client_a, citizen, services_, settled_data_key, django_assert_num_queries
):
    """2 statements: the user (with roles) and the slot with what the booking checks (the
    closed day, the no-show rule and the citizen's no-shows; the service is this process's
    copy): the page says why the time would be refused from that one read, not a second."""
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    free = slot_list_available(service=services_[0])
    page = _count(
        client_a, f"/appointments/passport/book/{free[0].pk}/", django_assert_num_queries, 2
    )
    assert page.status_code == 200
    assert not texts_of(page.content, "li", class_="message error")
    # a time taken since: said as the page opens, from the same single read (warm, as above:
    # the first refusal of a process reads the service's next release once, then keeps it)
    Slot.objects.filter(pk=free[1].pk).update(booked=free[1].capacity)
    client_a.get(f"/appointments/passport/book/{free[1].pk}/")
    with django_assert_num_queries(2):
        taken = client_a.get(f"/appointments/passport/book/{free[1].pk}/")
    assert taken.status_code == 400
    assert texts_of(taken.content, "li", class_="message error") == [
        "This time has just been taken. Please choose another."
    ]


def test_a_booking_through_the_api(
    client_a, citizen, services_, settled_data_key, django_assert_num_queries
):
    """3 statements: the user (with roles), the slot (with the closed-day and no-show checks;
    the service is this process's copy, read by the calendar), and one statement that takes the
    place and writes the booking, its person, their two history rows and the outbox event
    (appointments/services/booking_statement.py). In production that statement is its own
    transaction, no BEGIN or COMMIT (test_booking_concurrency.py shows it); inside this test's
    transaction it is wrapped in a savepoint.
    (One booking per document is the partial unique index's: no query checks it first.)"""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client_a.force_login(citizen, backend=MODEL_BACKEND)
    client_a.get("/appointments/passport/")  # warm, as _count does: the calendar reads the service
    slots = [s.pk for s in slot_list_available(service=services_[0])]
    for n, slot in enumerate(slots[:3]):
        with CaptureQueriesContext(connection) as queries:
            response = client_a.post(
                "/api/v1/appointments/bookings/",
                {"service": "passport", "slot": slot,
                 "persons": [{"full_name": "Ada Example", "date_of_birth": "1990-05-17",
                              "document_number": f"U123456{n}"}]},
                content_type="application/json",
            )  # fmt: skip
        assert response.status_code == 201, response.content
        statements = [q["sql"] for q in queries.captured_queries]
        own = [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
        assert len(own) == 2  # the test's transaction's, as above
        assert len(statements) == 3 + len(own), "\n".join(statements)
        assert not [s for s in statements if "FROM appointments_service" in s]
        (write,) = [s for s in statements if s.startswith("WITH place AS (UPDATE")]
        for table in ("booking", "historicalbooking", "bookingperson", "historicalbookingperson"):
            assert f'INSERT INTO "appointments_{table}"' in write
        assert 'INSERT INTO "sync_outboxevent"' in write
        assert 'UPDATE "appointments_slot" SET booked = booked + 1' in write
        # the connection holds the mission's path from the request before (kernel/db/base.py)
        assert not [s for s in statements if s.startswith("SET search_path")]


@pytest.mark.parametrize("path", ["/appointments/", "/appointments/passport/", "/"])
def test_pages_say_the_same_with_the_kept_feed_as_without(
    client_a, citizen, services_, settings, path
):
    # given a citizen and three services, their feed kept (the clock stopped: the home shows
    # the local time to the minute)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    with mock.patch("django.utils.timezone.now", return_value=timezone.now()):
        kept = client_a.get(path).content.decode()
        # when the same page is read with nothing kept (every time from the database)
        settings.CONSULATE_AVAILABILITY_CACHE_SECONDS = 0
        fresh = client_a.get(path).content.decode()
    # then the reader sees the same services and times
    assert texts_of(kept, "main") == texts_of(fresh, "main")
    assert "Passport" in " ".join(texts_of(kept, "main"))
