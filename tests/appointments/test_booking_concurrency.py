"""Invariant 1 under real concurrency: many threads, each with its own database connection and
transaction, book the same few slots far beyond their capacity."""

import threading
from typing import Any
from unittest import mock

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from appointments.models import Booking, BookingPerson, BookingStatus, Slot
from appointments.selectors import slot_list_available
from appointments.services import booking_create
from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError
from tests.appointments.conftest import build_catalogue, lock_awaited, person
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


def test_a_booking_written_outside_any_transaction_on_a_full_slot_leaves_nothing(
    throwaway_mission,
):
    # given a full slot, and a caller that forgot its transaction (autocommit)
    from appointments.services.places import booking_write
    from sync.models import OutboxEvent

    with schema_context(throwaway_mission.schema_name):
        service = build_catalogue(counters=1, days=3)
        slot = slot_list_available(service=service)[0]
        Slot.objects.filter(pk=slot.pk).update(booked=1)
        slot = Slot.objects.select_related("service").get(pk=slot.pk)
        user = UserFactory()
        assert not connection.in_atomic_block
        events = OutboxEvent.objects.count()
        # when it writes a booking there, then it is refused
        with pytest.raises(ApplicationError) as refused:
            booking_write(slot=slot, persons=[person()], user=user, language="en", acting_user=user)
        assert refused.value.code.value == "appointments.slot_full"
        # and no row, history or event of it was committed, and the slot is as it was
        assert Booking.objects.count() == 0
        assert BookingPerson.objects.count() == 0
        assert Booking.history.count() == 0
        assert OutboxEvent.objects.count() == events
        assert Slot.objects.get(pk=slot.pk).booked == 1


def test_a_booking_is_one_statement_committed_on_its_own(throwaway_mission):
    # given a free slot, and a booking made as the API makes it (no transaction around it)
    from sync.models import OutboxEvent

    with schema_context(throwaway_mission.schema_name):
        service = build_catalogue(counters=1, days=3)
        slot = slot_list_available(service=service)[0]
        user = UserFactory()
        assert not connection.in_atomic_block
        real = connections["default"].set_autocommit
        # when it is booked
        with (
            CaptureQueriesContext(connection) as queries,
            mock.patch.object(connections["default"], "set_autocommit", wraps=real) as switched,
        ):
            booking = booking_create(
                slot_id=slot.pk, service=service, persons=[person()], user=user,
                language="en", acting_user=user,
            )  # fmt: skip
        # then no transaction was opened around it (Django's atomic turns autocommit off)
        assert not switched.called
        sent = [q["sql"].lstrip() for q in queries.captured_queries]
        writes = [sql for sql in sent if not sql.startswith("SELECT")]
        assert len(writes) == 1, writes
        assert writes[0].startswith("WITH place AS (UPDATE")
        # and another connection already sees the booking, its person, history, event and place
        other = connection.get_new_connection(connection.get_connection_params())
        try:
            other.execute(f'SET search_path TO "{throwaway_mission.schema_name}"')
            seen = other.execute(
                "SELECT (SELECT count(*) FROM appointments_booking WHERE id = %(b)s),"
                " (SELECT count(*) FROM appointments_bookingperson WHERE booking_id = %(b)s),"
                " (SELECT count(*) FROM appointments_historicalbooking WHERE id = %(b)s),"
                " (SELECT count(*) FROM sync_outboxevent WHERE aggregate_id = %(a)s"
                "  AND topic = 'appointments.booking.created'),"
                " (SELECT booked FROM appointments_slot WHERE id = %(s)s)",
                {"b": booking.pk, "a": str(booking.pk), "s": slot.pk},
            ).fetchone()
        finally:
            other.close()
        assert seen == (1, 1, 1, 1, 1)
        created = OutboxEvent.objects.get(
            topic="appointments.booking.created", aggregate_id=str(booking.pk)
        )
        assert created.actor_id == user.pk


