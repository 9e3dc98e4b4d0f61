"""Buttons appear only to the roles the permission table lets press them: every fees page, for
every mission role, offers exactly what `missions.permissions.PERMISSIONS` allows; and nobody is
offered to approve their own request (four eyes), which would only be refused."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from fees.money import Money
from fees.services import credit_note_request
from missions.models import Role
from missions.permissions import PERMISSIONS, Action
from tests.conftest import make_staff
from tests.fees.conftest import assess, login, pay_cash
from tests.fees.factories import WaiverFactory
from tests.fees.test_webhooks import start_card

pytestmark = pytest.mark.usefixtures("fee_reference")

# (page, the words of a button or form, the action that lets someone press it)
OFFERS = [
    ("counter", "Assess fees", Action.ASSESSMENT_CHANGE),
    ("open", "Take cash and issue receipt", Action.CASH_TAKE),
    ("open", "Pay by bank transfer</button>", Action.BANK_TRANSFER_CHANGE),
    ("open", "Ask for a waiver</button>", Action.ASSESSMENT_CHANGE),
    ("open", "Cancel these fees", Action.ASSESSMENT_CHANGE),
    ("card", "Cancel the card payment", Action.ASSESSMENT_CHANGE),
    ("receipt", "Ask for a refund", Action.ASSESSMENT_CHANGE),
    ("approvals", "Approve refund", Action.FEES_APPROVE),
    ("approvals", "Approve waiver", Action.FEES_APPROVE),
    ("day_close", "Close the day", Action.DAY_CLOSE),
    ("nav", 'href="/fees/approvals/"', Action.FEES_APPROVE),
    ("nav", 'href="/fees/bank-transfers/"', Action.BANK_TRANSFER_CHANGE),
    ("nav", 'href="/fees/day-close/"', Action.DAY_CLOSE),
]


@pytest.fixture
def pages(mission_a, cashier_a):  # type: ignore[no-untyped-def]
    """An open assessment, one with a card checkout, a receipt, a waiver and a refund asked
    for by someone else, and cash in a drawer (so the day close has a form)."""
    requester = make_staff(mission_a, "officer")
    with schema_context(mission_a.schema_name):
        open_one = assess(cashier_a)
        card, _url = start_card(assess(cashier_a))
        receipt = pay_cash(assess(cashier_a), cashier_a).receipt
        WaiverFactory(assessment=assess(cashier_a), acting_user=requester)
        credit_note_request(
            receipt=receipt, amount=Money(100, "EUR"), reason="x", acting_user=requester
        )
    return {
        "counter": "/fees/counter/",
        "open": f"/fees/assessments/{open_one.pk}/",
        "card": f"/fees/assessments/{card.assessment_id}/",
        "receipt": f"/fees/receipts/{receipt.pk}/",
        "approvals": "/fees/approvals/",
        "day_close": "/fees/day-close/",
        "nav": "/fees/counter/",
    }


@pytest.mark.parametrize("role", Role.values)
def test_each_role_is_offered_exactly_what_the_table_allows(client_a, mission_a, pages, role):
    # given a member of staff with `role` at alpha
    login(client_a, make_staff(mission_a, role))
    read = {name: client_a.get(url).content.decode() for name, url in pages.items()}
    # then each button is on the page exactly when the table lets the role press it
    for page, words, action in OFFERS:
        allowed = role in PERMISSIONS[action]
        assert (words in read[page]) == allowed, (role, page, words)


def test_nobody_is_offered_to_approve_what_they_asked_for(client_a, mission_a, cashier_a):
    # given a consul who asked for a refund and a waiver, and another consul
    asker, other = make_staff(mission_a, "consul"), make_staff(mission_a, "consul")
    with schema_context(mission_a.schema_name):
        receipt = pay_cash(assess(cashier_a), cashier_a).receipt
        credit_note_request(
            receipt=receipt, amount=Money(100, "EUR"), reason="Typo", acting_user=asker
        )
        WaiverFactory(assessment=assess(cashier_a), acting_user=asker)
    # when the consul who asked opens the approvals
    login(client_a, asker)
    page = client_a.get("/fees/approvals/").content.decode()
    # then they see both, with no approve button, and who decides instead
    assert "Approve refund" not in page
    assert "Approve waiver" not in page
    assert page.count("You asked for this: another consul or the mission admin decides.") == 2
    # while the other consul may decide both
    login(client_a, other)
    page = client_a.get("/fees/approvals/").content.decode()
    assert ("Approve refund" in page, "Approve waiver" in page) == (True, True)
