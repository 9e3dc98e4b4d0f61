"""The demo leaves a fee waiver open and one refused at a demo mission, so HQ monitoring shows a
backlog and a decision once the mission has synced."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from fees.demo import seed_demo
from fees.models import Waiver
from missions.register.models import RegisteredCase
from sync.registry import events_project
from tests.conftest import make_staff
from tests.registers import outbox_on_the_wire

pytestmark = pytest.mark.usefixtures("fee_reference")


def test_the_demo_leaves_an_open_waiver_and_a_refused_one_once(mission_a):
    make_staff(mission_a, "cashier", "cashier@alpha.demo")
    make_staff(mission_a, "consul", "consul@alpha.demo")
    out = io.StringIO()
    seed_demo(stdout=out)
    assert out.getvalue() == "Fees: two waiver requests at alpha, one refused, one open"
    seed_demo(stdout=io.StringIO())  # a second run makes nothing
    with schema_context(mission_a.schema_name):
        assert sorted(Waiver.objects.values_list("status", flat=True)) == ["rejected", "requested"]
        events = outbox_on_the_wire("fees.waiver.")
    connection.set_schema_to_public()
    events_project(mission="alpha", events=events)
    assert sorted(RegisteredCase.objects.values_list("case_type", "outcome")) == [
        ("fees.waiver", ""),
        ("fees.waiver", "refused"),
    ]
