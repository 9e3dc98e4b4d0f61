"""HQ's bookings register (appointments/register/): built from the booking events a mission
writes, by `sync.registry.events_project`, the way HQ's apply calls it. Each test tries to make
it count something twice, lose something, or take a bad payload into its sums."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from appointments import services
from appointments.models import Slot
from appointments.register import selectors
from appointments.register.models import (
    BookingDay,
    BookingMonth,
    RegisteredBooking,
    RegisteredStatus,
)
from sync.hq.models import SkippedEvent
from sync.registry import events_project
from tests.appointments.conftest import person
from tests.appointments.factories import hours_dropped
from tests.conftest import make_staff
from tests.registers import (
    central_log,
    outbox_on_the_wire,
    project_again,
    shuffled_batches,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def booking_events() -> list[dict]:
    """The current schema's booking events, in seq order, on the wire."""
    return outbox_on_the_wire("appointments.booking.")


def register_state() -> tuple[list, list]:
    bookings = list(
        RegisteredBooking.objects.order_by("mission", "booking_id").values_list(
            "mission", "booking_id", "reference", "service", "starts_at", "day", "persons",
            "status", "booked_at", "channel", "created_seq", "starts_seq", "status_seq",
            "last_seq",
        )
    )  # fmt: skip
    days = list(
        BookingDay.objects.order_by("mission", "service", "day").values_list(
            "mission", "service", "day", "booked", "persons", "cancelled", "cancelled_by_mission",
            "checked_in", "served", "no_show", "lead_days", "online", "counter",
        )
    )  # fmt: skip
    assert_months_are_the_days_summed(days)
    # a day every booking has left keeps its row, at zero: the same register as no row
    return bookings, [day for day in days if any(day[3:])]


def assert_months_are_the_days_summed(days: list[tuple]) -> None:
    """`BookingMonth`, kept by the same batches, holds the sums of `BookingDay` per month."""
    summed: dict[tuple, list[int]] = {}
    for mission, service, day, *counts in days:
        key = (mission, service, day.replace(day=1))
        summed[key] = [a + b for a, b in zip(summed.get(key, [0] * 10), counts, strict=True)]
    months = {
        (m.mission, m.service, m.month): [
            m.booked, m.persons, m.cancelled, m.cancelled_by_mission, m.checked_in, m.served,
            m.no_show, m.lead_days, m.online, m.counter,
        ]
        for m in BookingMonth.objects.all()
    }  # fmt: skip
    assert {k: v for k, v in months.items() if any(v)} == {
        k: v for k, v in summed.items() if any(v)
    }


def _ahead(service, n: int):
    """The n-th free slot at least two days ahead (beyond any cutoff, whatever the hour)."""
    from appointments.selectors import slot_list_available

    later = [s for s in slot_list_available(service=service)
             if s.starts_at > timezone.now() + dt.timedelta(days=2)]  # fmt: skip
    return later[n]


def _book(service, user, *, skip=0, persons=None, acting_user=None):
    slot = _ahead(service, skip)
    return services.booking_create(
        slot_id=slot.pk, service=service, persons=persons or [person()], user=user,
        language="en", acting_user=acting_user or user,
    )  # fmt: skip


def _to_today(booking, hour: int) -> None:
    """Move the booking's slot (no event: a test's shortcut) to `hour` of the mission's today,
    so the counter can check it in."""
    noon = dt.datetime.combine(timezone.now().astimezone(BERLIN).date(), dt.time(hour), BERLIN)
    Slot.objects.filter(pk=booking.slot_id).update(
        starts_at=noon, ends_at=noon + dt.timedelta(minutes=30)
    )
    booking.refresh_from_db()


