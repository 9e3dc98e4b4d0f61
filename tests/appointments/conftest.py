"""Fixtures of the appointments tests: a small catalogue at mission alpha (Berlin), built with
the real services (tests/appointments/factories.py)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

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


@pytest.fixture
def eager_tasks():  # type: ignore[no-untyped-def]
    """Run queued tasks in-process (the worker's job), so their e-mails can be checked."""
    from consulate.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def first_free_slot(service: Service, *, skip: int = 0):  # type: ignore[no-untyped-def]
    from appointments.selectors import slot_list_available

    return slot_list_available(service=service)[skip]
