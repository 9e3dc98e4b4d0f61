"""The one call appointments needs (the lead adds it to `AppointmentsConfig.ready` at the
merge): its counter topics in the staff activity register beside fees'. Registered here for
the test only, on copies of the registries."""

from __future__ import annotations

import datetime as dt

import pytest

import sync.registry
from missions.register import activity as activity_module
from missions.register.activity import activity_projector
from missions.register.models import StaffActivityDay
from sync.registry import events_project, projector_register, registers_rebuild
from tests.missions.case_events import WAIVER_APPROVED, event
from tests.registers import central_log

UTC = dt.UTC
COUNTER_TOPICS = [
    "appointments.booking.checked_in",
    "appointments.booking.called",
    "appointments.booking.served",
    "appointments.booking.no_show",
]


@pytest.fixture
def appointments_registered(monkeypatch):
    monkeypatch.setattr(sync.registry, "_projectors", dict(sync.registry._projectors))
    monkeypatch.setattr(activity_module, "_sources", dict(activity_module._sources))
    # the call, as AppointmentsConfig.ready would make it
    activity = activity_projector(name="appointments.activity", topics=COUNTER_TOPICS)
    projector_register(
        name="appointments.activity",
        topics=activity.topics,
        apply=activity.apply,
        rebuild=activity.rebuild,
    )


def test_counter_staff_and_fees_staff_share_the_register_and_its_rebuild(
    mission_a, appointments_registered
):
    at = dt.datetime(2026, 11, 2, 9, tzinfo=UTC)
    events = [
        event(1, "appointments.booking.checked_in", "b1", at, actor=31,
              payload={"reference": "A-1"}),
        event(2, "appointments.booking.served", "b1", at, actor=32, payload={"reference": "A-1"}),
        event(3, "appointments.booking.no_show", "b2", at, actor=None,
              payload={"reference": "A-2"}),  # marked by the platform: nobody's activity
        event(4, WAIVER_APPROVED, "w1", at, actor=31),  # the same person in fees
        event(5, "appointments.booking.created", "b3", at, actor=40,
              payload={"reference": "A-3"}),  # a citizen's booking: not staff's
    ]  # fmt: skip
    central_log("alpha", events)
    events_project(mission="alpha", events=events)
    expected = [("alpha", dt.date(2026, 11, 2), 31), ("alpha", dt.date(2026, 11, 2), 32)]
    rows = lambda: list(StaffActivityDay.objects.values_list("mission", "day", "actor_id"))  # noqa: E731
    assert sorted(rows()) == expected
    # every activity projector's rebuild builds the whole register again, from both apps
    StaffActivityDay.objects.all().delete()
    read = registers_rebuild(mission="alpha")
    assert read["appointments.activity"] == read["fees.activity"] == 4  # both apps' topics
    assert sorted(rows()) == expected
