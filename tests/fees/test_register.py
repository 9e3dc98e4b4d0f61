"""HQ's revenue register (fees/register/): built from the fee events a mission writes, by
`sync.registry.events_project`, the way HQ's apply calls it. Each test tries to make it count
money twice, lose some, date it wrongly, or take a bad amount into its sums."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import IntegrityError, connection, transaction

from fees.money import Money
from fees.register import selectors
from fees.register.models import RevenueDay, RevenueMonth, RevenuePosting
from fees.services import credit_note_decide, credit_note_request, day_close
from sync.hq.models import SkippedEvent
from sync.registry import events_project
from tests.fees.conftest import assess, pay_cash
from tests.fees.test_webhooks import deliver, start_card
from tests.registers import (
    central_log,
    outbox_on_the_wire,
    project_again,
    shuffled_batches,
)

pytestmark = pytest.mark.usefixtures("fee_reference")

SUCCEEDED = "fees.payment.succeeded"
APPROVED = "fees.credit_note.approved"
POSTED = "fees.ledger_transaction.posted"


def fee_events() -> list[dict]:
    """The current schema's fee events, in seq order, on the wire."""
    return outbox_on_the_wire("fees.")


def register_state() -> tuple[list, list]:
    postings = list(
        RevenuePosting.objects.order_by("mission", "seq").values_list(
            "mission", "seq", "kind", "source_id", "document", "method", "business_date",
            "business_date_confirmed", "amount_minor", "currency", "base_amount_minor",
            "base_currency",
        )
    )  # fmt: skip
    days = list(
        RevenueDay.objects.order_by("mission", "business_date", "currency").values_list(
            "mission", "business_date", "currency", "base_currency", "payments", "payments_minor",
            "payments_base_minor", "refunds", "refunds_minor", "refunds_base_minor",
        )
    )  # fmt: skip
    assert_months_are_the_days_summed(days)
    return postings, days


def assert_months_are_the_days_summed(days: list[tuple]) -> None:
    """`RevenueMonth`, kept by the same batches, holds the sums of `RevenueDay` per month."""
    summed: dict[tuple, list[int]] = {}
    for mission, day, currency, base_currency, *sums in days:
        key = (mission, day.replace(day=1), currency, base_currency)
        summed[key] = [a + b for a, b in zip(summed.get(key, [0] * 6), sums, strict=True)]
    months = {
        (m.mission, m.month, m.currency, m.base_currency): [
            m.payments, m.payments_minor, m.payments_base_minor,
            m.refunds, m.refunds_minor, m.refunds_base_minor,
        ]
        for m in RevenueMonth.objects.all()
    }  # fmt: skip
    assert {k: v for k, v in months.items() if any(v)} == {
        k: v for k, v in summed.items() if any(v)
    }


@pytest.fixture
def alpha_days(in_mission_a, cashier_a, consul_a):
    """Alpha's (EUR) money of a day, by the real services: cash 5000 with a refund of 100, a
    card payment, a declined card, the day closed, then a refund of 200 approved after the close
    (so its ledger posting goes to the next day). Returns (events, today, next day)."""
    cash_assessment = assess(cashier_a, subject_ref="R-CASH")
    payment = pay_cash(cash_assessment, cashier_a, 5000)
    note = credit_note_request(
        receipt=payment.receipt, amount=Money(100, "EUR"), reason="x", acting_user=cashier_a
    )
    credit_note_decide(note=note, approve=True, acting_user=consul_a)
    card_assessment = assess(cashier_a, subject_ref="R-CARD")
    declined, _ = start_card(card_assessment)
    deliver(declined, "payment.declined")
    card, _ = start_card(card_assessment)
    assert deliver(card, "payment.succeeded") == "succeeded"
    today = in_mission_a.today()
    day_close(
        business_date=today,
        counted={cashier_a.pk: Money(4900, "EUR")},
        reasons={},
        acting_user=cashier_a,
    )
    late = credit_note_request(
        receipt=payment.receipt, amount=Money(200, "EUR"), reason="y", acting_user=cashier_a
    )
    credit_note_decide(note=late, approve=True, acting_user=consul_a)
    events = fee_events()
    connection.set_schema_to_public()
    return events, today, today + dt.timedelta(days=1)


def _only(events: list[dict], topic: str) -> list[dict]:
    return [e for e in events if e["topic"] == topic]


