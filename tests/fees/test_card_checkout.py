"""A card checkout the payer left, or that timed out, never locks the fee: the payer starts
again at once (the earlier checkout is cancelled at the provider, so it cannot be paid too), and
staff cancel a checkout to take the money another way. Money that still arrives for a cancelled
checkout is recorded and flagged for a refund when the fee was paid otherwise: never charged
twice without a refund flagged."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.errors import ApplicationError
from fees.error_codes import FeeError
from fees.events import FeeTopic
from fees.models import Payment, Receipt
from fees.money import Money
from fees.providers.test_provider import checkout_answer, checkout_state
from fees.selectors import assessment_balance, ledger_totals_per_currency
from fees.services import payment_card_cancel
from missions.models import Mission
from sync.models import OutboxEvent
from tests.conftest import make_staff
from tests.fees.conftest import assess, key, login, pay_cash
from tests.fees.test_webhooks import deliver, start_card

pytestmark = pytest.mark.usefixtures("fee_reference")


def _cancelled_events() -> list[dict]:
    return [
        e.payload
        for e in OutboxEvent.objects.filter(topic=FeeTopic.PAYMENT_CANCELLED.value).order_by("seq")
    ]


# --- the services --------------------------------------------------------------------------------


def test_the_payer_starts_again_at_once_and_the_earlier_checkout_cannot_be_paid(
    in_mission_b, cashier_b
):
    # given a card checkout the payer left (¥16,400 at Tokyo)
    assessment = assess(cashier_b)
    first, _ = start_card(assessment)
    # when they start again at once
    second, redirect = start_card(assessment)
    # then a new checkout starts for the whole amount, and the first is cancelled, here and at
    # the provider, with an event saying why
    assert redirect == second.checkout_url
    assert (second.status, second.amount) == ("pending", Money(16400, "JPY"))
    first.refresh_from_db()
    assert first.status == "cancelled"
    assert checkout_state(first.provider_ref) == "cancelled"
    assert _cancelled_events() == [
        {"subject_ref": assessment.subject_ref, "provider_ref": first.provider_ref,
         "reason": "superseded"}
    ]  # fmt: skip
    # and what is left to pay never read ¥0 meanwhile
    balance = assessment_balance(assessment=assessment)
    assert (balance.left_to_pay, balance.card_payable) == (Money(16400, "JPY"),) * 2
    # and paying the second settles the fee once
    assert deliver(second, "payment.succeeded") == "succeeded"
    assessment.refresh_from_db()
    assert assessment.status == "settled"
    assert Receipt.objects.count() == 1


def test_a_double_press_does_not_cancel_its_own_checkout(in_mission_b, cashier_b):
    assessment = assess(cashier_b)
    same = key()
    first, _ = start_card(assessment, idem=same)
    again, _ = start_card(assessment, idem=same)
    assert again.pk == first.pk
    first.refresh_from_db()
    assert first.status == "pending"
    assert not _cancelled_events()


def test_a_late_success_of_the_superseded_checkout_pays_and_cancels_the_new_one(
    in_mission_b, cashier_b
):
    # given a checkout superseded by a second one, still open
    assessment = assess(cashier_b)
    first, _ = start_card(assessment)
    second, _ = start_card(assessment)
    # when the provider reports that the first was paid after all (the cancel came too late)
    assert deliver(first, "payment.succeeded") == "succeeded"
    # then the money that moved pays the fee, and the second checkout is cancelled at the
    # provider so that the payer cannot pay twice
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.needs_refund) == ("succeeded", False)
    assert second.status == "cancelled"
    assert checkout_state(second.provider_ref) == "cancelled"
    assert _cancelled_events()[-1]["reason"] == "paid_otherwise"
    assessment.refresh_from_db()
    assert assessment.status == "settled"
    # and if the provider took the second too, its success is recorded and flagged for refund
    assert deliver(second, "payment.succeeded") == "succeeded"
    second.refresh_from_db()
    assert (second.status, second.needs_refund) == ("succeeded", True)
    assert Receipt.objects.count() == 2
    assert ledger_totals_per_currency() == {"JPY": 0}


def test_a_late_success_of_a_superseded_checkout_after_the_new_one_paid_is_flagged(
    in_mission_b, cashier_b
):
    assessment = assess(cashier_b)
    first, _ = start_card(assessment)
    second, _ = start_card(assessment)
    assert deliver(second, "payment.succeeded") == "succeeded"
    # when the first one's success arrives late
    assert deliver(first, "payment.succeeded") == "succeeded"
    # then it is recorded (the money moved) and flagged for a refund; the fee was paid once
    first.refresh_from_db()
    assert (first.status, first.needs_refund) == ("succeeded", True)
    second.refresh_from_db()
    assert second.needs_refund is False
    assert ledger_totals_per_currency() == {"JPY": 0}


def test_starting_again_after_the_provider_took_the_money_is_refused(in_mission_b, cashier_b):
    # given a checkout the payer paid at the provider, whose webhook has not arrived yet
    assessment = assess(cashier_b)
    first, _ = start_card(assessment)
    checkout_answer(first.provider_ref, "paid")
    # when they start again
    with pytest.raises(ApplicationError) as refused:
        start_card(assessment)
    # then nothing new starts and the first stays pending, for its success to arrive
    assert refused.value.code == FeeError.CHECKOUT_COMPLETED
    assert Payment.objects.count() == 1
    first.refresh_from_db()
    assert first.status == "pending"


def test_staff_cancel_a_checkout_and_take_cash_then_a_late_success_is_flagged(
    in_mission_b, cashier_b
):
    # given a card checkout holding the whole fee
    assessment = assess(cashier_b)
    card, _ = start_card(assessment)
    # when the cashier cancels it
    payment_card_cancel(payment=card, acting_user=cashier_b)
    # then it is cancelled at the provider, the event names the cashier, and cash can be taken
    card.refresh_from_db()
    assert card.status == "cancelled"
    assert checkout_state(card.provider_ref) == "cancelled"
    event = OutboxEvent.objects.get(topic=FeeTopic.PAYMENT_CANCELLED.value)
    assert (event.aggregate_id, event.actor_id, event.payload["reason"]) == (
        str(card.pk),
        cashier_b.pk,
        "cancelled_by_staff",
    )
    pay_cash(assessment, cashier_b)
    assessment.refresh_from_db()
    assert assessment.status == "settled"
    # and a success the provider still sends is recorded and flagged for a refund
    assert deliver(card, "payment.succeeded") == "succeeded"
    card.refresh_from_db()
    assert card.needs_refund
    assert ledger_totals_per_currency() == {"JPY": 0}
    # and a checkout no longer in progress cannot be cancelled
    with pytest.raises(ApplicationError) as refused:
        payment_card_cancel(payment=card, acting_user=cashier_b)
    assert refused.value.code.name == "BAD_TRANSITION"


def test_a_checkout_the_provider_already_paid_is_not_cancelled(in_mission_b, cashier_b):
    assessment = assess(cashier_b)
    card, _ = start_card(assessment)
    checkout_answer(card.provider_ref, "paid")
    with pytest.raises(ApplicationError) as refused:
        payment_card_cancel(payment=card, acting_user=cashier_b)
    assert refused.value.code == FeeError.CHECKOUT_COMPLETED
    card.refresh_from_db()
    assert card.status == "pending"


def test_a_partial_cash_payment_does_not_settle_while_a_card_checkout_is_open(
    in_mission_b, cashier_b
):
    # given ¥6,400 in cash, then a card checkout for the ¥10,000 left
    assessment = assess(cashier_b)
    pay_cash(assessment, cashier_b, 6400)
    card, _ = start_card(assessment)
    assert card.amount == Money(10000, "JPY")
    # when the checkout is cancelled
    payment_card_cancel(payment=card, acting_user=cashier_b)
    # then the fee is still open, with ¥10,000 left to pay
    assessment.refresh_from_db()
    assert assessment.status == "open"
    assert assessment_balance(assessment=assessment).outstanding == Money(10000, "JPY")


def test_an_expired_checkout_is_closed_at_the_provider_too(in_mission_b, cashier_b):
    from consulate.kernel.actors import SYSTEM
    from fees.services import payment_expire_stale

    assessment = assess(cashier_b)
    card, _ = start_card(assessment)
    Payment.objects.filter(pk=card.pk).update(
        created_at=dt.datetime.now(tz=dt.UTC) - dt.timedelta(hours=1)
    )
    assert payment_expire_stale(acting_user=SYSTEM) == 1
    assert checkout_state(card.provider_ref) == "cancelled"
    # one the provider says was paid stays pending, for its success to arrive
    other = assess(cashier_b)
    paid, _ = start_card(other)
    checkout_answer(paid.provider_ref, "paid")
    Payment.objects.filter(pk=paid.pk).update(
        created_at=dt.datetime.now(tz=dt.UTC) - dt.timedelta(hours=1)
    )
    assert payment_expire_stale(acting_user=SYSTEM) == 0
    paid.refresh_from_db()
    assert paid.status == "pending"


# --- the pages -----------------------------------------------------------------------------------

STARTED = dt.datetime(2026, 3, 10, 1, 10, tzinfo=dt.UTC)
PAY_AGAIN = "Pay ¥16,400 by card again"


def _text(html: str) -> str:
    """The page's words, as read: tags dropped, spaces joined."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(
    ("zone", "local", "language", "left", "again"),
    [
        # east of UTC: Tokyo; west: New York (daylight saving time from 8 March 2026)
        ("Asia/Tokyo", "10:10 (Asia/Tokyo)", "en", "Left to pay: ¥16,400", PAY_AGAIN),
        ("America/New_York", "21:10 (America/New_York)", "en", "Left to pay: ¥16,400", PAY_AGAIN),
        ("Asia/Tokyo", "10:10 (Asia/Tokyo)", "tr", "¥16.400", "¥16.400"),
    ],
)
def test_the_pay_page_offers_a_way_forward_while_a_checkout_is_open(
    client_b, mission_b, cashier_b, zone, local, language, left, again
):
    # given a payer who left the provider's page (started 01:10 UTC)
    Mission.objects.filter(pk=mission_b.pk).update(timezone=zone)
    with schema_context(mission_b.schema_name):
        assessment = assess(cashier_b)
        first, _ = start_card(assessment)
        Payment.objects.filter(pk=first.pk).update(created_at=STARTED)
    url = f"/pay/{assessment.pay_token}/"
    # when they open their pay link again
    page = client_b.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    text = _text(page)
    # then it says what is left and when the card payment started, in the mission's time zone,
    # and offers to go back to it or pay again; never "¥0, payment in progress"
    assert left in text
    assert "¥0" not in text
    assert local in text
    assert again in text
    assert first.checkout_url.replace("&", "&amp;") in page
    # when they pay again
    response = client_b.post(url, {"idempotency_key": key()}, HTTP_ACCEPT_LANGUAGE=language)
    # then they go to a new checkout, and the old one can no longer be paid
    assert response.status_code == 302
    assert response["Location"] != first.checkout_url
    old = client_b.post(first.checkout_url, {"action": "pay"}, HTTP_ACCEPT_LANGUAGE=language)
    assert old.status_code == 409
    with schema_context(mission_b.schema_name):
        assert not Receipt.objects.exists()
        assert Payment.objects.get(pk=first.pk).status == "cancelled"
    # and paying the new one settles the fee, once
    client_b.post(response["Location"], {"action": "pay"})
    page = _text(client_b.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode())
    with schema_context(mission_b.schema_name):
        assert Receipt.objects.count() == 1
    assert "by card again" not in page


