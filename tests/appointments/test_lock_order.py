"""One lock order for every transaction that touches slots and records events (appointments/
locks.py): bookings, then slots, then the mission's outbox counter, which each event takes
until COMMIT. A transaction that took the counter and then waited for a slot (giving a place
back after its event) deadlocked with a booking of that slot, which holds the slot from its
statement and then writes its event. Read from the statements each service sends, in order."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments import services
from appointments.models import ClosureKind, ReleaseMode
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from tests.appointments.conftest import (
    BERLIN,
    build_catalogue,
    first_free_slot,
    lock_awaited,
    lottery_round_entered,
    person,
)
from tests.appointments.test_services_waitlist import _join
from tests.factories import UserFactory

EVENT = 'INSERT INTO "sync_outboxevent"'


def _touches_slots(sql: str) -> bool:
    """A statement that locks slot rows: the place's UPDATE (alone or in the booking's
    statement) or a SELECT … FOR UPDATE of slots."""
    return 'UPDATE "appointments_slot"' in sql or (
        'FROM "appointments_slot"' in sql and "FOR UPDATE" in sql
    )


def _order(run) -> list[str]:
    """ "lock" (slots locked FOR UPDATE), "slot" (a place's UPDATE) and "event", in order."""
    with CaptureQueriesContext(connection) as queries:
        run()
    kinds = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if 'FROM "appointments_slot"' in sql and "FOR UPDATE" in sql:
            kinds.append("lock")
        elif _touches_slots(sql):
            kinds.append("slot")
        elif sql.startswith(EVENT):
            kinds.append("event")
    return kinds


def _slots_locked_first(kinds: list[str]) -> None:
    """A transaction that touches several slots locks them all before its first event; its
    places' UPDATEs after an event are of slots it already holds."""
    assert kinds[0] == "lock", kinds
    assert "event" in kinds


def _slots_before_events(kinds: list[str]) -> None:
    assert "slot" in kinds
    assert "event" in kinds
    first_event = kinds.index("event")
    assert "slot" not in kinds[first_event:], kinds


@pytest.fixture
def offered(full_day):
    """A day with every place taken; one cancelled, its place held for the first in line."""
    service, day, bookings = full_day
    entry = _join(service, day, "W0000001")
    services.booking_cancel(booking=bookings[0], acting_user=SYSTEM)
    entry.refresh_from_db()
    return service, day, entry


def test_a_booking_takes_its_slot_before_the_counter(throwaway_mission):
    """The booking's one statement (booking_statement.py) holds the slot's row while it waits
    for the outbox counter: read from the locks, not from the SQL's text (PostgreSQL chooses
    the order of a statement's parts; the booking's rows are inserted from the place's)."""
    import threading

    from django.db import connections
    from django_tenants.utils import schema_context

    from appointments.selectors import slot_list_available

    schema = throwaway_mission.schema_name
    with schema_context(schema):
        service = build_catalogue(counters=2, days=3)
        slot = slot_list_available(service=service)[0]
    user = UserFactory()
    params = connection.get_connection_params()
    holder = connection.get_new_connection(params)  # holds the outbox counter, as an event would
    prober = connection.get_new_connection(params)
    outcome: list[object] = []

    def book() -> None:
        try:
            with schema_context(schema):
                outcome.append(services.booking_create(
                    slot_id=slot.pk, service=service, persons=[person()], user=user,
                    language="en", acting_user=user,
                ))  # fmt: skip
        except Exception as error:
            outcome.append(error)
        finally:
            connections.close_all()

    try:
        for each in (holder, prober):
            each.autocommit = True
            each.execute(f'SET search_path TO "{schema}"')
        holder.execute("BEGIN")
        holder.execute("SELECT last_seq FROM sync_outboxcounter WHERE id = 1 FOR UPDATE")
        # when a booking runs while the counter is held
        booking = threading.Thread(target=book)
        booking.start()
        assert lock_awaited(prober, query_start="WITH place AS (UPDATE")
        # then it already holds the slot's row: another taker cannot lock it
        prober.execute("BEGIN")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            prober.execute(
                "SELECT 1 FROM appointments_slot WHERE id = %s FOR UPDATE NOWAIT", [slot.pk]
            )
        prober.execute("ROLLBACK")
        # and once the counter is free, it books
        holder.execute("ROLLBACK")
        booking.join(timeout=30)
        assert outcome, "the booking did not finish"
        assert not isinstance(outcome[0], Exception), outcome[0]
    finally:
        holder.close()
        prober.close()
        connection.set_schema_to_public()
        User.objects.filter(pk=user.pk).delete()


def test_an_expiring_offer_gives_its_place_back_before_its_event(offered):
    _service, _day, entry = offered
    later = entry.offer_expires_at + dt.timedelta(seconds=1)
    _slots_before_events(_order(lambda: services.waitlist_expire_offers(now=later)))


def test_leaving_with_an_offer_gives_the_place_back_before_the_event(offered):
    _service, _day, entry = offered
    user = User.objects.get(pk=entry.user_id)
    _slots_before_events(_order(lambda: services.waitlist_leave(entry=entry, acting_user=user)))


def test_a_closure_locks_the_days_slots_before_its_first_cancellation(catalogue, citizen):
    slot = first_free_slot(catalogue, skip=6)
    services.booking_create(
        slot_id=slot.pk, service=catalogue, persons=[person()], user=citizen, language="en",
        acting_user=citizen,
    )  # fmt: skip
    other = UserFactory()
    services.booking_create(
        slot_id=first_free_slot(catalogue, skip=7).pk, service=catalogue,
        persons=[person("U7654321")], user=other, language="en", acting_user=other,
    )  # fmt: skip
    day = slot.starts_at.astimezone(BERLIN).date()
    _slots_locked_first(_order(lambda: services.closure_create(
        date=day, kind=ClosureKind.EMERGENCY, reason="Power cut", acting_user=SYSTEM,
    )))  # fmt: skip


def test_new_opening_hours_lock_the_slots_they_change_before_their_first_event(catalogue, citizen):
    # (the admin's cancel of a booking they leave outside holds its slot, then writes its event)
    slot = first_free_slot(catalogue, skip=6)
    services.booking_create(
        slot_id=slot.pk, service=catalogue, persons=[person()], user=citizen, language="en",
        acting_user=citizen,
    )  # fmt: skip
    weekday = slot.starts_at.astimezone(BERLIN).weekday()
    _slots_locked_first(_order(lambda: services.opening_hours_set(
        weekday=weekday, spans=[(dt.time(9), dt.time(10))], acting_user=SYSTEM,
    )))  # fmt: skip


def test_a_draw_locks_every_slot_it_may_book_before_its_first_event(in_mission_a):
    service = build_catalogue(
        counters=1, code="visa", name="Visa submission", release_mode=ReleaseMode.LOTTERY, days=10
    )
    day = (timezone.now() + dt.timedelta(days=3)).date()
    lottery_round = lottery_round_entered(service, day=day, entries=8)
    kinds = _order(lambda: services.lottery_draw(
        lottery_round=lottery_round, acting_user=SYSTEM, now=lottery_round.window_closes_at
    ))  # fmt: skip
    _slots_locked_first(kinds)
