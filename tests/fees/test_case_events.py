"""The fees app's real events, as its services write them, in HQ's case and staff activity
registers (missions/register/): the payloads the projectors read are the ones the app sends."""

from __future__ import annotations

import pytest
from django.db import connection

from fees.money import Money
from fees.services import credit_note_decide, credit_note_request, waiver_decide, waiver_request
from missions.register.models import CaseDay, RegisteredCase, StaffActivityDay
from sync.hq.models import SkippedEvent
from sync.registry import events_project
from tests.fees.conftest import assess, pay_cash
from tests.registers import outbox_on_the_wire

pytestmark = pytest.mark.usefixtures("fee_reference")


def test_waivers_and_refund_requests_become_cases_and_their_deciders_staff_activity(
    in_mission_a, cashier_a, consul_a
):
    # given at alpha: two waivers asked by the cashier, one refused by the consul, one open;
    # a cash payment, a refund asked and approved
    assessment = assess(cashier_a, services=("passport_application", "notarial_act"))
    first, second = assessment.lines.order_by("id")
    refused = waiver_request(
        line=first, category_code="humanitarian", reason="x", acting_user=cashier_a
    )
    waiver_decide(waiver=refused, approve=False, acting_user=consul_a)
    still_open = waiver_request(
        line=second, category_code="humanitarian", reason="y", acting_user=cashier_a
    )
    payment = pay_cash(assess(cashier_a, subject_ref="R-2"), cashier_a, 5000)
    note = credit_note_request(
        receipt=payment.receipt, amount=Money(100, "EUR"), reason="z", acting_user=cashier_a
    )
    credit_note_decide(note=note, approve=True, acting_user=consul_a)
    today = in_mission_a.today()
    events = outbox_on_the_wire("fees.")
    connection.set_schema_to_public()
    # when HQ projects them
    events_project(mission="alpha", events=events)
    # then there are three cases, keyed by the waivers' and the credit note's ids
    assert not SkippedEvent.objects.filter(projector__in=["fees.cases", "fees.activity"]).exists()
    assert set(
        RegisteredCase.objects.values_list("mission", "case_type", "case_id", "outcome")
    ) == {
        ("alpha", "fees.waiver", str(refused.pk), "refused"),
        ("alpha", "fees.waiver", str(still_open.pk), ""),
        ("alpha", "fees.refund", str(note.pk), "granted"),
    }
    assert set(
        CaseDay.objects.values_list("case_type", "day", "opened", "closed", "granted", "refused")
    ) == {
        ("fees.waiver", today, 2, 1, 0, 1),
        ("fees.refund", today, 1, 1, 1, 0),
    }
    # and the cashier (cash at the counter) and the consul (decisions) acted today; asking for
    # a waiver or a refund is not counted (a citizen may ask)
    assert set(StaffActivityDay.objects.values_list("mission", "day", "actor_id")) == {
        ("alpha", today, cashier_a.pk),
        ("alpha", today, consul_a.pk),
    }
