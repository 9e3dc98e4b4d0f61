"""What issue 13 added to the events HQ's appointments registers read: how a booking was made
(`channel` on `appointments.booking.created`, summed as `online` and `counter`) and a service's
names (`names` on `appointments.service.availability_reported`), with when a service last had
free places. Both additive: older events still count, as unknown."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import translation
from django_tenants.utils import schema_context

from appointments.register.availability import availability_rebuild
from appointments.register.models import (
    BookingDay,
    BookingMonth,
    RegisteredBooking,
    ServiceAvailability,
)
from appointments.register.monitoring import service_name
from appointments.register.selectors import availability_list
from appointments.services import availability_report, booking_create, service_update
from consulate.kernel.actors import SYSTEM
from sync.hq.models import SkippedEvent
from sync.models import OutboxEvent
from sync.registry import events_project
from tests.appointments.conftest import person
from tests.appointments.factories import build_catalogue
from tests.conftest import make_staff
from tests.registers import central_log, outbox_on_the_wire, project_again, shuffled_batches

REPORTED = "appointments.service.availability_reported"


def _created(seq: int, booking: str, *, channel=..., day: int = 10, persons: int = 1) -> dict:
    payload = {
        "reference": f"BK-{booking}",
        "service": "visa",
        "starts_at": f"2026-12-{day:02d}T09:00:00+00:00",
        "persons": persons,
    }
    if channel is not ...:
        payload["channel"] = channel
    return {
        "seq": seq, "topic": "appointments.booking.created", "aggregate_type": "booking",
        "aggregate_id": booking, "payload": payload, "version": 1, "actor_id": None,
        "occurred_at": "2026-12-01T10:00:00.000000Z",
    }  # fmt: skip


def _cancelled(seq: int, booking: str) -> dict:
    return {
        "seq": seq, "topic": "appointments.booking.cancelled", "aggregate_type": "booking",
        "aggregate_id": booking, "payload": {"reference": f"BK-{booking}"}, "version": 1,
        "actor_id": None, "occurred_at": "2026-12-02T10:00:00.000000Z",
    }  # fmt: skip


def _sums(mission: str = "alpha") -> dict[dt.date, tuple[int, int, int, int]]:
    return {
        d.day: (d.booked, d.online, d.counter, d.cancelled)
        for d in BookingDay.objects.filter(mission=mission)
        if d.booked
    }


def _register(mission: str = "alpha") -> tuple[list, dict, list]:
    bookings = list(
        RegisteredBooking.objects.filter(mission=mission)
        .order_by("booking_id")
        .values_list("booking_id", "channel", "status", "day", "created_seq")
    )
    months = [
        (m.month, m.booked, m.online, m.counter)
        for m in BookingMonth.objects.filter(mission=mission).order_by("month")
        if m.booked
    ]
    return bookings, _sums(mission), months


def test_a_booking_says_whether_its_holder_made_it_or_staff_did(catalogue, citizen, mission_a):
    # given a citizen booking for themselves, and staff booking for the same citizen
    from appointments.selectors import slot_list_available

    slots = list(slot_list_available(service=catalogue))
    staff = make_staff(mission_a, "officer")
    own = booking_create(
        slot_id=slots[-1].pk, service=catalogue, persons=[person("O0000001")], user=citizen,
        language="en", acting_user=citizen,
    )  # fmt: skip
    behalf = booking_create(
        slot_id=slots[-2].pk, service=catalogue, persons=[person("C0000001")], user=citizen,
        language="en", acting_user=staff,
    )  # fmt: skip
    # then each created event names its channel
    channels = {
        e["aggregate_id"]: e["payload"]["channel"]
        for e in outbox_on_the_wire("appointments.booking.created")
    }
    assert channels == {str(own.pk): "online", str(behalf.pk): "counter"}
    # and HQ counts one online and one at the counter
    events_project(mission="alpha", events=outbox_on_the_wire("appointments.booking."))
    rows = dict(RegisteredBooking.objects.values_list("booking_id", "channel"))
    assert rows == {str(own.pk): "online", str(behalf.pk): "counter"}
    totals = BookingDay.objects.filter(mission="alpha")
    assert sum(d.online for d in totals) == 1
    assert sum(d.counter for d in totals) == 1


def test_channels_are_summed_and_an_older_event_counts_as_unknown(mission_a):
    # given bookings made online, at the counter, by an older mission (no channel), with a
    # null channel, and one this code does not know yet; the online one later cancelled
    events = [
        _created(1, "b1", channel="online"),
        _created(2, "b2", channel="counter"),
        _created(3, "b3"),
        _created(4, "b4", channel=None),
        _created(5, "b5", channel="kiosk"),
        _created(6, "b6", channel="online", day=11),
        _cancelled(7, "b1"),
    ]
    # when HQ projects them
    events_project(mission="alpha", events=events)
    # then every booking counts in `booked`, and the channels only where known
    assert _sums() == {
        dt.date(2026, 12, 10): (5, 1, 1, 1),
        dt.date(2026, 12, 11): (1, 1, 0, 0),
    }
    channels = dict(RegisteredBooking.objects.values_list("booking_id", "channel"))
    assert channels == {
        "b1": "online",
        "b2": "counter",
        "b3": "",
        "b4": "",
        "b5": "",
        "b6": "online",
    }
    assert not SkippedEvent.objects.exists()


def test_channel_sums_are_the_same_in_any_order_and_replayed(mission_a):
    # given bookings of every channel, some cancelled, some whose creation comes late
    events = []
    seq = 0
    for n in range(12):
        seq += 1
        channel = ("online", "counter", ...)[n % 3]
        events.append(_created(seq, f"b{n}", channel=channel, day=10 + n % 4, persons=1 + n % 2))
        if n % 4 == 0:
            seq += 1
            events.append(_cancelled(seq, f"b{n}"))
    events_project(mission="alpha", events=events)
    in_order = _register()
    assert sum(v[1] for v in in_order[1].values()) == 4
    assert sum(v[2] for v in in_order[1].values()) == 4
    for seed in range(15):
        with transaction.atomic():
            RegisteredBooking.objects.all().delete()
            BookingDay.objects.all().delete()
            BookingMonth.objects.all().delete()
            # when they come shuffled, some twice, in batches, and then again
            for batch in shuffled_batches(events, random.Random(seed)):
                events_project(mission="alpha", events=batch)
            project_again("alpha", events)
            # then the register is the same
            assert _register() == in_order, f"seed {seed}"
            transaction.set_rollback(True)


def test_a_channel_that_is_not_a_text_is_skipped(mission_a):
    events_project(mission="alpha", events=[_created(1, "b1", channel=7)])
    assert not RegisteredBooking.objects.filter(mission="alpha").exists()
    assert "channel" in SkippedEvent.objects.get(mission="alpha", seq=1).reason


@pytest.mark.parametrize(
    "update",
    [
        "SET online = booked + 1",
        "SET counter = -1",
        "SET online = 1, counter = booked",
    ],
)
def test_the_database_refuses_channel_sums_that_cannot_be(mission_a, update):
    events_project(mission="alpha", events=[_created(1, "b1", channel="online")])
    for table in (BookingDay, BookingMonth):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table._meta.db_table} {update}")


def test_the_database_refuses_a_channel_it_does_not_know(mission_a):
    events_project(mission="alpha", events=[_created(1, "b1", channel="online")])
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisteredBooking.objects.update(channel="fax")


# --- a service's names


def _reports() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic=REPORTED).order_by("seq"))


def test_a_report_names_the_service_in_each_language_and_a_new_name_is_reported(in_mission_a):
    # given a service named in English and Turkish
    service = build_catalogue(days=3, name="Passport", name_tr="Pasaport")
    availability_report(mission=in_mission_a, acting_user=SYSTEM)
    (first,) = _reports()
    assert first.payload["names"] == {"en": "Passport", "tr": "Pasaport"}
    # when only its Turkish name changes
    service_update(service=service, name_tr="Pasaport başvurusu", acting_user=SYSTEM)
    # then it is reported again, with the new name
    assert availability_report(mission=in_mission_a, acting_user=SYSTEM) == 1
    assert _reports()[-1].payload["names"] == {"en": "Passport", "tr": "Pasaport başvurusu"}
    assert availability_report(mission=in_mission_a, acting_user=SYSTEM) == 0
    # and HQ keeps the latest names, whatever the order the reports arrive in
    events = outbox_on_the_wire(REPORTED)
    connection.set_schema_to_public()
    events_project(mission="alpha", events=list(reversed(events)))
    events_project(mission="alpha", events=events)
    row = ServiceAvailability.objects.get(mission="alpha", service="passport")
    assert row.names == {"en": "Passport", "tr": "Pasaport başvurusu"}
    with translation.override("tr"):
        assert service_name(row.names, row.service) == "Pasaport başvurusu"


def _report(seq: int, *, free: int, at: str, names=...) -> dict:
    payload = {
        "service": "passport", "release_mode": "open", "next_bookable": None,
        "next_release": None, "lottery_closes": None, "free_places_30d": free,
    }  # fmt: skip
    if names is not ...:
        payload["names"] = names
    return {
        "seq": seq, "topic": REPORTED, "aggregate_type": "service", "aggregate_id": "1",
        "payload": payload, "version": 1, "actor_id": None, "occurred_at": at,
    }  # fmt: skip


def test_hq_keeps_when_a_service_last_had_free_places_in_any_order(mission_a):
    # given a service with places on the 1st and the 2nd, and none on the 3rd
    events = [
        _report(1, free=5, at="2026-12-01T10:00:00Z", names={"en": "Passport"}),
        _report(2, free=2, at="2026-12-02T10:00:00Z", names={"en": "Passport"}),
        _report(3, free=0, at="2026-12-03T10:00:00Z"),  # an older mission: no names
    ]
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]):
        with transaction.atomic():
            # when the reports come in any order, one batch each or together, and again
            for i in order:
                events_project(mission="alpha", events=[events[i]])
            events_project(mission="alpha", events=events)
            # then the latest report is kept, and the last time it had places
            row = ServiceAvailability.objects.get(mission="alpha")
            assert (row.last_seq, row.free_places_30d, row.names) == (3, 0, {})
            assert row.free_reported_at == dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC), order
            transaction.set_rollback(True)


@pytest.mark.parametrize(
    "names",
    [["Passport"], {"en": 5}, {"en": "x\x00y"}, {"": "Passport"}, {"en": "P" * 201}, "Passport"],
)
def test_names_that_are_not_names_by_language_are_skipped(mission_a, names):
    events_project(
        mission="alpha", events=[_report(1, free=1, at="2026-12-01T10:00:00Z", names=names)]
    )
    assert not ServiceAvailability.objects.exists()
    assert "names" in SkippedEvent.objects.get(mission="alpha", seq=1).reason


def test_the_mission_schema_is_untouched_by_hq_reads(in_mission_a):
    # the names are read from the catalogue of the mission, in the mission's schema
    build_catalogue(days=1)
    availability_report(mission=in_mission_a, acting_user=SYSTEM)
    with schema_context("alpha"):
        assert _reports()[0].payload["names"]["en"] == "Passport application"


def _availability_state() -> list[tuple]:
    return list(
        ServiceAvailability.objects.order_by("mission", "service").values_list(
            "mission", "service", "release_mode", "free_places_30d", "free_reported_at", "names",
            "offered", "reported_at", "last_seq",
        )
    )  # fmt: skip


def test_the_availability_register_built_again_from_the_log_is_the_one_kept_as_events_came(
    mission_a,
):
    # given reports of two services, applied shuffled, in batches, some twice
    events = [
        _report(1, free=5, at="2026-12-01T10:00:00Z", names={"en": "Passport"}),
        _report(2, free=0, at="2026-12-02T10:00:00Z", names={"en": "Passport", "tr": "Pasaport"}),
        {**_report(3, free=3, at="2026-12-02T11:00:00Z"), "aggregate_id": "2"},
        _report(4, free=1, at="2026-12-03T10:00:00Z", names={"en": "Passport", "tr": "Pasaport"}),
        {**_report(5, free=0, at="2026-12-04T10:00:00Z"), "aggregate_id": "2"},
    ]
    events[2]["payload"] = {**events[2]["payload"], "service": "visa"}
    events[4]["payload"] = {**events[4]["payload"], "service": "visa"}
    central_log("alpha", events)
    for batch in shuffled_batches(events, random.Random(7)):
        events_project(mission="alpha", events=batch)
    incremental = _availability_state()
    assert [(row[1], row[3], row[4].day, row[5]) for row in incremental] == [
        ("passport", 1, 3, {"en": "Passport", "tr": "Pasaport"}),
        ("visa", 0, 2, {}),
    ]
    # when HQ builds the register again from its event log
    availability_rebuild(mission="alpha")
    # then it is the same
    assert _availability_state() == incremental


def test_a_service_no_longer_offered_is_reported_once_and_left_out_at_hq(in_mission_a):
    # given a reported service
    service = build_catalogue(days=3, name="Passport", name_tr="Pasaport")
    availability_report(mission=in_mission_a, acting_user=SYSTEM)
    # when the mission stops offering it
    service_update(service=service, is_active=False, acting_user=SYSTEM)
    # then it is reported once more, as not offered, and then no more
    assert availability_report(mission=in_mission_a, acting_user=SYSTEM) == 1
    assert availability_report(mission=in_mission_a, acting_user=SYSTEM) == 0
    withdrawn = _reports()[-1].payload
    assert (withdrawn["offered"], withdrawn["free_places_30d"], withdrawn["next_bookable"]) == (
        False, 0, None,
    )  # fmt: skip
    events = outbox_on_the_wire(REPORTED)
    connection.set_schema_to_public()
    events_project(mission="alpha", events=events)
    # and HQ keeps the row but its readers leave the service out
    assert ServiceAvailability.objects.get(mission="alpha", service="passport").offered is False
    assert availability_list(missions=["alpha"]) == []
    # when it is offered again, it is reported again
    with schema_context("alpha"):
        service_update(service=service, is_active=True, acting_user=SYSTEM)
        assert availability_report(mission=in_mission_a, acting_user=SYSTEM) == 1
        assert _reports()[-1].payload["offered"] is True


def test_offered_that_is_not_true_or_false_is_skipped(mission_a):
    event = _report(1, free=1, at="2026-12-01T10:00:00Z")
    event["payload"]["offered"] = "no"
    events_project(mission="alpha", events=[event])
    assert not ServiceAvailability.objects.exists()
    assert "offered" in SkippedEvent.objects.get(mission="alpha", seq=1).reason
