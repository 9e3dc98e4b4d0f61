"""Assessment, cash payments, receipts, idempotency and bad input."""

import pytest
from django.db import connection

from consulate.kernel.errors import ApplicationError, CommonError
from fees.error_codes import FeeError
from fees.models import Assessment, LedgerEntry, Payment, Receipt
from fees.money import Money
from fees.selectors import account_balances, assessment_balance, ledger_totals_per_currency
from fees.services.assessment import assessment_cancel
from fees.services.day_close import day_close
from fees.services.payment import payment_take_cash
from sync.models import OutboxEvent
from tests.fees.conftest import assess, key, pay_cash

pytestmark = pytest.mark.usefixtures("fee_reference")


def test_a_walk_in_is_assessed_at_todays_rate_frozen_on_the_line(in_mission_b, cashier_b):
    # given the schedule's 95.00 EUR passport fee and 172.35 JPY per EUR, up to 100 yen
    # when a cashier in Tokyo assesses it
    assessment = assess(cashier_b)
    # then the line holds 16,400 JPY with the rate used
    line = assessment.lines.get()
    assert (line.amount_minor, line.currency) == (16400, "JPY")
    assert (line.base_amount_minor, line.base_currency) == (9500, "EUR")
    assert str(line.rate) == "172.3500000000"
    assert assessment_balance(assessment=assessment).outstanding == Money(16400, "JPY")
    assert OutboxEvent.objects.filter(topic="fees.assessment.created").exists()
    assert assessment.history.count() == 1


def test_cash_payment_posts_balanced_and_issues_a_numbered_receipt(in_mission_a, cashier_a):
    # given an assessed passport fee in Berlin (EUR)
    assessment = assess(cashier_a, services=["passport_application", "express"])
    # when the cashier takes it in two parts
    first = pay_cash(assessment, cashier_a, 5000)
    second = pay_cash(assessment, cashier_a)
    # then both are paid, with consecutive receipts, and the assessment is settled
    receipts = list(Receipt.objects.order_by("seq"))
    assert [r.payment_id for r in receipts] == [first.pk, second.pk]
    assert receipts[1].seq == receipts[0].seq + 1
    year = receipts[0].business_date.year
    assert receipts[0].number == f"ALP-{year}-{receipts[0].seq:06d}"
    assessment.refresh_from_db()
    assert assessment.status == "settled"
    assert ledger_totals_per_currency() == {"EUR": 0}
    balances = account_balances()
    assert balances[(f"drawer:{cashier_a.pk}", "EUR")] == 13500
    assert balances[("receivable", "EUR")] == 0
    assert balances[("revenue:passport_application", "EUR")] == -9500
    assert OutboxEvent.objects.filter(topic="fees.ledger_transaction.posted").count() == 3
    assert first.history.count() >= 2


def test_the_same_idempotency_key_answers_the_same_payment(in_mission_a, cashier_a):
    assessment = assess(cashier_a)
    idem = key()
    once = payment_take_cash(
        assessment=assessment,
        amount=Money(1000, "EUR"),
        idempotency_key=idem,
        acting_user=cashier_a,
    )
    again = payment_take_cash(
        assessment=assessment,
        amount=Money(1000, "EUR"),
        idempotency_key=idem,
        acting_user=cashier_a,
    )
    assert once.pk == again.pk
    assert Payment.objects.count() == 1
    assert Receipt.objects.count() == 1
    # a different amount under the same key is refused
    with pytest.raises(ApplicationError) as refused:
        payment_take_cash(
            assessment=assessment,
            amount=Money(2000, "EUR"),
            idempotency_key=idem,
            acting_user=cashier_a,
        )
    assert refused.value.code == FeeError.IDEMPOTENCY_MISMATCH


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (Money(0, "EUR"), FeeError.INVALID_AMOUNT),
        (Money(-500, "EUR"), FeeError.INVALID_AMOUNT),
        (Money(500, "JPY"), FeeError.WRONG_CURRENCY),
        (Money(9501, "EUR"), FeeError.OVERPAYMENT),
    ],
)
def test_bad_payments_are_refused_and_the_ledger_stays_balanced(
    in_mission_a, cashier_a, amount, code
):
    assessment = assess(cashier_a)
    entries = LedgerEntry.objects.count()
    with pytest.raises(ApplicationError) as refused:
        payment_take_cash(
            assessment=assessment,
            amount=amount,
            idempotency_key=key(),
            acting_user=cashier_a,
        )
    assert refused.value.code == code
    assert str(refused.value.message)
    assert LedgerEntry.objects.count() == entries
    assert ledger_totals_per_currency() == {"EUR": 0}
    assert not Payment.objects.exists()


def test_a_cancelled_case_takes_no_payment(in_mission_a, cashier_a):
    assessment = assess(cashier_a)
    assessment_cancel(assessment=assessment, acting_user=cashier_a)
    with pytest.raises(ApplicationError) as refused:
        pay_cash(assessment, cashier_a, 100)
    assert refused.value.code == FeeError.ASSESSMENT_NOT_OPEN
    assert "cancelled" in str(refused.value.message)
    assert account_balances()[("receivable", "EUR")] == 0