def test_each_payment_and_refund_is_registered_once_in_local_and_base_currency(alpha_days):
    # given alpha's day (its ledger events carry the same money again)
    events, today, next_day = alpha_days
    succeeded = _only(events, SUCCEEDED)
    approved = _only(events, APPROVED)
    assert (len(succeeded), len(approved)) == (2, 2)
    assert len(_only(events, POSTED)) >= 5  # payments, refunds, the day's close
    # when HQ projects them
    events_project(mission="alpha", events=events)
    # then there is one posting per payment and per refund, keyed by its event's seq
    postings = {p.seq: p for p in RevenuePosting.objects.filter(mission="alpha")}
    assert set(postings) == {e["seq"] for e in succeeded + approved}
    for event in succeeded:
        posting = postings[event["seq"]]
        payload = event["payload"]
        assert (posting.kind, posting.source_id, posting.document, posting.method) == (
            "payment", event["aggregate_id"], payload["receipt"], payload["method"],
        )  # fmt: skip
        assert (posting.amount_minor, posting.base_amount_minor) == (
            payload["amount_minor"], payload["base_amount_minor"],
        )  # fmt: skip
        assert posting.business_date == today
    refunds = sorted((postings[e["seq"]] for e in approved), key=lambda p: p.seq)
    assert [(p.amount_minor, p.base_amount_minor, p.business_date) for p in refunds] == [
        (-100, -100, today),
        (-200, -200, next_day),  # approved after the close: its ledger posting's day
    ]
    assert all(p.business_date_confirmed for p in refunds)
    # and the days sum them, counted once (the ledger's copy of the money is not added)
    paid = sum(e["payload"]["amount_minor"] for e in succeeded)
    assert register_state()[1] == [
        ("alpha", today, "EUR", "EUR", 2, paid, paid, 1, 100, 100),
        ("alpha", next_day, "EUR", "EUR", 0, 0, 0, 1, 200, 200),
    ]
    assert not SkippedEvent.objects.exists()


def test_a_foreign_currency_is_summed_in_both(in_mission_b, cashier_b):
    # given a payment in yen at Tokyo, converted to HQ's base currency by the mission
    pay_cash(assess(cashier_b, subject_ref="R-JPY"), cashier_b)
    events = fee_events()
    connection.set_schema_to_public()
    (succeeded,) = _only(events, SUCCEEDED)
    payload = succeeded["payload"]
    assert (payload["currency"], payload["base_currency"]) == ("JPY", "EUR")
    # when HQ projects them
    events_project(mission="beta", events=events)
    # then the day holds yen and their euro value, as the mission had them
    (day,) = RevenueDay.objects.filter(mission="beta")
    assert (day.currency, day.base_currency, day.payments) == ("JPY", "EUR", 1)
    assert (day.payments_minor, day.payments_base_minor) == (
        payload["amount_minor"], payload["base_amount_minor"],
    )  # fmt: skip
    # and a month's revenue in base currency is that
    (month,) = selectors.revenue_per_mission_per_month(
        date_from=day.business_date, date_to=day.business_date
    )
    assert (month["mission"], month["net_base_minor"]) == ("beta", payload["base_amount_minor"])


def test_a_batch_applied_twice_or_again_in_pieces_changes_nothing(alpha_days):
    events, _, _ = alpha_days
    events_project(mission="alpha", events=events)
    once = register_state()
    project_again("alpha", events)
    assert register_state() == once


def test_a_refund_whose_ledger_posting_comes_later_is_moved_to_its_business_date(alpha_days):
    # given the late refund's approval, without the ledger posting before it (reconciliation
    # hands that one later), and nothing of it in HQ's event log
    events, _today, next_day = alpha_days
    late_approval = _only(events, APPROVED)[-1]
    (ledger,) = [
        e for e in _only(events, POSTED)
        if e["payload"]["source_type"] == "credit_note"
        and e["payload"]["source_id"] == int(late_approval["aggregate_id"])
    ]  # fmt: skip
    # when HQ projects the approval alone
    events_project(mission="alpha", events=[late_approval])
    # then the refund is counted once, on the UTC date of its approval, marked unconfirmed
    posting = RevenuePosting.objects.get(mission="alpha", seq=late_approval["seq"])
    approval_day = dt.datetime.fromisoformat(late_approval["occurred_at"]).date()
    assert (posting.business_date, posting.business_date_confirmed) == (approval_day, False)
    assert RevenueDay.objects.get(business_date=approval_day).refunds_minor == 200
    # when the ledger posting arrives
    events_project(mission="alpha", events=[ledger])
    # then the refund moves to its business date, and the approval's date holds nothing of it
    posting.refresh_from_db()
    assert (posting.business_date, posting.business_date_confirmed) == (next_day, True)
    sums = dict(RevenueDay.objects.values_list("business_date", "refunds_minor"))
    assert sums == {approval_day: 0, next_day: 200}
    register_state()  # and the months moved with the days


