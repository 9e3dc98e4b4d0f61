"""Raw SQL against the rules of migration 0009, under what the application may send: a closed
day cannot be reopened by moving its date, drawer counts and decided waivers never change,
assessments are never deleted, and the receipt counter cannot step without a receipt."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from fees import services
from fees.models import DayClose, Waiver
from fees.money import Money
from tests.fees.conftest import assess, pay_cash
from tests.fees.factories import WaiverFactory

pytestmark = pytest.mark.usefixtures("fee_reference")


def _refused(sql: str, match: str | None = None) -> None:
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        connection.cursor().execute(sql)


def _close_today(cashier, mission) -> DayClose:  # type: ignore[no-untyped-def]
    payment = pay_cash(assess(cashier), cashier)
    return services.day_close(
        business_date=mission.today(),
        counted={cashier.pk: Money(payment.amount_minor, payment.currency)},
        reasons={},
        acting_user=cashier,
    )


def test_a_closed_day_cannot_be_reopened_by_moving_its_date(in_mission_a, cashier_a):
    # given today closed
    closed = _close_today(cashier_a, in_mission_a)
    # when raw SQL moves the close to another date, or changes its drawer counts
    _refused("UPDATE fees_dayclose SET business_date = '1900-01-01'")
    _refused("UPDATE fees_drawercount SET counted_minor = counted_minor + 100")
    _refused("DELETE FROM fees_drawercount")
    # then the day is still closed to postings
    assert DayClose.objects.get(pk=closed.pk).business_date == in_mission_a.today()
    _refused(
        "INSERT INTO fees_ledgertransaction (kind, business_date, source_type, source_id,"
        " created_at) VALUES ('payment', current_date, 'x', 1, now())",
    )


def test_a_decided_waiver_never_changes_and_none_is_deleted(in_mission_a, cashier_a, consul_a):
    # given a waiver a consul approved
    waiver = WaiverFactory(assessment=assess(cashier_a), acting_user=cashier_a)
    services.waiver_decide(waiver=waiver, approve=True, acting_user=consul_a)
    # when raw SQL doubles it, reopens it or deletes it, then the database refuses
    _refused("UPDATE fees_waiver SET amount_minor = amount_minor * 2", "never changes")
    _refused("UPDATE fees_waiver SET status = 'requested'", "never changes")
    _refused("DELETE FROM fees_waiver", "never deleted")
    assert Waiver.objects.get(pk=waiver.pk).amount_minor == waiver.amount_minor


def test_what_a_waiver_asks_for_never_changes_before_the_decision(in_mission_a, cashier_a):
    WaiverFactory(assessment=assess(cashier_a), acting_user=cashier_a)
    _refused("UPDATE fees_waiver SET amount_minor = amount_minor + 1", "never changes")
    _refused("UPDATE fees_waiver SET requested_by_id = requested_by_id + 1", "never changes")


def test_assessments_are_never_deleted(in_mission_a, cashier_a):
    assess(cashier_a)
    _refused("DELETE FROM fees_assessment")
    _refused("TRUNCATE fees_assessment CASCADE")


def test_the_counter_cannot_step_without_a_receipt(in_mission_a, cashier_a):
    # given receipt 1 this year
    pay_cash(assess(cashier_a), cashier_a)
    # when raw SQL steps the counter by one with no receipt to carry the number
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SAVEPOINT before_step")
        cursor.execute("UPDATE fees_numbercounter SET last_seq = last_seq + 1 WHERE series = 'R'")
        # then the check that runs at commit refuses it
        with pytest.raises(DatabaseError, match="was given to no document"):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ROLLBACK TO SAVEPOINT before_step")
    # and the next receipt is number 2: no gap
    assert pay_cash(assess(cashier_a), cashier_a).receipt.seq == 2
