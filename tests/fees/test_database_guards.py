"""Raw SQL against the money rules of migration 0006: the receipt counter only steps by one and
is never deleted, payment and fee-line amounts never change in place, provider events are never
changed or deleted. Each statement is tried as the application would send it, and refused."""

import pytest
from django.db import DatabaseError, connection, transaction

from fees.models import FeeLine, NumberCounter, Payment, Receipt, WebhookEvent
from tests.fees.conftest import assess, pay_cash
from tests.fees.test_webhooks import deliver, start_card

pytestmark = pytest.mark.usefixtures("fee_reference")


def _refused(sql: str, match: str) -> None:
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        connection.cursor().execute(sql)


@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("UPDATE fees_numbercounter SET last_seq = last_seq + 10", "only moves by one"),
        ("UPDATE fees_numbercounter SET last_seq = last_seq - 1", "only moves by one"),
        ("UPDATE fees_numbercounter SET last_seq = last_seq", "only moves by one"),
        ("UPDATE fees_numbercounter SET year = year + 1, last_seq = last_seq + 1", "only moves"),
        ("UPDATE fees_numbercounter SET series = 'C', last_seq = last_seq + 1", "only moves"),
        ("DELETE FROM fees_numbercounter", "append-only"),
        ("TRUNCATE fees_numbercounter", "append-only|pending trigger events"),
        (
            "INSERT INTO fees_numbercounter (series, year, last_seq) VALUES ('R', 2099, 500)",
            "starts at 1",
        ),
    ],
)
def test_the_receipt_counter_only_steps_by_one(in_mission_a, cashier_a, sql, match):
    # given a receipt numbered 1 this year
    pay_cash(assess(cashier_a), cashier_a)
    counter = NumberCounter.objects.get(series="R")
    # when raw SQL moves the counter by anything but one, or deletes it
    _refused(sql, match)
    # then it is where it was, and the next receipt is the next number
    assert NumberCounter.objects.get(pk=counter.pk).last_seq == 1
    pay_cash(assess(cashier_a), cashier_a)
    assert sorted(Receipt.objects.values_list("seq", flat=True)) == [1, 2]


def test_a_step_by_one_is_what_numbering_does(in_mission_a):
    # the trigger's own upsert, as a receipt takes its number: a new series starts at 1, each
    # number adds one; at commit each number belongs to its document (migration 0009)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO fees_numbercounter (series, year, last_seq) VALUES ('R', 2099, 1)"
        )
        cursor.execute(
            "UPDATE fees_numbercounter SET last_seq = last_seq + 1 WHERE year = 2099 RETURNING"
            " last_seq"
        )
        assert cursor.fetchone() == (2,)
        # no receipt carries these numbers: roll the savepoint back before the commit check
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE fees_payment SET amount_minor = 1",
        "UPDATE fees_payment SET amount_minor = amount_minor * 2, base_amount_minor = 0",
        "UPDATE fees_payment SET currency = 'JPY'",
        "UPDATE fees_payment SET rate = rate + 1",
        "UPDATE fees_payment SET assessment_id = assessment_id + 1",
    ],
)
def test_a_payments_amount_cannot_be_updated_in_place(in_mission_a, cashier_a, sql):
    # given a 95.00 EUR payment
    payment = pay_cash(assess(cashier_a), cashier_a)
    # when raw SQL rewrites it
    _refused(sql, "amount never changes")
    # then it is as it was
    payment.refresh_from_db()
    assert (payment.amount_minor, payment.currency, payment.base_amount_minor) == (
        9500,
        "EUR",
        9500,
    )


def test_payments_are_never_deleted_but_their_status_still_moves(in_mission_a, cashier_a):
    payment = pay_cash(assess(cashier_a), cashier_a)
    _refused("DELETE FROM fees_payment", "never deleted")
    connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")  # as at a commit
    _refused("TRUNCATE fees_payment CASCADE", "append-only")
    # the columns a payment's life changes are not frozen
    with connection.cursor() as cursor:
        cursor.execute("UPDATE fees_payment SET needs_refund = true WHERE id = %s", [payment.pk])
    assert Payment.objects.get(pk=payment.pk).needs_refund


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE fees_feeline SET amount_minor = 1",
        "UPDATE fees_feeline SET base_amount_minor = base_amount_minor + 1",
        "UPDATE fees_feeline SET rate = 1, rate_date = '2020-01-01'",
        "UPDATE fees_feeline SET service = 'visa'",
        "DELETE FROM fees_feeline",
    ],
)
def test_a_fee_lines_amount_cannot_be_updated_or_the_line_deleted(in_mission_b, cashier_b, sql):
    # given a 16,400 JPY passport fee at 172.35 per EUR
    line = assess(cashier_b).lines.get()
    # when raw SQL rewrites or deletes it
    _refused(sql, "fee line")
    # then it is as it was
    line = FeeLine.objects.get(pk=line.pk)
    assert (line.amount_minor, line.base_amount_minor, str(line.rate)) == (
        16400,
        9500,
        "172.3500000000",
    )


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM fees_webhookevent",
        "UPDATE fees_webhookevent SET outcome = 'declined'",
        "UPDATE fees_webhookevent SET event_id = 'evt_other'",
        "TRUNCATE fees_webhookevent",
    ],
)
def test_provider_events_cannot_be_deleted_or_changed(in_mission_b, cashier_b, sql):
    # given a card success processed once
    payment, _ = start_card(assess(cashier_b))
    assert deliver(payment, "payment.succeeded", event_id="evt_guard") == "succeeded"
    # when raw SQL deletes or rewrites its record (so that a replay would post again)
    _refused(sql, "append-only")
    # then the record stands, and a replay of the event changes nothing
    assert WebhookEvent.objects.get().outcome == "succeeded"
    assert deliver(payment, "payment.succeeded", event_id="evt_guard") == "duplicate"
    assert Receipt.objects.filter(payment=payment).count() == 1