@pytest.fixture
def mission_day(catalogue, citizen, mission_a):
    """A day of alpha's booking events, made by the real services: a booking for two moved and
    then cancelled; one checked in, called and served; one checked in and left; one that
    nobody came to; one booked by staff and cancelled by the mission. Returns (events,
    bookings by name)."""
    officer_a = make_staff(mission_a, "mission_admin")
    moved = _book(
        catalogue, citizen, persons=[person("M0000001"), person("M0000002", "Bo Example")]
    )
    services.booking_reschedule(booking=moved, slot_id=_ahead(catalogue, 8).pk, acting_user=citizen)
    services.booking_cancel(booking=moved, acting_user=citizen)
    served = _book(catalogue, citizen, skip=1, persons=[person("S0000001")])
    waiting = _book(catalogue, citizen, skip=2, persons=[person("W0000001")])
    absent = _book(catalogue, citizen, skip=3, persons=[person("A0000001")])
    # made by staff on the citizen's behalf (at the counter), the others online
    dropped = _book(catalogue, citizen, skip=4, persons=[person("D0000001")], acting_user=officer_a)
    for hour, booking in ((13, served), (14, waiting)):
        _to_today(booking, hour)
        services.booking_check_in(booking=booking, acting_user=officer_a)
    assert services.booking_call_next(acting_user=officer_a).pk == served.pk
    services.booking_mark_served(booking=served, acting_user=officer_a)
    Slot.objects.filter(pk=absent.slot_id).update(
        starts_at=timezone.now() - dt.timedelta(hours=2),
        ends_at=timezone.now() - dt.timedelta(hours=1),
    )
    services.booking_mark_no_show(booking=absent, acting_user=officer_a)
    services.booking_cancel_by_mission(booking=hours_dropped(dropped), acting_user=officer_a)
    events = booking_events()
    connection.set_schema_to_public()
    names = {"moved": moved, "served": served, "waiting": waiting, "absent": absent}
    return events, {**names, "dropped": dropped}


def _created(events: list[dict], booking) -> dict:
    (created,) = [
        e for e in events
        if e["aggregate_id"] == str(booking.pk) and e["topic"] == "appointments.booking.created"
    ]  # fmt: skip
    return created


def _local_day(moment: str, zone=BERLIN) -> dt.date:
    return dt.datetime.fromisoformat(moment).astimezone(zone).date()


def test_a_mission_day_is_registered_booking_by_booking_and_summed_per_day(mission_day):
    # given the events of a mission day, as alpha wrote them
    events, bookings = mission_day
    assert {e["topic"].rsplit(".", 1)[1] for e in events} == {
        "created", "rescheduled", "cancelled", "checked_in", "called", "served", "no_show",
        "cancelled_by_mission",
    }  # fmt: skip
    # when HQ projects them
    events_project(mission="alpha", events=events)
    # then each booking is registered with its last status, service, time and persons
    rows = {r.booking_id: r for r in RegisteredBooking.objects.filter(mission="alpha")}
    expected_status = {
        "moved": RegisteredStatus.CANCELLED,
        "served": RegisteredStatus.SERVED,
        "waiting": RegisteredStatus.CHECKED_IN,
        "absent": RegisteredStatus.NO_SHOW,
        "dropped": RegisteredStatus.CANCELLED_BY_MISSION,
    }
    for name, booking in bookings.items():
        row = rows[str(booking.pk)]
        assert (row.reference, row.service, row.status) == (
            booking.reference, "passport", expected_status[name],
        ), name  # fmt: skip
    moved = rows[str(bookings["moved"].pk)]
    (rescheduled,) = [e for e in events if e["topic"] == "appointments.booking.rescheduled"]
    assert rescheduled["version"] == 2
    assert moved.starts_at == dt.datetime.fromisoformat(rescheduled["payload"]["starts_at"])
    assert moved.day == _local_day(rescheduled["payload"]["starts_at"])
    assert moved.persons == 2
    created = _created(events, bookings["moved"])
    assert moved.booked_at == dt.datetime.fromisoformat(created["occurred_at"])
    assert moved.last_seq == max(e["seq"] for e in events if e["aggregate_id"] == moved.booking_id)
    # and each day sums what became of the bookings held for it, on the day each is held now
    expected: dict[dt.date, dict[str, int]] = {}
    for name, booking in bookings.items():
        row = rows[str(booking.pk)]
        day = expected.setdefault(
            row.day, dict.fromkeys(["booked", "persons", "lead_days", *expected_status], 0)
        )
        day["booked"] += 1
        day["persons"] += row.persons
        day["lead_days"] += (row.day - row.booked_at.astimezone(BERLIN).date()).days
        day[name] += 1
    got = {
        d.day: {
            "booked": d.booked, "persons": d.persons, "lead_days": d.lead_days,
            "moved": d.cancelled, "served": d.served, "waiting": d.checked_in,
            "absent": d.no_show, "dropped": d.cancelled_by_mission,
        }
        for d in BookingDay.objects.filter(mission="alpha", service="passport")
    }  # fmt: skip
    assert got == expected
    assert sum(d["persons"] for d in got.values()) == 6
    # four booked online by the citizen, one by staff at the counter
    assert {row.booking_id: row.channel for row in rows.values()} == {
        str(booking.pk): "counter" if name == "dropped" else "online"
        for name, booking in bookings.items()
    }
    days = BookingDay.objects.filter(mission="alpha")
    assert (sum(d.online for d in days), sum(d.counter for d in days)) == (4, 1)
    # the old day of the moved booking holds nothing of it any more
    old_day = _local_day(created["payload"]["starts_at"])
    assert old_day != moved.day
    assert not SkippedEvent.objects.exists()


