"""factory_boy factories of the appointments app, built on the real services (as SYSTEM for the
mission's configuration, as the citizen for their booking), so that set-up takes the paths
users take."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.db.models import F

from appointments import services
from appointments.models import Booking, Counter, Service, Slot
from appointments.selectors import slot_list_available
from appointments.services import PersonInput
from consulate.kernel.actors import SYSTEM
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


def build_catalogue(
    *, counters: int = 2, start: dt.date | None = None, days: int = 14, **rules: Any
) -> Service:
    """Counters, every-day hours 09:00–12:00 and one service with slots, in the current schema
    (`code` and `name` default to the passport service; `rules` are its other settings)."""
    desks = [
        Counter.objects.filter(name=f"Desk {n}").first() or CounterFactory(name=f"Desk {n}")
        for n in range(1, counters + 1)
    ]
    for weekday in range(7):
        services.opening_hours_set(
            weekday=weekday, spans=[(dt.time(9), dt.time(12))], acting_user=SYSTEM
        )
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


def hours_dropped(booking: Booking) -> Booking:
    """The time of `booking` left outside the mission's opening hours, as `opening_hours_set`
    leaves a booked time its new hours drop (`_slots_follow_hours`: the slot closed, its
    capacity what is booked, `outside_hours`), for that one slot only: other times and other
    bookings stay as they were. The one kind of booking `booking_cancel_by_mission` cancels."""
    Slot.objects.filter(pk=booking.slot_id).update(outside_hours=True, capacity=F("booked"))
    booking.refresh_from_db()
    return booking
