"""Waivers and refunds need a second person; credit notes refer to the receipt, never edit it."""

import pytest

from consulate.kernel.errors import ApplicationError, CommonError
from fees.error_codes import FeeError
from fees.models import CreditNote, Receipt
from fees.money import Money
from fees.selectors import account_balances, assessment_balance, ledger_totals_per_currency
from fees.services.assessment import waiver_decide, waiver_request
from fees.services.refund import credit_note_decide, credit_note_request
from sync.models import OutboxEvent
from tests.fees.conftest import assess, pay_cash

pytestmark = pytest.mark.usefixtures("fee_reference")


def test_a_waiver_changes_nothing_until_a_consul_approves(in_mission_a, cashier_a, consul_a):
    # given an assessed passport fee and a waiver asked for by the cashier
    assessment = assess(cashier_a)
    line = assessment.lines.get()
    waiver = waiver_request(
        line=line,
        category_code="humanitarian",
        reason="Flood victim",
        acting_user=cashier_a,
    )
    # then the fee is still due
    assert assessment_balance(assessment=assessment).outstanding == Money(9500, "EUR")
    # when the cashier tries to approve it themselves
    with pytest.raises(ApplicationError) as refused:
        waiver_decide(waiver=waiver, approve=True, acting_user=cashier_a)
    assert refused.value.code == CommonError.NOT_ALLOWED
    # and when the consul approves it
    waiver_decide(waiver=waiver, approve=True, acting_user=consul_a)
    # then nothing is due, and the ledger moved receivable to waivers
    assessment.refresh_from_db()
    assert assessment.status == "settled"
    assert account_balances()[("waivers", "EUR")] == 9500
    assert ledger_totals_per_currency() == {"EUR": 0}
    assert OutboxEvent.objects.filter(topic="fees.waiver.approved").exists()


def test_a_consul_cannot_approve_their_own_waiver(in_mission_a, consul_a):
    assessment = assess(consul_a)
    waiver = waiver_request(
        line=assessment.lines.get(),
        category_code="diplomatic",
        reason="Official passport",
        acting_user=consul_a,
    )
    with pytest.raises(ApplicationError) as refused:
        waiver_decide(waiver=waiver, approve=True, acting_user=consul_a)
    assert refused.value.code == FeeError.FOUR_EYES


def test_a_waiver_needs_a_category_a_reason_and_its_rule(in_mission_a, cashier_a):
    line = assess(cashier_a).lines.get()
    for kwargs, code in (
        ({"category_code": "nonsense", "reason": "x"}, FeeError.EXEMPTION_RULE),
        ({"category_code": "humanitarian", "reason": " "}, FeeError.REASON_REQUIRED),
        (
            {"category_code": "child-under-6", "reason": "x", "applicant_age": 9},
            FeeError.EXEMPTION_RULE,
        ),
    ):
        with pytest.raises(ApplicationError) as refused:
            waiver_request(line=line, acting_user=cashier_a, **kwargs)
        assert refused.value.code == code


def test_a_refund_issues_a_credit_note_after_a_second_approval(in_mission_a, cashier_a, consul_a):
    # given a paid passport fee
    assessment = assess(cashier_a)
    pay_cash(assessment, cashier_a)
    receipt = Receipt.objects.get()
    # when the cashier asks to refund 20.00 and the consul approves
    note = credit_note_request(
        receipt=receipt,
        amount=Money(2000, "EUR"),
        reason="Charged the adult fee for a child",
        acting_user=cashier_a,
    )
    assert note.number == ""
    with pytest.raises(ApplicationError) as refused:
        credit_note_decide(note=note, approve=True, acting_user=cashier_a)
    assert refused.value.code == CommonError.NOT_ALLOWED
    note = credit_note_decide(note=note, approve=True, acting_user=consul_a)
    # then the credit note is numbered and refers to the unchanged receipt
    assert note.number == f"ALP-CN-{note.year}-{note.seq:06d}"
    assert Receipt.objects.get().amount_minor == 9500
    assert account_balances()[("refunds", "EUR")] == 2000
    assert account_balances()[(f"drawer:{cashier_a.pk}", "EUR")] == 7500
    assert ledger_totals_per_currency() == {"EUR": 0}
    # and no more than what is left can be refunded
    with pytest.raises(ApplicationError) as refused:
        credit_note_request(
            receipt=receipt,
            amount=Money(7501, "EUR"),
            reason="again",
            acting_user=cashier_a,
        )
    assert refused.value.code == FeeError.NOTHING_TO_REFUND
    assert note.history.count() == 2


def test_a_decided_credit_note_never_changes(in_mission_a, cashier_a, consul_a):
    from django.db import DatabaseError, connection, transaction

    assessment = assess(cashier_a)
    pay_cash(assessment, cashier_a)
    note = credit_note_request(
        receipt=Receipt.objects.get(),
        amount=Money(100, "EUR"),
        reason="x",
        acting_user=cashier_a,
    )
    credit_note_decide(note=note, approve=True, acting_user=consul_a)
    with pytest.raises(DatabaseError, match="never changed"), transaction.atomic():
        connection.cursor().execute("UPDATE fees_creditnote SET amount_minor = 1")
    assert CreditNote.objects.get().amount_minor == 100


def test_refunds_of_a_whole_receipt_in_parts_add_up_to_its_base_amount(
    in_mission_b, cashier_b, consul_b
):
    # given a 16,400 JPY receipt worth 95.00 EUR (the fee line's base amount)
    assessment = assess(cashier_b)
    pay_cash(assessment, cashier_b)
    receipt = Receipt.objects.get()
    # when it is refunded in three parts
    for part in (5000, 3333, 8067):
        note = credit_note_request(
            receipt=receipt,
            amount=Money(part, "JPY"),
            reason="split refund",
            acting_user=cashier_b,
        )
        credit_note_decide(note=note, approve=True, acting_user=consul_b)
    # then the credit notes add up to the receipt in both currencies
    notes = CreditNote.objects.filter(receipt=receipt)
    assert sum(n.amount_minor for n in notes) == receipt.amount_minor
    assert sum(n.base_amount_minor for n in notes) == receipt.base_amount_minor
