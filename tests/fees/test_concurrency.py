"""Many payments at once at one mission: receipt numbers gapless and unique; one webhook
delivered five times at once, plus a stale decline, posts once; two cashiers charging one
case's fee at once: one charge, one refusal that says where it was charged."""

from __future__ import annotations

import random
import threading
import uuid

import pytest
from django.db import connection, connections, transaction

from consulate.kernel.errors import ApplicationError
from consulate.kernel.reference import day_written_short
from fees.error_codes import FeeError
from fees.models import Assessment, FeeLine, LedgerTransaction, Payment, Receipt
from fees.money import Money
from fees.providers.test_provider import event_body, sign
from fees.selectors import ledger_totals_per_currency
from fees.services.payment import payment_card_start, payment_take_cash, payment_webhook_receive
from fees.services.refund import credit_note_decide, credit_note_request
from tests.conftest import make_staff
from tests.fees.conftest import assess, pay_cash
from tests.fees.factories import seed_fee_reference

PAYERS = 16


class Rollback(Exception):
    pass


def _run(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_parallel_cash_payments_leave_receipt_numbers_gapless(throwaway_mission):
    # given HQ's fees and a mission with several cashiers and open assessments
    seed_fee_reference()
    mission = throwaway_mission
    cashiers = [make_staff(mission, "cashier") for _ in range(4)]
    connection.set_tenant(mission)
    assessments = [assess(cashiers[n % 4]) for n in range(PAYERS)]
    connection.set_schema_to_public()
    barrier = threading.Barrier(PAYERS)
    committed: list[str] = []
    errors: list[BaseException] = []

    def pay(n: int) -> None:
        try:
            connection.set_tenant(mission)
            barrier.wait()
            for part in (4000, 5500):
                try:
                    with transaction.atomic():
                        payment = payment_take_cash(
                            assessment=assessments[n],
                            amount=Money(part, "EUR"),
                            idempotency_key=uuid.uuid4().hex,
                            acting_user=cashiers[n % 4],
                        )
                        # some payments fail after their receipt was numbered
                        if random.random() < 0.25:
                            raise Rollback
                    committed.append(payment.receipt.number)
                except Rollback:
                    pass
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    # when they all pay at once, a quarter rolling back
    _run([threading.Thread(target=pay, args=(n,)) for n in range(PAYERS)])
    # then the committed receipts are numbered 1..N without a gap, each once
    assert not errors
    connection.set_tenant(mission)
    receipts = list(Receipt.objects.order_by("seq").values_list("seq", "number"))
    assert [seq for seq, _ in receipts] == list(range(1, len(receipts) + 1))
    assert sorted(committed) == sorted(number for _, number in receipts)
    assert len(receipts) == Payment.objects.filter(status="succeeded").count()
    assert ledger_totals_per_currency() == {"EUR": 0}


def test_one_webhook_delivered_five_times_at_once_posts_once(throwaway_mission):
    seed_fee_reference()
    mission = throwaway_mission
    cashier = make_staff(mission, "cashier")
    connection.set_tenant(mission)
    assessment = assess(cashier)
    payment, _ = payment_card_start(
        assessment=assessment,
        amount=Money(9500, "EUR"),
        idempotency_key=uuid.uuid4().hex,
        acting_user=None,
        return_path="/",
    )
    connection.set_schema_to_public()
    success = event_body(
        event_type="payment.succeeded",
        provider_ref=payment.provider_ref,
        amount_minor=9500,
        currency="EUR",
        event_id="evt_same",
    )
    decline = event_body(
        event_type="payment.declined",
        provider_ref=payment.provider_ref,
        amount_minor=9500,
        currency="EUR",
        event_id="evt_stale",
    )
    deliveries = [success] * 5 + [decline]
    random.shuffle(deliveries)
    barrier = threading.Barrier(len(deliveries))
    outcomes: list[str] = []

    def deliver(body: bytes) -> None:
        try:
            connection.set_tenant(mission)
            barrier.wait()
            outcomes.append(payment_webhook_receive(body=body, signature=sign(body)))
        finally:
            connections.close_all()

    _run([threading.Thread(target=deliver, args=(body,)) for body in deliveries])
    connection.set_tenant(mission)
    # the decline may come first (then the success still wins) or later (then it is ignored)
    assert outcomes.count("succeeded") == 1
    assert outcomes.count("duplicate") == 4
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    assert Receipt.objects.filter(payment=payment).count() == 1
    assert LedgerTransaction.objects.filter(source_type="payment").count() == 1


def test_a_day_close_waits_for_a_payment_in_flight_and_counts_it(throwaway_mission):
    from fees.models import DrawerCount
    from fees.services.day_close import day_close

    # given a cash payment whose transaction is still open
    seed_fee_reference()
    mission = throwaway_mission
    cashier = make_staff(mission, "cashier")
    connection.set_tenant(mission)
    assessment = assess(cashier)
    today = mission.today()
    connection.set_schema_to_public()
    posted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def pay() -> None:
        try:
            connection.set_tenant(mission)
            with transaction.atomic():
                payment_take_cash(
                    assessment=assessment,
                    amount=Money(9500, "EUR"),
                    idempotency_key=uuid.uuid4().hex,
                    acting_user=cashier,
                )
                posted.set()
                release.wait(10)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    def close() -> None:
        try:
            connection.set_tenant(mission)
            day_close(
                business_date=today,
                counted={cashier.pk: Money(9500, "EUR")},
                reasons={},
                acting_user=cashier,
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    payer = threading.Thread(target=pay)
    payer.start()
    assert posted.wait(10)
    # when the day is closed meanwhile
    closer = threading.Thread(target=close)
    closer.start()
    closer.join(1.5)
    # then the close waits for the payment, and counts it once it committed
    assert closer.is_alive()
    release.set()
    payer.join()
    closer.join()
    assert not errors
    connection.set_tenant(mission)
    count = DrawerCount.objects.get()
    assert (count.expected_minor, count.difference_minor) == (9500, 0)
    assert ledger_totals_per_currency() == {"EUR": 0}


@pytest.mark.parametrize("before", ["nothing charged", "charged and refunded in full"])
def test_two_cashiers_charging_one_case_at_once_charge_it_once(throwaway_mission, before):
    # given a case whose fee is not charged (or was, and was paid back in full), and two
    # cashiers at their desks
    seed_fee_reference()
    mission = throwaway_mission
    cashiers = [make_staff(mission, "cashier") for _ in range(2)]
    connection.set_tenant(mission)
    if before != "nothing charged":
        receipt = pay_cash(
            assess(cashiers[0], subject_type="case", subject_ref="P8RS6EN8AN"), cashiers[0]
        ).receipt
        note = credit_note_request(
            receipt=receipt,
            amount=receipt.amount,
            reason="Charged in error",
            acting_user=cashiers[0],
        )
        credit_note_decide(note=note, approve=True, acting_user=make_staff(mission, "consul"))
    connection.set_schema_to_public()
    # the case's own charge; once the case was charged, a walk-in at the counter quoting it
    kind = "case" if before == "nothing charged" else "walk_in"
    barrier = threading.Barrier(2)
    charged: list[Assessment] = []
    refused: list[ApplicationError] = []
    errors: list[BaseException] = []

    def charge(cashier) -> None:  # type: ignore[no-untyped-def]
        try:
            connection.set_tenant(mission)
            barrier.wait()
            charged.append(assess(cashier, subject_type=kind, subject_ref="P8RS6EN8AN"))
        except ApplicationError as error:
            refused.append(error)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    # when both charge the passport fee at the same moment
    _run([threading.Thread(target=charge, args=(cashier,)) for cashier in cashiers])
    # then one charges it, the other is refused on the reference, told where it was charged
    assert not errors
    assert (len(charged), len(refused)) == (1, 1)
    (first,), (refusal,) = charged, refused
    assert (refusal.code, refusal.field) == (FeeError.ALREADY_CHARGED, "subject_ref")
    assert refusal.details == {"assessment_id": first.pk}
    connection.set_tenant(mission)
    assert str(refusal.message) == (
        f"Already charged for P8RS6EN8AN on {day_written_short(first.assessed_on)} and not paid"
        " yet: Passport application. Take the payment on that assessment instead of charging"
        " again."
    )
    assert list(Assessment.objects.filter(status="open")) == [first]
    assert FeeLine.objects.filter(assessment=first).count() == 1