def test_a_batch_applied_twice_or_again_in_pieces_changes_nothing(mission_day):
    # given the register after a mission day
    events, _ = mission_day
    events_project(mission="alpha", events=events)
    after_once = register_state()
    # when the same events come again: whole, one by one, and the last half again
    project_again("alpha", events)
    # then nothing changed
    assert register_state() == after_once


def test_any_order_and_any_split_into_batches_gives_the_same_register(mission_day):
    # given the register the events give in their order
    events, _ = mission_day
    events_project(mission="alpha", events=events)
    in_order = register_state()
    for seed in range(25):
        rng = random.Random(seed)
        with transaction.atomic():
            RegisteredBooking.objects.all().delete()
            BookingDay.objects.all().delete()
            BookingMonth.objects.all().delete()
            # when they come shuffled, some twice, split into batches at random points
            for batch in shuffled_batches(events, rng):
                events_project(mission="alpha", events=batch)
            # then the register is the same
            assert register_state() == in_order, f"seed {seed}"
            transaction.set_rollback(True)


def test_events_of_a_booking_whose_creation_is_missing_wait_for_it(mission_day):
    # given the events of the moved-and-cancelled booking, without its `created`
    events, bookings = mission_day
    moved = str(bookings["moved"].pk)
    later = [
        e for e in events
        if e["aggregate_id"] == moved and e["topic"] != "appointments.booking.created"
    ]  # fmt: skip
    # when HQ gets them first (reconciliation hands the missing one later)
    events_project(mission="alpha", events=later)
    # then the booking is registered with what they say, and counted in no day yet
    row = RegisteredBooking.objects.get(mission="alpha", booking_id=moved)
    assert (row.status, row.created_seq, row.persons) == (RegisteredStatus.CANCELLED, None, None)
    assert row.service == "passport"  # the move said so
    assert not BookingDay.objects.exists()
    # when `created` arrives at last
    events_project(mission="alpha", events=[_created(events, bookings["moved"])])
    # then it counts once, on the day it was moved to, as cancelled
    row.refresh_from_db()
    assert row.status == RegisteredStatus.CANCELLED
    (day,) = BookingDay.objects.filter(mission="alpha")
    assert (day.day, day.booked, day.persons, day.cancelled) == (row.day, 1, 2, 1)


def _synthetic(seq: int, topic: str, payload: dict, *, aggregate_id="9001", version=1) -> dict:
    """An event shaped as the services write it (appointments/services/*.py)."""
    return {
        "seq": seq,
        "topic": f"appointments.booking.{topic}",
        "aggregate_type": "booking",
        "aggregate_id": aggregate_id,
        "payload": payload,
        "version": version,
        "actor_id": None,
        "occurred_at": "2026-12-01T10:00:00.000000Z",
    }


def _created_payload(**overrides) -> dict:
    payload = {
        "reference": "BK-TEST-1",
        "service": "visa",
        "starts_at": "2026-12-10T23:30:00+00:00",
        "persons": 1,
    }
    return {**payload, **overrides}


def test_days_are_the_missions_own_dates(mission_b):
    # given a booking at Tokyo for 08:30 on the 11th there (23:30 UTC on the 10th), booked on
    # the 1st at 19:00 Tokyo time
    event = _synthetic(1, "created", _created_payload())
    # when HQ projects it for beta
    events_project(mission="beta", events=[event])
    # then it is held on the 11th, booked ten days ahead
    (day,) = BookingDay.objects.filter(mission="beta")
    assert (day.day, day.booked, day.lead_days) == (dt.date(2026, 12, 11), 1, 10)
    (month,) = BookingMonth.objects.filter(mission="beta")
    assert (month.month, month.booked, month.lead_days) == (dt.date(2026, 12, 1), 1, 10)