def test_a_refund_dated_from_hqs_event_log_when_its_ledger_posting_came_in_an_earlier_bundle(
    alpha_days,
):
    # given the late refund's ledger posting applied by HQ in an earlier bundle (its log)
    events, _, next_day = alpha_days
    late_approval = _only(events, APPROVED)[-1]
    ledger = [e for e in _only(events, POSTED) if e["seq"] < late_approval["seq"]][-1]
    assert ledger["payload"]["kind"] == "refund"
    central_log("alpha", [ledger])
    # when the approval comes in the next bundle
    events_project(mission="alpha", events=[late_approval])
    # then it is dated by that posting at once
    posting = RevenuePosting.objects.get(mission="alpha", seq=late_approval["seq"])
    assert (posting.business_date, posting.business_date_confirmed) == (next_day, True)


def test_any_order_and_any_split_into_batches_gives_the_same_register(alpha_days):
    events, _, _ = alpha_days
    events_project(mission="alpha", events=events)
    in_order = register_state()
    for seed in range(25):
        rng = random.Random(seed)
        with transaction.atomic():
            RevenuePosting.objects.all().delete()
            RevenueDay.objects.all().delete()
            RevenueMonth.objects.all().delete()
            # when they come shuffled, some twice, split into batches at random points, each
            # logged by HQ before it is projected
            for batch in shuffled_batches(events, rng):
                central_log("alpha", batch)
                events_project(mission="alpha", events=batch)
            # then the register is the same
            postings, days = register_state()
            # the same postings and the same sums (an empty row may stay where a refund
            # was first dated)
            assert postings == in_order[0], f"seed {seed}"
            assert [d for d in days if any(d[4:])] == in_order[1], f"seed {seed}"
            transaction.set_rollback(True)


def _payment(seq: int, **overrides) -> dict:
    """A `fees.payment.succeeded` event shaped as fees/services/payment.py writes it."""
    payload = {
        "subject_ref": "R-1",
        "method": "cash",
        "amount_minor": 1000,
        "currency": "EUR",
        "base_amount_minor": 1000,
        "base_currency": "EUR",
        "rate": "1",
        "receipt": f"BER-2026-{seq:06d}",
        "business_date": "2026-12-03",
        "needs_refund": False,
    }
    version = overrides.pop("version", 1)
    return {
        "seq": seq,
        "topic": SUCCEEDED,
        "aggregate_type": "payment",
        "aggregate_id": str(seq),
        "payload": {**payload, **overrides},
        "version": version,
        "actor_id": 7,
        "occurred_at": "2026-12-03T10:00:00.000000Z",
    }


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"amount_minor": "1000"}, "amount_minor"),
        ({"amount_minor": 1000.5}, "amount_minor"),
        ({"amount_minor": 1000.0}, "amount_minor"),
        ({"amount_minor": True}, "amount_minor"),
        ({"amount_minor": -1000}, "amount_minor"),
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": 10**19}, "amount_minor"),
        ({"amount_minor": None}, "amount_minor"),
        ({"base_amount_minor": "1e3"}, "base_amount_minor"),
        ({"base_amount_minor": -1}, "base_amount_minor"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"base_currency": None}, "base_currency"),
        ({"business_date": "2026-13-01"}, "business_date"),
        ({"business_date": 20261203}, "business_date"),
        ({"receipt": ""}, "receipt"),
        ({"version": 2}, "version"),
    ],
)
def test_a_bad_amount_or_field_is_skipped_and_cannot_corrupt_the_sums(mission_a, overrides, reason):
    # given a batch with a good payment before and after a broken one
    batch = [
        _payment(1),
        _payment(2, **overrides),
        _payment(3, amount_minor=250, base_amount_minor=250),
    ]
    # when HQ projects it
    events_project(mission="alpha", events=batch)
    # then the broken event is recorded with its reason; the good ones are counted (the staff
    # activity register, which reads payments too, skips a version it does not know as well)
    (skipped,) = SkippedEvent.objects.filter(projector="fees.revenue")
    assert (skipped.seq, skipped.topic) == (2, SUCCEEDED)
    assert reason in skipped.reason
    assert sorted(RevenuePosting.objects.values_list("seq", flat=True)) == [1, 3]
    register_state()  # the month sums agree
    # and raw SQL reads whole minor units of the good payments only
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(payments), sum(payments_minor), sum(payments_base_minor),"
            " pg_typeof(sum(payments_minor))::text FROM fees_register_revenueday"
        )
        assert cursor.fetchone() == (2, 1250, 1250, "numeric")
        cursor.execute(
            "SELECT count(*) FROM fees_register_revenueday"
            " WHERE payments_minor <> trunc(payments_minor)"
        )
        assert cursor.fetchone() == (0,)


