"""Availability reaches HQ as events: each service's figures when they change, and HQ keeps the
latest report per service, whatever order reports arrive in."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django_tenants.utils import schema_context

from appointments.models import ReleaseMode
from appointments.register.models import ServiceAvailability
from appointments.services import availability_report
from consulate.kernel.actors import SYSTEM
from sync.hq.models import SkippedEvent
from sync.models import OutboxEvent
from sync.registry import events_project
from tests.appointments.factories import BookingFactory, build_catalogue
from tests.registers import outbox_on_the_wire

TOPIC = "appointments.service.availability_reported"


def reports() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic=TOPIC).order_by("seq"))


def test_each_service_is_reported_once_until_its_figures_change(in_mission_a):
    # given two services with times
    passport = build_catalogue(days=5)
    build_catalogue(code="visa", name="Visa", days=5, release_mode=ReleaseMode.SCHEDULED)
    # when beat reports twice with nothing changed in between
    assert availability_report(mission=in_mission_a, acting_user=SYSTEM) == 2
    assert availability_report(mission=in_mission_a, acting_user=SYSTEM) == 0
    first = {event.payload["service"]: event for event in reports()}
    assert first["passport"].aggregate_id == str(passport.pk)
    assert first["passport"].payload["free_places_30d"] > 0
    assert first["passport"].payload["next_bookable"].endswith("Z")  # UTC on the wire
    # when a booking takes a place: only that service is reported again, one place fewer
    BookingFactory(service=passport)
    assert availability_report(mission=in_mission_a, acting_user=SYSTEM) == 1
    latest = reports()[-1]
    assert latest.payload["service"] == "passport"
    assert latest.payload["free_places_30d"] == first["passport"].payload["free_places_30d"] - 1


def _project(events):
    connection.set_schema_to_public()
    events_project(mission="alpha", events=events)


def test_hq_keeps_the_latest_report_per_service_in_any_order(in_mission_a):
    passport = build_catalogue(days=5)
    availability_report(mission=in_mission_a, acting_user=SYSTEM)
    BookingFactory(service=passport)
    availability_report(mission=in_mission_a, acting_user=SYSTEM)
    older, newer = outbox_on_the_wire("appointments.service.availability")

    _project([newer])
    _project([older])  # late, and replayed: changes nothing
    _project([newer, older])

    row = ServiceAvailability.objects.get(mission="alpha", service="passport")
    assert row.last_seq == newer["seq"]
    assert row.free_places_30d == newer["payload"]["free_places_30d"]
    assert row.next_bookable_at == dt.datetime.fromisoformat(newer["payload"]["next_bookable"])


def test_a_report_hq_cannot_read_is_skipped_and_recorded(in_mission_a):
    build_catalogue(days=2)
    availability_report(mission=in_mission_a, acting_user=SYSTEM)
    (event,) = outbox_on_the_wire("appointments.service.availability")
    broken = {**event, "payload": {**event["payload"], "free_places_30d": "many"}}
    _project([broken])
    assert not ServiceAvailability.objects.filter(mission="alpha").exists()
    skipped = SkippedEvent.objects.get(mission="alpha", seq=event["seq"])
    assert "free_places_30d" in skipped.reason
    with schema_context("alpha"):
        assert OutboxEvent.objects.filter(topic=TOPIC).count() == 1


def test_beats_slot_extension_reports_availability(in_mission_a):
    from appointments import tasks

    build_catalogue(days=2)
    tasks.generate_slots()  # what beat runs in every mission, hourly
    assert [event.payload["service"] for event in reports()] == ["passport"]
