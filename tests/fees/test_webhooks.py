"""Card payments through the test provider: signed webhooks, declines, timeouts, duplicates
and out-of-order delivery."""

import datetime as dt
import json

import pytest

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from fees.error_codes import FeeError
from fees.models import LedgerTransaction, Payment, Receipt, WebhookEvent
from fees.money import Money
from fees.providers.test_provider import event_body, sign
from fees.selectors import assessment_balance, ledger_totals_per_currency
from fees.services.payment import payment_card_start, payment_webhook_receive
from tests.fees.conftest import assess, key, pay_cash

pytestmark = pytest.mark.usefixtures("fee_reference")


def start_card(assessment, amount_minor=None, idem=None):
    amount = (
        Money(amount_minor, assessment.currency)
        if amount_minor
        else assessment_balance(assessment=assessment).card_payable
    )
    return payment_card_start(
        assessment=assessment,
        amount=amount,
        idempotency_key=idem or key(),
        acting_user=None,
        return_path="/pay/x/",
    )


def deliver(payment, event_type, event_id=None, when=None):
    body = event_body(
        event_type=event_type,
        provider_ref=payment.provider_ref,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        event_id=event_id,
        occurred_at=when,
    )
    return payment_webhook_receive(body=body, signature=sign(body))


def test_card_checkout_redirects_to_the_hosted_page_and_reserves_the_amount(
    in_mission_b, cashier_b
):
    assessment = assess(cashier_b)
    payment, redirect = start_card(assessment)
    assert redirect.startswith("/test-provider/checkout/?s=")
    assert payment.status == "pending"
    # while the card payment is pending, the counter cannot take the same amount in cash
    with pytest.raises(ApplicationError) as refused:
        pay_cash(assessment, cashier_b, 100)
    assert refused.value.code == FeeError.OVERPAYMENT
    # the same key answers the same checkout
    again, again_redirect = start_card(assessment, amount_minor=16400, idem=payment.idempotency_key)
    assert (again.pk, again_redirect) == (payment.pk, redirect)


def test_a_success_posts_once_however_often_it_arrives(in_mission_b, cashier_b):
    assessment = assess(cashier_b)
    payment, _ = start_card(assessment)
    outcomes = [deliver(payment, "payment.succeeded", event_id="evt_1") for _ in range(5)]
    assert outcomes == ["succeeded"] + ["duplicate"] * 4
    assert Receipt.objects.filter(payment=payment).count() == 1
    assert LedgerTransaction.objects.filter(source_type="payment").count() == 1
    assert ledger_totals_per_currency() == {"JPY": 0}


def test_a_decline_arriving_after_the_success_is_ignored(in_mission_b, cashier_b):
    assessment = assess(cashier_b)
    payment, _ = start_card(assessment)
    now = dt.datetime.now(tz=dt.UTC)
    assert deliver(payment, "payment.succeeded", when=now) == "succeeded"
    late = deliver(payment, "payment.declined", when=now - dt.timedelta(seconds=5))
    assert late == "ignored_out_of_order"
    payment.refresh_from_db()
    assert payment.status == "succeeded"


def test_a_decline_frees_the_amount_and_a_retry_can_pay(in_mission_b, cashier_b):
    assessment = assess(cashier_b)
    payment, _ = start_card(assessment)
    assert deliver(payment, "payment.declined") == "declined"
    assert not Receipt.objects.exists()
    assert assessment_balance(assessment=assessment).outstanding == Money(16400, "JPY")
    retry, _ = start_card(assessment)
    assert deliver(retry, "payment.succeeded") == "succeeded"
    assessment.refresh_from_db()
    assert assessment.status == "settled"


def test_a_success_after_a_timeout_is_recorded_and_flagged_if_no_longer_due(
    in_mission_b, cashier_b
):
    # given a card payment that timed out, after which the payer paid cash
    assessment = assess(cashier_b)
    payment, _ = start_card(assessment)
    assert deliver(payment, "payment.expired") == "expired"
    pay_cash(assessment, cashier_b)
    # when the provider's late success arrives
    assert deliver(payment, "payment.succeeded") == "succeeded"
    # then the money that moved is recorded and flagged for a refund
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert payment.needs_refund
    assert ledger_totals_per_currency() == {"JPY": 0}


def test_a_forged_or_tampered_webhook_is_refused(in_mission_b, cashier_b):
    assessment = assess(cashier_b)
    payment, _ = start_card(assessment)
    body = event_body(
        event_type="payment.succeeded",
        provider_ref=payment.provider_ref,
        amount_minor=payment.amount_minor,
        currency="JPY",
    )
    signature = sign(body)
    tampered = json.loads(body)
    tampered["data"]["amount_minor"] = 1
    for attempt_body, attempt_signature in (
        (json.dumps(tampered).encode(), signature),
        (body, "t=1,v1=00"),
        (body, sign(body, timestamp=1)),  # replayed from long ago
    ):
        with pytest.raises(ApplicationError) as refused:
            payment_webhook_receive(body=attempt_body, signature=attempt_signature)
        assert refused.value.code == FeeError.BAD_SIGNATURE
    assert Payment.objects.get().status == "pending"
    assert not WebhookEvent.objects.exists()


def test_the_webhook_endpoint_answers_200_for_duplicates_and_400_for_bad_signatures(
    client_b, mission_b, cashier_b
):
    from django_tenants.utils import schema_context

    with schema_context(mission_b.schema_name):
        assessment = assess(cashier_b)
        payment, _ = start_card(assessment)
    body = event_body(
        event_type="payment.succeeded",
        provider_ref=payment.provider_ref,
        amount_minor=payment.amount_minor,
        currency="JPY",
    )
    post = lambda sig: client_b.post(  # noqa: E731
        "/fees/webhooks/test/",
        body,
        content_type="application/json",
        HTTP_X_TEST_SIGNATURE=sig,
    )
    assert post(sign(body)).status_code == 200
    assert post(sign(body)).json()["outcome"] == "duplicate"
    assert post("t=1,v1=bad").status_code == 400


def test_a_checkout_nobody_answers_expires_and_frees_the_amount(in_mission_b, cashier_b):
    from fees.models import Payment
    from fees.services.payment import payment_expire_stale

    assessment = assess(cashier_b)
    payment, _ = start_card(assessment)
    Payment.objects.filter(pk=payment.pk).update(
        created_at=dt.datetime.now(tz=dt.UTC) - dt.timedelta(hours=1)
    )
    assert payment_expire_stale(acting_user=SYSTEM, older_than_minutes=30) == 1
    payment.refresh_from_db()
    assert payment.status == "expired"
    assert assessment_balance(assessment=assessment).outstanding == Money(16400, "JPY")
