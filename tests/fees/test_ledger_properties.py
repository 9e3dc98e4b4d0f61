"""Property test: random sequences of assessments, payments (cash and card), waivers, refunds
and bad input. After each sequence the ledger sums to zero per currency, and every account's
balance equals an independent replay of what the operations should have posted."""

from __future__ import annotations

import uuid
from collections import defaultdict

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from consulate.kernel.errors import ApplicationError
from fees.models import ApprovalStatus, LedgerEntry, LedgerTransaction, Receipt
from fees.money import Money
from fees.providers.test_provider import event_body, sign
from fees.selectors import account_balances, assessment_balance, ledger_totals_per_currency
from fees.services.assessment import waiver_decide, waiver_request
from fees.services.payment import payment_card_start, payment_take_cash, payment_webhook_receive
from fees.services.refund import credit_note_decide, credit_note_request
from tests.fees.conftest import assess

pytestmark = pytest.mark.usefixtures("fee_reference")

SERVICES = ["passport_application", "visa", "notarial_act", "express", "courier"]

assessment_op = st.tuples(
    st.just("assess"), st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3)
)
operation = st.one_of(
    assessment_op,
    assessment_op,
    st.tuples(st.just("cash"), st.integers(0, 20), st.integers(1, 100)),
    st.tuples(st.just("cash"), st.integers(0, 20), st.integers(1, 60)),
    st.tuples(st.just("card"), st.integers(0, 20), st.booleans()),
    st.tuples(st.just("waive"), st.integers(0, 20)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 100)),
    st.tuples(
        st.just("bad"),
        st.integers(0, 20),
        st.sampled_from(["zero", "negative", "over", "currency"]),
    ),
)


class Rollback(Exception):
    pass


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=st.builds(
        lambda first, rest: [first, *rest],
        assessment_op,
        st.lists(operation, min_size=4, max_size=20),
    )
)
def test_random_money_operations_keep_the_ledger_balanced_and_replayable(
    in_mission_a, cashier_a, consul_a, operations
):
    mission = in_mission_a
    try:
        with transaction.atomic():
            expected = _run(mission, cashier_a, consul_a, operations)
            # reach the commit-time checks of the deferred trigger inside this savepoint
            connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
            # then: balanced per currency, and every balance equals the replay
            assert set(ledger_totals_per_currency().values()) <= {0}
            actual = {k: v for k, v in account_balances().items() if v}
            assert actual == {k: v for k, v in expected.items() if v}
            # and equals a replay of its own postings, entry by entry
            replay: dict[tuple[str, str], int] = defaultdict(int)
            for code, currency, amount in LedgerEntry.objects.values_list(
                "account__code", "currency", "amount_minor"
            ):
                replay[(code, currency)] += amount
            assert {k: v for k, v in replay.items() if v} == actual
            event(f"ledger transactions: {min(LedgerTransaction.objects.count() // 5 * 5, 15)}+")
            raise Rollback
    except Rollback:
        pass


def _run(mission, cashier, consul, operations) -> dict[tuple[str, str], int]:
    expected: dict[tuple[str, str], int] = defaultdict(int)
    assessments = []
    receipts: list[Receipt] = []
    drawer = f"drawer:{cashier.pk}"

    def post(legs):
        for code, amount in legs:
            expected[(code, "EUR")] += amount

    for op in operations:
        kind = op[0]
        if kind == "assess":
            assessment = assess(cashier, services=op[1])
            assessments.append(assessment)
            for line in assessment.lines.all():
                post(
                    [
                        ("receivable", line.amount_minor),
                        (f"revenue:{line.service}", -line.amount_minor),
                    ]
                )
            continue
        if kind == "refund":
            if not receipts:
                continue
            receipt = receipts[op[1] % len(receipts)]
            amount = max(1, receipt.amount_minor * op[2] // 100)
            try:
                note = credit_note_request(
                    receipt=receipt,
                    amount=Money(amount, "EUR"),
                    reason="property test",
                    acting_user=cashier,
                )
            except ApplicationError:
                continue  # more than is left to refund
            credit_note_decide(note=note, approve=True, acting_user=consul)
            source = drawer if receipt.method == "cash" else "card_clearing"
            post([("refunds", amount), (source, -amount)])
            continue
        if not assessments:
            continue
        assessment = assessments[op[1] % len(assessments)]
        outstanding = assessment_balance(assessment=assessment).outstanding.amount_minor
        if kind == "cash":
            amount = max(1, outstanding * op[2] // 100)
            try:
                payment = payment_take_cash(
                    assessment=assessment,
                    amount=Money(amount, "EUR"),
                    idempotency_key=uuid.uuid4().hex,
                    acting_user=cashier,
                )
            except ApplicationError:
                assert outstanding == 0 or assessment.status != "open"
                continue
            receipts.append(payment.receipt)
            post([(drawer, amount), ("receivable", -amount)])
        elif kind == "card":
            if not outstanding:
                continue
            payment, _ = payment_card_start(
                assessment=assessment,
                amount=Money(outstanding, "EUR"),
                idempotency_key=uuid.uuid4().hex,
                acting_user=None,
                return_path="/",
            )
            body = event_body(
                event_type="payment.succeeded" if op[2] else "payment.declined",
                provider_ref=payment.provider_ref,
                amount_minor=outstanding,
                currency="EUR",
            )
            payment_webhook_receive(body=body, signature=sign(body))
            if op[2]:
                payment.refresh_from_db()
                receipts.append(payment.receipt)
                post([("card_clearing", outstanding), ("receivable", -outstanding)])
        elif kind == "waive":
            line = assessment.lines.order_by("?").first()
            try:
                waiver = waiver_request(
                    line=line,
                    category_code="humanitarian",
                    reason="property test",
                    acting_user=cashier,
                )
                waiver_decide(waiver=waiver, approve=True, acting_user=consul)
            except ApplicationError:
                continue  # paid already, or already waived
            assert waiver.status == ApprovalStatus.REQUESTED  # the object we hold
            post([("waivers", waiver.amount_minor), ("receivable", -waiver.amount_minor)])
        elif kind == "bad":
            amount = {
                "zero": Money(0, "EUR"),
                "negative": Money(-100, "EUR"),
                "over": Money(outstanding + 1, "EUR"),
                "currency": Money(100, "JPY"),
            }[op[2]]
            before = LedgerEntry.objects.count()
            with pytest.raises(ApplicationError):
                payment_take_cash(
                    assessment=assessment,
                    amount=amount,
                    idempotency_key=uuid.uuid4().hex,
                    acting_user=cashier,
                )
            assert LedgerEntry.objects.count() == before
    return expected
