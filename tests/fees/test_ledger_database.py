"""The database itself refuses an unbalanced ledger, whatever writes to it."""

import pytest
from django.db import DatabaseError, connection, transaction

from consulate.kernel.actors import SYSTEM
from fees.models import LedgerEntry, LedgerTransaction
from fees.money import Money, MoneyError
from fees.selectors import ledger_totals_per_currency
from fees.services.ledger import account_get, ledger_post

pytestmark = pytest.mark.usefixtures("fee_reference")


def _raw_tx(cursor) -> int:
    cursor.execute(
        "INSERT INTO fees_ledgertransaction (business_date, kind, memo, source_type, created_at)"
        " VALUES (current_date + 400, 'raw', '', '', now()) RETURNING id"
    )
    return cursor.fetchone()[0]


def _commit_raw(rows: list[tuple[int, str, int]]) -> None:
    """Insert entries with raw SQL in one transaction and reach its commit point."""
    with transaction.atomic():
        cursor = connection.cursor()
        tx = _raw_tx(cursor)
        for account_id, currency, amount in rows:
            cursor.execute(
                "INSERT INTO fees_ledgerentry (transaction_id, account_id, currency, amount_minor)"
                " VALUES (%s, %s, %s, %s)",
                [tx, account_id, currency, amount],
            )
        # the check is deferred to commit; the test runs in a transaction, so force it here
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_raw_sql_cannot_commit_an_unbalanced_transaction(in_mission_a):
    # given two accounts
    cash, revenue = account_get(kind="bank"), account_get(kind="revenue", qualifier="visa")
    # when raw SQL inserts 10.00 against 9.99 and tries to commit
    with pytest.raises(DatabaseError, match="does not balance"):
        _commit_raw([(cash.pk, "EUR", 1000), (revenue.pk, "EUR", -999)])
    # then nothing was written
    assert not LedgerEntry.objects.exists()


def test_balanced_in_one_currency_is_not_enough(in_mission_a):
    cash, revenue = account_get(kind="bank"), account_get(kind="revenue", qualifier="visa")
    # 1000 EUR against 1000 JPY: the numbers sum to zero, the currencies do not
    with pytest.raises(DatabaseError, match="does not balance"):
        _commit_raw([(cash.pk, "EUR", 1000), (revenue.pk, "JPY", -1000)])


def test_the_check_waits_for_commit_so_legs_can_be_written_one_by_one(in_mission_a):
    cash, revenue = account_get(kind="bank"), account_get(kind="revenue", qualifier="visa")
    _commit_raw([(cash.pk, "KWD", 700), (revenue.pk, "KWD", -700)])
    assert ledger_totals_per_currency() == {"KWD": 0}


def test_the_orm_cannot_unbalance_it_either(in_mission_a):
    cash = account_get(kind="bank")

    def one_sided() -> None:
        with transaction.atomic():
            tx = LedgerTransaction.objects.create(business_date="2030-01-01", kind="orm")
            LedgerEntry.objects.create(transaction=tx, account=cash, currency="EUR", amount_minor=5)
            connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")

    with pytest.raises(DatabaseError, match="does not balance"):
        one_sided()


def test_ledger_post_refuses_unbalanced_legs_before_the_database(in_mission_a):
    cash, revenue = account_get(kind="bank"), account_get(kind="revenue", qualifier="visa")
    with pytest.raises(MoneyError, match="unbalanced"), transaction.atomic():
        ledger_post(
            kind="test",
            business_date="2030-01-01",  # type: ignore[arg-type]
            legs=[(cash, Money(100, "EUR")), (revenue, Money(-99, "EUR"))],
            acting_user=SYSTEM,
        )
    assert not LedgerTransaction.objects.exists()
