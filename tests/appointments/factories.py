"""factory_boy factories of the appointments app, built on the real services (as SYSTEM for the
mission's configuration, as the citizen for their booking), so that set-up takes the paths
users take."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from appointments import services
from appointments.models import Booking, Counter, Service, Slot
from appointments.selectors import slot_day_counts, slot_list_available, slot_list_available_on
from appointments.services import PersonInput
from consulate.kernel.actors import SYSTEM
from consulate.kernel.reference import day_written_out, day_written_short
from missions.models import Mission
from tests.conftest import text_of, texts_of
from tests.factories import UserFactory


class PersonInputFactory(factory.Factory):
    class Meta:
        model = PersonInput

    full_name = "Ada Example"
    date_of_birth = dt.date(1990, 5, 17)
    document_number = factory.Sequence(lambda n: f"U{n:07d}")


class CounterFactory(factory.Factory):
    class Meta:
        model = Counter

    name = factory.Sequence(lambda n: f"Counter {n}")

    @classmethod
    def _create(cls, model_class: type[Counter], *args: Any, **kwargs: Any) -> Counter:
        return services.counter_create(acting_user=SYSTEM, **kwargs)


class ServiceFactory(factory.Factory):
    """A catalogue entry served by one new counter (`counters=[...]` to choose)."""

    class Meta:
        model = Service

    code = factory.Sequence(lambda n: f"service-{n}")
    name = factory.LazyAttribute(lambda o: f"Service {o.code}")
    counters = factory.LazyFunction(lambda: [CounterFactory()])
    duration_minutes = 30
    buffer_minutes = 0
    max_persons = 3
    horizon_days = 60
    # longer than the cutoff, so that a booking a test makes can always be changed, whatever
    # the time of day the test runs (with 1 hour, late mornings left times inside the cutoff)
    min_notice_hours = 3
    cancel_cutoff_hours = 2

    @classmethod
    def _create(cls, model_class: type[Service], *args: Any, **kwargs: Any) -> Service:
        return services.service_create(acting_user=SYSTEM, **kwargs)


# Every-day hours from midnight to a minute before: with 30-minute times, one starts every half
# hour from 00:00 to 23:00, so a test finds a time a given number of hours from now (within an
# hour of it) whatever the hour it runs.
ROUND_THE_CLOCK = (dt.time(0), dt.time(23, 59))


def build_catalogue(
    *,
    counters: int = 2,
    start: dt.date | None = None,
    days: int = 14,
    hours: tuple[dt.time, dt.time] = (dt.time(9), dt.time(12)),
    **rules: Any,
) -> Service:
    """Counters, every-day `hours` (09:00–12:00) and one service with slots, in the current
    schema (`code` and `name` default to the passport service; `rules` are its other
    settings)."""
    desks = [
        Counter.objects.filter(name=f"Desk {n}").first() or CounterFactory(name=f"Desk {n}")
        for n in range(1, counters + 1)
    ]
    for weekday in range(7):
        services.opening_hours_set(weekday=weekday, spans=[hours], acting_user=SYSTEM)
    rules.setdefault("code", "passport")
    rules.setdefault("name", "Passport application")
    service = ServiceFactory(counters=desks, **rules)
    services.slot_generate(service=service, start=start, days=days, acting_user=SYSTEM)
    return service


class BookingFactory(factory.Factory):
    """A booking of the first free slot of `service` (skipping `skip` free slots), made by
    `user` (a new citizen unless given) for `persons`."""

    class Meta:
        model = Booking

    service = factory.LazyFunction(build_catalogue)
    user = factory.LazyFunction(UserFactory)
    persons = factory.LazyFunction(lambda: [PersonInputFactory()])
    language = "en"
    skip = 0

    @classmethod
    def _create(cls, model_class: type[Booking], *args: Any, **kwargs: Any) -> Booking:
        skip = kwargs.pop("skip", 0)
        service = kwargs["service"]
        slot = kwargs.pop("slot", None) or slot_list_available(service=service)[skip]
        return services.booking_create(slot_id=slot.pk, acting_user=kwargs["user"], **kwargs)


def slot_after(service: Service, ahead: dt.timedelta) -> Slot:
    """The first free time of `service` at least `ahead` from now."""
    starts = timezone.now() + ahead
    return next(slot for slot in slot_list_available(service=service) if slot.starts_at >= starts)


def booking_made_ahead(booking: Booking, ahead: dt.timedelta = dt.timedelta(days=2)) -> Booking:
    """`booking` as if made at least `ahead` of its time (its `created_at` set back, never
    forward: no service books in the past). The reminders send none to a booking made within a
    day of its time (`services.reminders`), which a test booking "now" is or is not depending on
    the hour it runs; a test of the reminder itself books ahead with this."""
    made = min(booking.created_at, booking.slot.starts_at - ahead)
    Booking.objects.filter(pk=booking.pk).update(created_at=made)
    booking.refresh_from_db(fields=["created_at"])
    return booking


def hours_dropped(booking: Booking) -> Booking:
    """The time of `booking` left outside the mission's opening hours, as `opening_hours_set`
    leaves a booked time its new hours drop (`_slots_follow_hours`: the slot closed, its
    capacity what is booked, `outside_hours`), for that one slot only: other times and other
    bookings stay as they were. The one kind of booking `booking_cancel_by_mission` cancels."""
    Slot.objects.filter(pk=booking.slot_id).update(outside_hours=True, capacity=F("booked"))
    booking.refresh_from_db()
    return booking


def visit_page_costs_the_same_for_more_days(client: Client, visit: str, service: Service) -> None:
    """A case's visit page (`visit`, read by `client`) lists the days of `service` (times on
    a few days) for the same number of queries once the service offers times on 28 days."""

    def cost() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            html = client.get(visit).content.decode()
        return len(queries), len([o for o in texts_of(html, "option") if " – " in o])

    client.get(visit)  # the session's first read
    few = cost()
    # when the service offers times on 28 days
    services.slot_generate(service=service, days=28, acting_user=SYSTEM)
    many = cost()
    # then the page lists more days for the same number of queries
    assert many[1] > few[1] >= 2
    assert many[0] == few[0]


# How a case's visit page heads the chosen day's times and counts a day's (6, the catalogue's)
TIMES_ON = {"en": "Times on {}", "tr": "{} tarihindeki saatler"}
TIMES_COUNT = {"en": "6 times", "tr": "6 uygun saat"}


def visit_page_reaches_every_day(
    client: Client, visit: str, *, service: Service, mission: Mission, language: str
) -> list[Slot]:
    """A case's visit page (`visit`, read by `client` in `language`) for `service`, with free
    times on more days than its first 24 times covered: it opens on the first day with a step
    to the next, lists every day with its count, shows the last day's times (returned) in the
    mission's time with a step back, and shows the first day for a `?day=` that is not one."""
    days = list(slot_day_counts(service=service, mission=mission))
    assert len(days) >= 13
    # when the applicant opens the visit page
    html = client.get(visit, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then the first day's times are shown, every day with times can be chosen, and a step
    # leads to the next day
    written = lambda day: TIMES_ON[language].format(day_written_out(day))  # noqa: E731
    with translation.override(language):
        assert text_of(html, "h2", id="times-heading") == written(days[0])
        chosen = [o for o in texts_of(html, "option") if " – " in o]  # not the language's
        assert len(chosen) == len(days)
        assert chosen[-1] == f"{day_written_short(days[-1])} – {TIMES_COUNT[language]}"
        assert f'href="?day={days[1]:%Y-%m-%d}#times-heading"' in html
        assert text_of(html, "a", rel="next") == f"{day_written_short(days[1], year=False)} →"
        assert not texts_of(html, "a", rel="prev")
        # when they choose the last day
        html = client.get(
            visit, {"day": f"{days[-1]:%Y-%m-%d}"}, HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        # then its times are offered, in the mission's time, with a step back and none on
        assert text_of(html, "h2", id="times-heading") == written(days[-1])
        last = slot_list_available_on(service=service, mission=mission, day=days[-1])
        local = [slot.starts_at.astimezone(mission.zone).strftime("%H:%M") for slot in last]
        assert texts_of(html, "button", class_="button-secondary")[1:] == local
        assert text_of(html, "a", rel="prev") == f"← {day_written_short(days[-2], year=False)}"
        assert not texts_of(html, "a", rel="next")
        # and a day that is not one shows the first day's times, never an error
        for typed in ("x", "9999-12-31", "2026-02-30"):
            odd = client.get(visit, {"day": typed}, HTTP_ACCEPT_LANGUAGE=language)
            assert odd.status_code == 200, typed
            assert text_of(odd.content.decode(), "h2", id="times-heading") == written(days[0])
    return last
