"""The fees app's outbox events: FeeTopic members, the aggregate id the primary key of the row
the topic's entity names, numbers people read in the payload, no personal data."""

import datetime as dt

import pytest

from consulate.kernel.actors import SYSTEM
from fees.error_codes import FeeError
from fees.events import FeeTopic
from fees.models import DayClose, LedgerTransaction, Remittance
from fees.money import Money
from fees.reference.error_codes import FeeReferenceError
from fees.services import (
    credit_note_decide,
    credit_note_request,
    day_close,
    remittance_record,
    waiver_decide,
    waiver_request,
)
from sync.models import OutboxEvent
from tests.fees.conftest import assess, pay_cash
from tests.fees.test_webhooks import deliver, start_card

pytestmark = pytest.mark.usefixtures("fee_reference")


def _events(topic: FeeTopic) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic=topic.value).order_by("seq"))


def test_every_fees_event_is_a_fee_topic():
    for topic in FeeTopic:
        assert topic.app == "fees"
        assert topic.value.count(".") == 2


def test_a_money_day_records_topics_keyed_by_their_rows(in_mission_a, cashier_a, consul_a):
    # given a day: an assessment, a waiver, cash with its receipt, a refund, a card payment
    # declined, the day closed
    assessment = assess(cashier_a, payer_name="Hidden Payer", subject_ref="W-EVENTS")
    waiver = waiver_request(
        line=assessment.lines.get(), category_code="humanitarian", reason="x", acting_user=cashier_a
    )
    waiver_decide(waiver=waiver, approve=False, acting_user=consul_a)
    payment = pay_cash(assessment, cashier_a, 5000)
    note = credit_note_request(
        receipt=payment.receipt, amount=Money(100, "EUR"), reason="x", acting_user=cashier_a
    )
    note = credit_note_decide(note=note, approve=True, acting_user=consul_a)
    card, _ = start_card(assessment)
    deliver(card, "payment.declined")
    day = day_close(
        business_date=in_mission_a.today(),
        counted={cashier_a.pk: Money(4900, "EUR")},
        reasons={},
        acting_user=cashier_a,
    )
    # then each event names its topic's entity by primary key, with readable references
    (created,) = _events(FeeTopic.ASSESSMENT_CREATED)
    assert (created.aggregate_type, created.aggregate_id) == ("assessment", str(assessment.pk))
    assert created.payload["subject_ref"] == "W-EVENTS"
    (rejected,) = _events(FeeTopic.WAIVER_REJECTED)
    assert (rejected.aggregate_type, rejected.aggregate_id) == ("waiver", str(waiver.pk))
    succeeded = _events(FeeTopic.PAYMENT_SUCCEEDED)[0]
    assert (succeeded.aggregate_type, succeeded.aggregate_id) == ("payment", str(payment.pk))
    assert succeeded.payload["receipt"] == payment.receipt.number
    (approved,) = _events(FeeTopic.CREDIT_NOTE_APPROVED)
    assert (approved.aggregate_type, approved.aggregate_id) == ("credit_note", str(note.pk))
    assert approved.payload["number"] == note.number
    (declined,) = _events(FeeTopic.PAYMENT_DECLINED)
    assert (declined.aggregate_id, declined.actor_id) == (str(card.pk), None)
    posted = _events(FeeTopic.LEDGER_TRANSACTION_POSTED)
    assert {e.aggregate_id for e in posted} == {
        str(pk) for pk in LedgerTransaction.objects.values_list("pk", flat=True)
    }
    (closed,) = _events(FeeTopic.DAY_CLOSE_RECORDED)
    assert (closed.aggregate_type, closed.aggregate_id) == ("day_close", str(day.pk))
    assert closed.payload["business_date"] == in_mission_a.today().isoformat()
    assert DayClose.objects.get(pk=day.pk)
    # and every event is a FeeTopic at version 1, with no payer's name in it
    events = OutboxEvent.objects.filter(topic__startswith="fees.")
    assert {e.topic for e in events} <= {t.value for t in FeeTopic}
    assert {e.version for e in events} == {1}
    assert all("Hidden Payer" not in str(e.payload) for e in events)


def test_a_remittance_is_keyed_by_its_row_and_says_its_month(in_mission_b, consul_b):
    last_month = (in_mission_b.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    remittance = remittance_record(month=last_month, base_currency="EUR", acting_user=consul_b)
    (event,) = _events(FeeTopic.REMITTANCE_RECORDED)
    assert (event.aggregate_type, event.aggregate_id) == ("remittance", str(remittance.pk))
    assert event.payload["month"] == f"{last_month:%Y-%m}"
    assert Remittance.objects.get().pk == remittance.pk


def test_the_platforms_expiry_is_recorded_as_nobodys(in_mission_b, cashier_b):
    from fees.models import Payment
    from fees.services import payment_expire_stale

    card, _ = start_card(assess(cashier_b))
    Payment.objects.filter(pk=card.pk).update(
        created_at=dt.datetime.now(tz=dt.UTC) - dt.timedelta(hours=1)
    )
    assert payment_expire_stale(acting_user=SYSTEM) == 1
    (expired,) = _events(FeeTopic.PAYMENT_EXPIRED)
    assert (expired.aggregate_id, expired.actor_id) == (str(card.pk), None)


def test_error_codes_are_namespaced_by_app():
    assert all(code.value.startswith("fees.") for code in FeeError)
    assert all(code.value.startswith("fees.reference.") for code in FeeReferenceError)
    # not found and not allowed are everyone's: CommonError, never an app copy
    assert not {"NOT_FOUND", "NOT_ALLOWED"} & set(FeeError.__members__)
    assert FeeReferenceError.__name__ != "ReferenceError"