def test_two_admins_moving_the_same_booking_at_once_move_it_once(throwaway_mission):
    """The settings page lists a booking outside the opening hours to two mission admins, who
    each move it to a different time at the same moment: the booking's lock lets one move it,
    and the other, judging it under the lock, finds it within the hours and is refused."""
    import datetime as dt

    from appointments import services
    from consulate.kernel.actors import SYSTEM
    from missions.models import Membership
    from sync.models import OutboxEvent
    from tests.appointments.test_opening_hours_change import _at, _book
    from tests.conftest import make_staff

    # given a booking at 11:30 the new hours (09:00–11:00) leave outside, and two admins
    with schema_context(throwaway_mission.schema_name):
        service = build_catalogue(counters=2, days=5)
        day = throwaway_mission.today() + dt.timedelta(days=3)
        booking = _book(service, _at(service, day, "11:30"), "L0000001")
        services.opening_hours_set(
            weekday=day.weekday(), spans=[(dt.time(9), dt.time(11))], acting_user=SYSTEM
        )
        targets = [_at(service, day, "10:00"), _at(service, day, "10:30")]
    admins = [make_staff(throwaway_mission, "mission_admin") for _ in targets]
    barrier = threading.Barrier(len(admins))
    outcomes: dict[int, str] = {}

    def move(n: int) -> None:
        try:
            with schema_context(throwaway_mission.schema_name):
                barrier.wait()
                try:
                    services.booking_move_by_mission(
                        booking=booking, slot_id=targets[n].pk, acting_user=admins[n]
                    )
                    outcomes[n] = "moved"
                except ApplicationError as error:
                    outcomes[n] = error.code.value
        finally:
            connections.close_all()

    # when both press "Move" at once, each in its own thread and connection
    threads = [threading.Thread(target=move, args=(n,)) for n in range(len(admins))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    try:
        with schema_context(throwaway_mission.schema_name):
            # then one moved it and the other was refused: the hours cover its time now
            assert sorted(outcomes.values()) == ["appointments.within_hours", "moved"]
            (winner,) = [n for n, outcome in outcomes.items() if outcome == "moved"]
            # and it holds one place, at the winner's time; the loser's time is still free
            booking.refresh_from_db()
            assert (booking.slot_id, booking.status) == (targets[winner].pk, BookingStatus.ACTIVE)
            places = dict(
                Slot.objects.filter(pk__in=[t.pk for t in targets]).values_list("pk", "booked")
            )
            assert places == {targets[winner].pk: 1, targets[1 - winner].pk: 0}
            # and one move was recorded, by the winner
            (moved,) = OutboxEvent.objects.filter(
                topic="appointments.booking.rescheduled", aggregate_id=booking.pk
            )
            assert moved.actor_id == admins[winner].pk
    finally:
        connection.set_schema_to_public()
        Membership.objects.filter(user__in=admins).delete()
        User.objects.filter(pk__in=[booking.user_id, *(a.pk for a in admins)]).delete()


def _locked_while_changed(
    schema: str, *, change: tuple[str, list[object]], lock: Any, waits_on: str
) -> list[object]:
    """What `lock()` gave (or its error), run in a transaction of its own while another
    connection holds `change` uncommitted; the change commits once `lock` waits for it (its
    statement starts with `waits_on`)."""
    from django.db import transaction

    params = connection.get_connection_params()
    changer = connection.get_new_connection(params)
    prober = connection.get_new_connection(params)
    found: list[object] = []

    def locking() -> None:
        try:
            with schema_context(schema), transaction.atomic():
                found.append(lock())
        except Exception as error:
            found.append(error)
        finally:
            connections.close_all()

    try:
        for each in (changer, prober):
            each.autocommit = True
            each.execute(f'SET search_path TO "{schema}"')
        changer.execute("BEGIN")
        changer.execute(*change)
        locker = threading.Thread(target=locking)
        locker.start()
        assert lock_awaited(prober, query_start=waits_on)
        changer.execute("COMMIT")
        locker.join(timeout=30)
    finally:
        changer.close()
        prober.close()
    return found


def test_a_booking_moved_while_its_lock_is_awaited_is_locked_at_its_new_time(throwaway_mission):
    """`locks.booking_lock` joins the slot: PostgreSQL re-checks a row it waited for against the
    slot row it read before the wait, so a booking moved meanwhile matched nothing (a 500 for
    the second of two admins moving it). It is read again, at its new slot."""
    import datetime as dt

    from appointments import locks
    from tests.appointments.test_opening_hours_change import _at, _book

    schema = throwaway_mission.schema_name
    with schema_context(schema):
        service = build_catalogue(counters=2, days=5)
        day = throwaway_mission.today() + dt.timedelta(days=3)
        booking = _book(service, _at(service, day, "11:30"), "L0000001")
        new_slot = _at(service, day, "10:00")
    try:
        # when the booking's lock is asked for while a move is not committed yet
        found = _locked_while_changed(
            schema,
            change=(
                "UPDATE appointments_booking SET slot_id = %s WHERE id = %s",
                [new_slot.pk, booking.pk],
            ),
            lock=lambda: locks.booking_lock(pk=booking.pk).slot_id,
            waits_on='SELECT "appointments_booking".',
        )
        # then it has the booking, at the slot it was moved to
        assert found == [new_slot.pk]
    finally:
        connection.set_schema_to_public()
        User.objects.filter(pk=booking.user_id).delete()


def test_a_waitlist_entry_offered_while_its_lock_is_awaited_comes_with_its_slot(
    throwaway_mission,
):
    """`locks.waitlist_entry_lock` joins the entry's slot through an outer join (an entry
    waiting holds none): a row it waited for is re-checked against the slot read before the
    wait, so an entry offered a place meanwhile came back holding no slot, and leaving then
    gave nothing back (the held place was lost). It is read again, with the slot it holds."""
    import datetime as dt

    from appointments import locks, services
    from tests.appointments.test_opening_hours_change import _book

    schema = throwaway_mission.schema_name
    with schema_context(schema):
        service = build_catalogue(counters=1, days=5)
        day = throwaway_mission.today() + dt.timedelta(days=3)
        slots = [s for s in Slot.objects.filter(service=service).order_by("starts_at")
                 if s.starts_at.astimezone(throwaway_mission.zone).date() == day]  # fmt: skip
        bookings = [_book(service, slot, f"Q{n:07d}") for n, slot in enumerate(slots)]
        user = UserFactory()
        entry = services.waitlist_join(
            service=service, person=person("Q9999999"), day_from=day, day_to=day, user=user,
            language="en", acting_user=user,
        )  # fmt: skip
        held = slots[0]

    def lock() -> tuple[str, int | None, int | None]:
        locked = locks.waitlist_entry_lock(pk=entry.pk)
        return locked.status, locked.slot_id, locked.slot and locked.slot.pk

    try:
        # when the entry's lock is asked for while an offer to it is not committed yet
        found = _locked_while_changed(
            schema,
            change=(
                "UPDATE appointments_waitlistentry SET slot_id = %s, status = 'offered',"
                " offer_token = 'offered-meanwhile', offer_expires_at = now() + interval '1 hour'"
                " WHERE id = %s",
                [held.pk, entry.pk],
            ),
            lock=lock,
            waits_on='SELECT "appointments_waitlistentry".',
        )
        # then it comes offered, with the slot it holds
        assert found == [("offered", held.pk, held.pk)]
    finally:
        connection.set_schema_to_public()
        User.objects.filter(pk__in=[user.pk, *(b.user_id for b in bookings)]).delete()