def test_the_cashier_cancels_the_checkout_from_the_page_and_takes_cash(
    client_b, mission_b, cashier_b
):
    # given a card checkout holding the whole fee
    with schema_context(mission_b.schema_name):
        assessment = assess(cashier_b)
        card, _ = start_card(assessment)
    login(client_b, cashier_b)
    url = f"/fees/assessments/{assessment.pk}/"
    page = _text(client_b.get(url).content.decode())
    # the page says a card payment is in progress, offers to cancel it, and no cash yet
    assert "Card payment in progress" in page
    assert "Cancel the card payment" in page
    assert "Take cash" not in page
    # when the cashier cancels it
    response = client_b.post(f"/fees/payments/{card.pk}/cancel-card/", follow=True)
    # then the page says so and offers to take cash
    page = _text(response.content.decode())
    assert "The card payment of ¥16,400 is cancelled" in page
    assert "Take cash" in page
    assert "Left to pay ¥16,400" in page
    # and pressing it again says there is nothing to cancel
    response = client_b.post(f"/fees/payments/{card.pk}/cancel-card/")
    assert response.status_code == 400
    assert "no longer in progress" in response.content.decode()


def test_who_may_not_cancel_a_checkout_sees_no_button_and_gets_404(
    client_b, mission_a, mission_b, cashier_b, hq_analyst
):
    with schema_context(mission_b.schema_name):
        assessment = assess(cashier_b)
        card, _ = start_card(assessment)
    for user in (hq_analyst, make_staff(mission_a, "cashier")):
        login(client_b, user)
        if user is hq_analyst:
            page = client_b.get(f"/fees/assessments/{assessment.pk}/").content.decode()
            assert "Card payment in progress" in page
            assert "Cancel the card payment" not in page
        assert client_b.post(f"/fees/payments/{card.pk}/cancel-card/").status_code == 404
    with schema_context(mission_b.schema_name):
        assert Payment.objects.get(pk=card.pk).status == "pending"
