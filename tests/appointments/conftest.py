"""Fixtures of the appointments tests: a small catalogue at mission alpha (Berlin), built with
the real services (tests/appointments/factories.py)."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from typing import Any

import pytest
from django.core.cache import cache

from appointments.models import Counter, Service
from appointments.services import PersonInput
from tests.appointments.factories import build_catalogue

# The browser fixtures of tests/browser for test_browser.py: the function-scoped ones are
# imported; the live server and chromium are started again here with package scope, so they are
# stopped when this package's tests end (two Playwright sessions cannot be open at once, and
# tests/browser starts its own).
from tests.browser.conftest import (  # noqa: F401
    page,
    phone_page,
    running_chromium,
    running_live_server,
    screenshot,
    url,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="package")
def live_server_url(django_db_setup):  # type: ignore[no-untyped-def]
    with running_live_server() as base_url:
        yield base_url


@pytest.fixture(scope="package")
def browser(live_server_url):  # type: ignore[no-untyped-def]
    with running_chromium() as chromium:
        yield chromium


@pytest.fixture(autouse=True)
def _clear_rate_limits() -> None:
    cache.clear()


@pytest.fixture
def catalogue(in_mission_a) -> Service:  # type: ignore[no-untyped-def]
    return build_catalogue()


@pytest.fixture
def counters(catalogue: Service) -> list[Counter]:
    return list(catalogue.counters.all())


def person(number: str = "U1234567", name: str = "Ada Example") -> PersonInput:
    return PersonInput(name, dt.date(1990, 5, 17), number)


def today_in_minutes(minutes: int, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """`minutes` from now, or as many before now when that would be tomorrow in `zone`: a time
    of the mission's today whatever the hour the test runs (tests that put "today's" bookings
    a few minutes ahead failed in the minutes before the mission's midnight)."""
    from django.utils import timezone

    now = timezone.now()
    ahead = now + dt.timedelta(minutes=minutes)
    if ahead.astimezone(zone).date() == now.astimezone(zone).date():
        return ahead
    return now - dt.timedelta(minutes=minutes)


def first_free_slot(service: Service, *, skip: int = 0):  # type: ignore[no-untyped-def]
    from appointments.selectors import slot_list_available

    return slot_list_available(service=service)[skip]


def lottery_round_entered(service: Service, *, day: dt.date, entries: int, language: str = "en"):  # type: ignore[no-untyped-def]
    """An open draw of `service` for `day` (its window open from an hour ago to an hour from
    now), with `entries` people registered (documents L0000000, L0000001...)."""
    from django.utils import timezone

    from appointments import services
    from consulate.kernel.actors import SYSTEM
    from tests.factories import UserFactory

    now = timezone.now()
    lottery_round = services.lottery_round_create(
        service=service, period_start=day, period_end=day,
        window_opens_at=now - dt.timedelta(hours=1), window_closes_at=now + dt.timedelta(hours=1),
        acting_user=SYSTEM,
    )  # fmt: skip
    for n in range(entries):
        user = UserFactory()
        services.lottery_enter(
            lottery_round=lottery_round, person=person(f"L{n:07d}"), user=user,
            language=language, acting_user=user,
        )  # fmt: skip
    return lottery_round


@pytest.fixture
def full_day(in_mission_a):  # type: ignore[no-untyped-def]
    """One counter; every slot of one day booked by someone."""
    from appointments.models import Slot
    from appointments.services import booking_create
    from tests.factories import UserFactory

    service = build_catalogue(counters=1, days=6)
    first = first_free_slot(service, skip=6)  # a day ahead, clear of the notice period
    day = first.starts_at.astimezone(BERLIN).date()
    slots = [s for s in Slot.objects.filter(service=service).order_by("starts_at")
             if s.starts_at.astimezone(BERLIN).date() == day]  # fmt: skip
    bookings = []
    for n, slot in enumerate(slots):
        user = UserFactory()
        bookings.append(
            booking_create(
                slot_id=slot.pk,
                service=service,
                persons=[person(f"F{n:07d}")],
                user=user,
                language="en",
                acting_user=user,
            )
        )
    return service, day, bookings


def lock_awaited(prober: Any, *, query_start: str) -> bool:
    """Whether a statement of this database that starts with `query_start` waits for a lock
    (asked of `prober`, a connection of its own in autocommit), at most 10 s: a two-connection
    test holds a row, starts the other transaction in a thread, and steps on once it waits."""
    for _ in range(100):
        waiting = prober.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND left(query, length(%s)) = %s",
            [query_start, query_start],
        ).fetchone()[0]
        if waiting == 1:
            return True
        time.sleep(0.1)
    return False