@pytest.mark.parametrize(
    ("topic", "payload", "version", "reason"),
    [
        ("created", _created_payload(persons="2"), 1, "persons"),
        ("created", _created_payload(persons=2.5), 1, "persons"),
        ("created", _created_payload(persons=True), 1, "persons"),
        ("created", _created_payload(persons=10**12), 1, "persons"),
        ("created", _created_payload(starts_at="next tuesday"), 1, "starts_at"),
        ("created", _created_payload(starts_at="2026-12-10T09:00:00"), 1, "time zone"),
        ("created", _created_payload(service=""), 1, "service"),
        ("created", _created_payload(reference="x\x00y"), 1, "reference"),
        ("created", {"reference": "BK-TEST-1"}, 1, "service"),
        ("created", _created_payload(), 7, "version"),
        ("rescheduled", {"reference": "BK-TEST-1", "starts_at": []}, 2, "service"),
        ("cancelled", ["BK-TEST-1"], 1, "payload"),
    ],
)
def test_an_event_that_breaks_its_contract_is_skipped_and_the_rest_applied(
    mission_a, topic, payload, version, reason
):
    # given a batch with a good booking before and after a broken event
    good_before = _synthetic(
        1, "created", _created_payload(reference="BK-GOOD-1"), aggregate_id="1"
    )
    broken = _synthetic(2, topic, payload, aggregate_id="2", version=version)
    good_after = _synthetic(3, "created", _created_payload(reference="BK-GOOD-3"), aggregate_id="3")
    # when HQ projects it
    events_project(mission="alpha", events=[good_before, broken, good_after])
    # then the broken one is recorded with its reason, and the good ones are counted
    (skipped,) = SkippedEvent.objects.all()
    assert (skipped.mission, skipped.seq, skipped.topic, skipped.projector) == (
        "alpha", 2, broken["topic"], "appointments.bookings",
    )  # fmt: skip
    assert reason in skipped.reason
    assert set(RegisteredBooking.objects.values_list("booking_id", flat=True)) == {"1", "3"}
    (day,) = BookingDay.objects.all()
    assert (day.booked, day.persons) == (2, 2)
    # and the sums, read by raw SQL, are whole numbers of the good bookings only
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(booked), sum(persons), pg_typeof(sum(persons))::text"
            " FROM appointments_register_bookingday"
        )
        assert cursor.fetchone() == (2, 2, "bigint")
    # and the same broken event again is skipped once
    events_project(mission="alpha", events=[broken])
    assert SkippedEvent.objects.count() == 1


@pytest.mark.parametrize(
    "update",
    [
        "SET cancelled = booked + 1",
        "SET served = -1",
        "SET persons = 0",
        "SET checked_in = 1, served = booked",
    ],
)
@pytest.mark.parametrize("table", ["bookingday", "bookingmonth"])
def test_the_database_refuses_day_sums_that_cannot_be(mission_a, update, table):
    # given a registered day
    events_project(mission="alpha", events=[_synthetic(1, "created", _created_payload())])
    # when raw SQL makes it say more came of the bookings than were made
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE appointments_register_{table} {update}")


def test_the_database_refuses_a_created_booking_without_its_facts(mission_a):
    events_project(mission="alpha", events=[_synthetic(1, "created", _created_payload())])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE appointments_register_registeredbooking SET day = NULL")


def test_a_move_of_version_1_counts_nothing_twice(mission_a):
    # given a v1 move as the services wrote it before moves kept the row: the old booking
    # cancelled, a new one created, and `rescheduled` on the new one naming the old
    old = _synthetic(1, "created", _created_payload(reference="BK-OLD"), aggregate_id="1")
    events = [
        old,
        _synthetic(2, "cancelled", {"reference": "BK-OLD"}, aggregate_id="1"),
        _synthetic(3, "created", _created_payload(reference="BK-NEW"), aggregate_id="2"),
        _synthetic(4, "rescheduled", {"reference": "BK-NEW", "previous": "BK-OLD"},
                   aggregate_id="2"),
    ]  # fmt: skip
    # when HQ projects them
    events_project(mission="alpha", events=events)
    # then the new booking is held, the old one cancelled, and nothing is skipped
    statuses = dict(RegisteredBooking.objects.values_list("reference", "status"))
    assert statuses == {"BK-OLD": "cancelled", "BK-NEW": "booked"}
    (day,) = BookingDay.objects.all()
    assert (day.booked, day.cancelled) == (2, 1)
    assert not SkippedEvent.objects.exists()


