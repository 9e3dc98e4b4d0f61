"""Invariant 1 under real concurrency: many threads, each with its own database connection and
transaction, book the same few slots far beyond their capacity."""

import threading

from django.db import connection, connections
from django_tenants.utils import schema_context

from appointments.models import Booking, BookingPerson, BookingStatus, Slot
from appointments.selectors import slot_list_available
from appointments.services import booking_create
from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError
from tests.appointments.conftest import build_catalogue, person
from tests.factories import UserFactory

THREADS = 40
SLOTS = 3
CAPACITY = 2  # counters


def test_concurrent_bookings_never_oversell_and_one_identity_gets_one_booking(throwaway_mission):
    # given 3 slots of capacity 2, and 40 accounts; 8 of them share one passport number
    with schema_context(throwaway_mission.schema_name):
        service = build_catalogue(counters=CAPACITY, days=3)
        slots = slot_list_available(service=service)[:SLOTS]
    users = [UserFactory() for _ in range(THREADS)]
    shared = "S0000001"
    numbers = [shared if n % 5 == 0 else f"P{n:07d}" for n in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            with schema_context(throwaway_mission.schema_name):
                barrier.wait()
                try:
                    booking_create(
                        slot_id=slots[n % SLOTS].pk, service=service,
                        persons=[person(numbers[n])], user=users[n], language="en",
                        acting_user=users[n],
                    )  # fmt: skip
                    result = "booked"
                except ApplicationError as error:
                    result = error.code.value
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    # when they all book at once, each in its own thread and connection
    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    try:
        with schema_context(throwaway_mission.schema_name):
            # then no slot holds more than its capacity, every slot ends full,
            rows = list(Slot.objects.filter(pk__in=[s.pk for s in slots]))
            assert all(slot.booked == slot.capacity == CAPACITY for slot in rows)
            counts = {
                slot.pk: Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE).count()
                for slot in rows
            }
            assert counts == {slot.pk: CAPACITY for slot in rows}
            # the shared passport holds at most one booking,
            holders = BookingPerson.objects.filter(document_index__matches=shared, is_holding=True)
            assert holders.count() <= 1
            # and everyone else was told why
            assert outcomes.count("booked") == SLOTS * CAPACITY
            assert set(outcomes) <= {
                "booked",
                "appointments.slot_full",
                "appointments.already_booked",
            }
            assert len(outcomes) == THREADS
    finally:
        connection.set_schema_to_public()
        User.objects.filter(pk__in=[u.pk for u in users]).delete()