def test_only_cashiers_take_cash(in_mission_a, officer_a):
    assessment = assess(officer_a)
    with pytest.raises(ApplicationError) as refused:
        pay_cash(assessment, officer_a, 100)
    assert refused.value.code == CommonError.NOT_ALLOWED


def test_a_closed_day_takes_no_more_cash(in_mission_a, cashier_a):
    # given a payment and a day closed with the right count
    assessment = assess(cashier_a)
    pay_cash(assessment, cashier_a, 5000)

    today = in_mission_a.today()
    day_close(
        business_date=today,
        counted={cashier_a.pk: Money(5000, "EUR")},
        reasons={},
        acting_user=cashier_a,
    )
    # when the cashier tries to take more cash today
    with pytest.raises(ApplicationError) as refused:
        pay_cash(assessment, cashier_a, 1000)
    # then it is refused with a clear message, and the drawer went to the bank
    assert refused.value.code == FeeError.DAY_CLOSED
    assert "closed" in str(refused.value.message)
    assert account_balances()[(f"drawer:{cashier_a.pk}", "EUR")] == 0
    assert account_balances()[("bank", "EUR")] == 5000
    # and even raw SQL cannot post to the closed day
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError, match="closed"), transaction.atomic():
        connection.cursor().execute(
            "INSERT INTO fees_ledgertransaction (business_date, kind, memo, source_type,"
            " created_at) VALUES (%s, 'raw', '', '', now())",
            [today],
        )


def test_day_close_records_a_difference_with_its_reason(in_mission_a, cashier_a):
    assessment = assess(cashier_a)
    pay_cash(assessment, cashier_a, 5000)

    today = in_mission_a.today()
    with pytest.raises(ApplicationError) as refused:
        day_close(
            business_date=today,
            counted={cashier_a.pk: Money(4990, "EUR")},
            reasons={},
            acting_user=cashier_a,
        )
    assert refused.value.code == FeeError.REASON_REQUIRED
    day = day_close(
        business_date=today,
        counted={cashier_a.pk: Money(4990, "EUR")},
        reasons={cashier_a.pk: "a 10 cent coin fell behind the counter"},
        acting_user=cashier_a,
    )
    count = day.counts.get()
    assert (count.expected_minor, count.counted_minor, count.difference_minor) == (5000, 4990, -10)
    assert account_balances()[("cash_over_short", "EUR")] == 10
    assert ledger_totals_per_currency() == {"EUR": 0}


def test_receipts_and_ledger_rows_cannot_be_edited_or_deleted(in_mission_a, cashier_a):
    from django.db import DatabaseError, transaction

    assessment = assess(cashier_a)
    pay_cash(assessment, cashier_a)
    for sql in (
        "UPDATE fees_receipt SET amount_minor = 1",
        "DELETE FROM fees_receipt",
        "UPDATE fees_ledgerentry SET amount_minor = amount_minor * 2",
        "DELETE FROM fees_ledgerentry",
        "DELETE FROM fees_ledgertransaction",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(sql)
    assert Assessment.objects.count() == 1


def test_a_bank_transfer_is_matched_by_its_reference(in_mission_a, cashier_a):
    from fees.services.payment import payment_bank_expect, payment_bank_match

    # given a transfer the payer will make, with its reference
    assessment = assess(cashier_a)
    expected = payment_bank_expect(
        assessment=assessment,
        amount=Money(9500, "EUR"),
        idempotency_key=key(),
        acting_user=cashier_a,
    )
    assert expected.bank_reference.startswith("ALP")
    # when the statement shows it with the wrong amount, it is not matched
    with pytest.raises(ApplicationError) as refused:
        payment_bank_match(
            reference=expected.bank_reference.lower(),
            amount=Money(9000, "EUR"),
            bank_transaction_id="STMT-1",
            value_date=in_mission_a.today(),
            acting_user=cashier_a,
        )
    assert refused.value.code == FeeError.BANK_MISMATCH
    # and with the right amount it is paid, posted to the bank and receipted
    paid, created = payment_bank_match(
        reference=expected.bank_reference,
        amount=Money(9500, "EUR"),
        bank_transaction_id="STMT-2",
        value_date=in_mission_a.today(),
        acting_user=cashier_a,
    )
    assert created
    assert paid.status == "succeeded"
    assert paid.receipt.number
    assert account_balances()[("bank", "EUR")] == 9500


@pytest.mark.parametrize("idempotency_key", ["", "k" * 101])
def test_a_payment_without_a_usable_idempotency_key_has_its_own_code(
    in_mission_a, cashier_a, idempotency_key
):
    # given an open assessment
    assessment = assess(cashier_a)
    # when cash is taken with no key, or one too long to store
    with pytest.raises(ApplicationError) as refused:
        payment_take_cash(
            assessment=assessment,
            amount=Money(1000, "EUR"),
            idempotency_key=idempotency_key,
            acting_user=cashier_a,
        )
    # then it says so (not "invalid amount"), and nothing is charged
    assert refused.value.code == FeeError.IDEMPOTENCY_KEY_REQUIRED
    assert refused.value.code.value == "fees.idempotency_key_required"
    assert not Payment.objects.exists()