def test_a_booking_ended_by_an_early_visit_counts_as_served_not_cancelled(mission_a):
    # given two bookings the mission cancelled: one for new opening hours, one because the
    # person's case recorded the visit before the appointment's day
    events = [
        _synthetic(1, "created", _created_payload(reference="BK-HOURS"), aggregate_id="1"),
        _synthetic(2, "cancelled_by_mission",
                   {"reference": "BK-HOURS", "closure": None, "kind": "opening_hours"},
                   aggregate_id="1"),
        _synthetic(3, "created", _created_payload(reference="BK-EARLY"), aggregate_id="2"),
        _synthetic(4, "cancelled_by_mission",
                   {"reference": "BK-EARLY", "closure": None, "kind": "visit_recorded"},
                   aggregate_id="2"),
    ]  # fmt: skip
    # when HQ projects them
    events_project(mission="alpha", events=events)
    # then the first is the mission's cancellation and the second a person served
    statuses = dict(RegisteredBooking.objects.values_list("reference", "status"))
    assert statuses == {"BK-HOURS": "cancelled_by_mission", "BK-EARLY": "served"}
    (day,) = BookingDay.objects.all()
    assert (day.booked, day.cancelled_by_mission, day.served) == (2, 1, 1)
    assert not SkippedEvent.objects.exists()


def test_missions_do_not_mix(mission_a):
    event = _synthetic(1, "created", _created_payload())
    events_project(mission="alpha", events=[event])
    events_project(mission="beta", events=[event])
    assert RegisteredBooking.objects.filter(booking_id="9001").count() == 2
    assert sorted(BookingDay.objects.values_list("mission", "day")) == [
        ("alpha", dt.date(2026, 12, 11)),  # 00:30 in Berlin
        ("beta", dt.date(2026, 12, 11)),
    ]


def test_hq_pages_read_the_register_in_one_query(mission_day, django_assert_num_queries):
    # given a mission day registered
    events, bookings = mission_day
    events_project(mission="alpha", events=events)
    days = sorted(BookingDay.objects.values_list("day", flat=True))
    # when HQ's pages read it, then each read is one query
    with django_assert_num_queries(1):
        per_day = list(selectors.booking_days(mission="alpha", date_from=days[0], date_to=days[-1]))
    with django_assert_num_queries(1):
        per_mission = selectors.booking_totals_per_mission(date_from=days[0], date_to=days[-1])
    with django_assert_num_queries(1):
        per_month = selectors.booking_totals_per_mission_per_month(
            date_from=days[0], date_to=days[-1]
        )
    with django_assert_num_queries(1):
        per_service = selectors.booking_totals_per_service(
            mission="alpha", date_from=days[0], date_to=days[-1]
        )
    assert sum(d.booked for d in per_day) == 5
    (alpha,) = per_mission
    assert (alpha["mission"], alpha["booked"], alpha["persons"], alpha["served"]) == (
        "alpha", 5, 6, 1,
    )  # fmt: skip
    assert alpha["mean_lead_days"] == alpha["lead_days"] / 5
    assert sum(m["booked"] for m in per_month) == 5
    assert sum(m["lead_days"] for m in per_month) == alpha["lead_days"]
    assert [row["service"] for row in per_service] == ["passport"]
    found = selectors.registered_booking_get(
        mission="alpha", reference=bookings["served"].reference
    )
    assert found is not None
    assert found.status == RegisteredStatus.SERVED


def test_the_projector_is_registered_for_every_booking_topic():
    from sync.registry import projectors

    (mine,) = [p for p in projectors() if p.name == "appointments.bookings"]
    assert mine.topics == {
        f"appointments.booking.{verb}"
        for verb in (
            "created", "cancelled", "cancelled_by_mission", "rescheduled", "checked_in",
            "called", "served", "no_show",
        )
    }  # fmt: skip


@pytest.mark.parametrize(
    "envelope",
    [
        {"aggregate_id": "12\x0034"},
        {"aggregate_id": ""},
        {"aggregate_id": 9001},
        {"seq": 2**70},
        {"seq": "2"},
        {"version": True},
        {"occurred_at": "9999-12-31T23:59:59.999999-14:00"},
        {"payload": _created_payload(starts_at="0001-01-01T00:00:00+14:00")},
    ],
)
def test_a_broken_envelope_is_skipped_without_stopping_the_batch(mission_a, envelope):
    # given a broken event between two good ones
    broken = {**_synthetic(2, "created", _created_payload(reference="BK-2")), **envelope}
    batch = [
        _synthetic(1, "created", _created_payload(reference="BK-1"), aggregate_id="1"),
        broken,
        _synthetic(3, "created", _created_payload(reference="BK-3"), aggregate_id="3"),
    ]
    # when HQ projects them, then the good ones are registered and the broken one recorded
    events_project(mission="alpha", events=batch)
    assert set(RegisteredBooking.objects.values_list("reference", flat=True)) == {"BK-1", "BK-3"}
    assert SkippedEvent.objects.count() == 1


