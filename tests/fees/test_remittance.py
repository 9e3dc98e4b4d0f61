"""The monthly statement to HQ, recorded once as owed to HQ."""

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from consulate.kernel.errors import ApplicationError, CommonError
from fees.error_codes import FeeError
from fees.models import LedgerTransaction, Receipt, Remittance
from fees.money import Money
from fees.selectors import account_balances, ledger_totals_per_currency, remittance_statement
from fees.services.remittance import remittance_record
from sync.models import OutboxEvent
from tests.fees.conftest import assess, pay_cash

pytestmark = pytest.mark.usefixtures("fee_reference")


def _last_month_today(mission):
    """Move today's postings into last month (test set-up: receipts are dated by the DB)."""

    today = mission.today()
    last = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=15)
    with connection.cursor() as cursor:
        # as a superuser restoring data would: triggers off for this one statement
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE fees_receipt SET business_date = %s", [last])
        cursor.execute("SET LOCAL session_replication_role = origin")
    return last


def test_a_month_is_recorded_once_as_owed_to_hq(in_mission_b, cashier_b, consul_b):
    # given 16,400 JPY collected last month (a passport application, €95.00 in the schedule)
    pay_cash(assess(cashier_b), cashier_b)
    last = _last_month_today(in_mission_b)
    statement = remittance_statement(month=last, currency="JPY", base_currency="EUR")
    assert (statement.collected, statement.collected_base) == (
        Money(16400, "JPY"),
        Money(9500, "EUR"),
    )
    # when the consul records it
    remittance = remittance_record(month=last, base_currency="EUR", acting_user=consul_b)
    # then it is owed to HQ in the ledger, with an event for HQ's register
    assert (remittance.amount_minor, remittance.base_amount_minor) == (16400, 9500)
    assert account_balances()[("due_to_hq", "JPY")] == -16400
    assert ledger_totals_per_currency() == {"JPY": 0}
    event = OutboxEvent.objects.get(topic="fees.remittance.recorded")
    assert event.payload["base_amount_minor"] == 9500
    # and a second time is refused, as is this month, as is a cashier
    for kwargs, code in (
        ({"month": last, "acting_user": consul_b}, FeeError.ALREADY_DECIDED),
        ({"month": last + dt.timedelta(days=40), "acting_user": consul_b}, FeeError.DAY_CLOSED),
        ({"month": last, "acting_user": cashier_b}, CommonError.NOT_ALLOWED),
    ):
        with pytest.raises(ApplicationError) as refused:
            remittance_record(base_currency="EUR", **kwargs)
        assert refused.value.code == code
    assert LedgerTransaction.objects.filter(kind="remittance").count() == 1
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        connection.cursor().execute("UPDATE fees_remittance SET amount_minor = 1")
    assert Remittance.objects.get().amount_minor == 16400
    assert Receipt.objects.count() == 1