@pytest.mark.parametrize(
    "envelope",
    [
        {"aggregate_id": "12\x0034"},
        {"aggregate_id": 12},
        {"seq": 2**70},
        {"seq": 2.0},
        {"version": True},
        {"occurred_at": "9999-12-31T23:59:59.999999-14:00"},
        {"occurred_at": "yesterday"},
        {"payload": "1000 EUR"},
    ],
)
def test_a_broken_envelope_is_skipped_without_stopping_the_batch(mission_a, envelope):
    batch = [_payment(1), {**_payment(2), **envelope}, _payment(3)]
    events_project(mission="alpha", events=batch)
    assert sorted(RevenuePosting.objects.values_list("seq", flat=True)) == [1, 3]
    # (the staff activity register, which reads a payment taken by someone, skips it too)
    assert SkippedEvent.objects.filter(projector="fees.revenue").count() == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE fees_register_revenueposting SET amount_minor = -amount_minor",
        "UPDATE fees_register_revenueposting SET currency = 'eur'",
        "UPDATE fees_register_revenueposting SET kind = 'refund'",
        "UPDATE fees_register_revenueday SET refunds_minor = -1",
        "UPDATE fees_register_revenueday SET payments = payments - 2",
        "UPDATE fees_register_revenuemonth SET payments_minor = -1",
        "UPDATE fees_register_revenuemonth SET month = month + 1",
        "INSERT INTO fees_register_revenueposting (mission, seq, kind, source_id, document,"
        " method, business_date, business_date_confirmed, amount_minor, currency,"
        " base_amount_minor, base_currency, occurred_at) SELECT mission, seq + 1, kind,"
        " source_id, document, method, business_date, true, amount_minor, currency,"
        " base_amount_minor, base_currency, occurred_at FROM fees_register_revenueposting",
    ],
)
def test_the_database_refuses_money_that_cannot_be(mission_a, statement):
    # given a registered payment
    events_project(mission="alpha", events=[_payment(1)])
    # when raw SQL turns it negative, lowercases its currency, or registers it twice
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_revenue_reads_are_one_query_each(alpha_days, django_assert_num_queries):
    events, today, next_day = alpha_days
    events_project(mission="alpha", events=events)
    with django_assert_num_queries(1):
        months = selectors.revenue_per_mission_per_month(date_from=today, date_to=next_day)
    with django_assert_num_queries(1):
        days = list(selectors.revenue_days(mission="alpha", date_from=today, date_to=next_day))
    with django_assert_num_queries(1):
        postings = list(selectors.revenue_postings(mission="alpha", business_date=today))
    paid = sum(e["payload"]["amount_minor"] for e in _only(events, SUCCEEDED))
    assert sum(m["net_base_minor"] for m in months) == paid - 300
    assert [d.business_date for d in days] == [today, next_day]
    assert [p.kind for p in postings] == ["payment", "refund", "payment"]


def test_the_projector_reads_the_money_topics():
    from sync.registry import projectors

    (mine,) = [p for p in projectors() if p.name == "fees.revenue"]
    assert mine.topics == {SUCCEEDED, APPROVED, POSTED}


def test_the_register_is_built_again_from_hqs_event_log(alpha_days):
    from fees.register.projector import revenue_rebuild

    # given alpha's money applied at HQ: in its event log and in the register
    events, _, _ = alpha_days
    central_log("alpha", events)
    events_project(mission="alpha", events=events)
    applied = register_state()
    # when the register is damaged and built again, in small batches
    RevenueDay.objects.filter(mission="alpha").update(payments_minor=1)
    RevenueMonth.objects.filter(mission="alpha").update(refunds=7)
    RevenuePosting.objects.filter(mission="alpha", kind="refund").delete()
    read = revenue_rebuild(mission="alpha", batch_size=3)
    # then it is what applying the events made
    assert read == len([e for e in events if e["topic"] in (SUCCEEDED, APPROVED, POSTED)])
    assert register_state() == applied