def test_the_register_is_built_again_from_hqs_event_log(mission_day):
    from appointments.register.projector import bookings_rebuild

    # given a mission day applied at HQ: in its event log and in the register
    events, _ = mission_day
    central_log("alpha", events)
    events_project(mission="alpha", events=events)
    applied = register_state()
    # and beta's register, which a rebuild of alpha must not touch
    events_project(mission="beta", events=[_synthetic(1, "created", _created_payload())])
    beta = list(BookingDay.objects.filter(mission="beta").values_list("day", "booked"))
    # when alpha's register is damaged and built again, in small batches
    BookingDay.objects.filter(mission="alpha").delete()
    BookingMonth.objects.filter(mission="alpha").update(booked=99, persons=99)
    RegisteredBooking.objects.filter(mission="alpha").update(status="served")
    read = bookings_rebuild(mission="alpha", batch_size=4)
    # then it is what applying the events made, and beta's is as it was
    assert read == len(events)
    assert [r for r in register_state()[0] if r[0] == "alpha"] == applied[0]
    alpha_days = [d for d in register_state()[1] if d[0] == "alpha"]
    assert alpha_days == [d for d in applied[1] if d[0] == "alpha"]
    assert list(BookingDay.objects.filter(mission="beta").values_list("day", "booked")) == beta


def test_every_register_is_built_again_through_the_registry(mission_a):
    from appointments.register.projector import bookings_rebuild
    from sync.registry import projectors, registers_rebuild

    # given a good and a broken booking event in HQ's log, applied
    events = [
        _synthetic(1, "created", _created_payload(reference="BK-1"), aggregate_id="1"),
        _synthetic(2, "created", _created_payload(persons="2"), aggregate_id="2"),
    ]
    central_log("alpha", events)
    events_project(mission="alpha", events=events)
    # and the register lost
    for model in (RegisteredBooking, BookingDay, BookingMonth):
        model.objects.all().delete()
    # when every register of the mission is built again through the projectors' hooks
    (mine,) = [p for p in projectors() if p.name == "appointments.bookings"]
    assert mine.rebuild is bookings_rebuild
    read = registers_rebuild(mission="alpha")
    # then the bookings register is back, the broken event skipped once, and nothing of fees
    assert read["appointments.bookings"] == 2
    assert read["fees.revenue"] == 0
    assert list(RegisteredBooking.objects.values_list("reference", flat=True)) == ["BK-1"]
    assert BookingDay.objects.get().booked == 1
    (skipped,) = SkippedEvent.objects.all()
    assert (skipped.seq, skipped.projector) == (2, "appointments.bookings")


def test_texts_with_quotes_and_braces_are_registered_as_sent(mission_a):
    # given references and a service code with what an array literal must escape
    odd = ['a"b', "c\\d", "{e,f}", "NULL", " g "]
    batch = [
        _synthetic(n, "created", _created_payload(reference=ref, service=ref), aggregate_id=ref)
        for n, ref in enumerate(odd, start=1)
    ]
    # when HQ projects them, then each is stored exactly
    events_project(mission="alpha", events=batch)
    stored = dict(RegisteredBooking.objects.values_list("booking_id", "reference"))
    assert stored == {ref: ref for ref in odd}
    assert sorted(BookingDay.objects.values_list("service", flat=True)) == sorted(odd)


@pytest.mark.parametrize(
    ("starts_at", "utc"),
    [
        ("2026-12-10T09:00:00+20:00", dt.datetime(2026, 12, 9, 13, 0, tzinfo=dt.UTC)),
        ("2026-12-10T09:00:00+05:30:15", dt.datetime(2026, 12, 10, 3, 29, 45, tzinfo=dt.UTC)),
    ],
)
def test_a_time_with_an_offset_postgresql_cannot_store_is_projected_in_utc(
    mission_a, starts_at, utc
):
    # given a booking whose time carries an offset PostgreSQL refuses (beyond 15:59, seconds)
    event = _synthetic(1, "created", _created_payload(starts_at=starts_at))
    # when HQ projects it, then it is registered at that moment, in UTC, and nothing is skipped
    events_project(mission="alpha", events=[event])
    (booking,) = RegisteredBooking.objects.all()
    assert booking.starts_at == utc
    assert not SkippedEvent.objects.exists()
