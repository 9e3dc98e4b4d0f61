"""History is the audit trail: the database refuses the application's role any change or
removal of a history row, for every model that keeps history, in public and in every mission
schema; only a re-encryption (ciphertext columns) may rewrite one. The tables' owner, which
runs migrations, may (a data migration encrypting a column)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from consulate.kernel.actors import SYSTEM
from missions.services import mission_update
from tests.appointments.factories import BookingFactory
from tests.consulate.test_database_roles import app_role_on_this_connection
from tests.factories import UserFactory
from tests.fees.factories import BankTransferExpectedFactory, seed_fee_reference


def _refused(statement: str) -> None:
    """`statement`, sent as the application's role, is refused (TRUNCATE it may not even ask)."""
    app_role_on_this_connection()
    with (
        pytest.raises(
            (InternalError, IntegrityError, ProgrammingError),
            match=r"history is append-only|permission denied",
        ),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE missions_historicalmission SET name = 'forged'",
        "UPDATE missions_historicalmission SET history_user_id = 42",
        "DELETE FROM missions_historicalmission",
        "TRUNCATE missions_historicalmission",
        "DELETE FROM accounts_historicaluser",
    ],
)
def test_public_history_cannot_be_rewritten(mission_a, statement):
    # given changes on record: a mission's and an account's
    mission_update(mission=mission_a, acting_user=SYSTEM, phone="+49 30 1111 2222")
    UserFactory()
    # when raw SQL tries to rewrite or remove it, then the database refuses
    _refused(statement)


@pytest.mark.parametrize(
    "table",
    [
        "appointments_historicalbooking",
        "appointments_historicalbookingperson",
        "fees_historicalassessment",
        "fees_historicalpayment",
    ],
)
def test_mission_history_cannot_be_rewritten_or_removed(in_mission_a, table):
    # given a booking and a bank transfer awaited at the mission, on record
    seed_fee_reference()
    BookingFactory()
    BankTransferExpectedFactory()
    # when raw SQL rewrites, removes or empties their history, then the database refuses
    _refused(f"UPDATE {table} SET history_date = now() - interval '1 year'")
    _refused(f"DELETE FROM {table}")
    _refused(f"TRUNCATE {table}")


def test_every_history_table_in_a_mission_is_guarded(in_mission_a):
    # given the history tables of a mission schema
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            " AND c.relname LIKE '%%historical%%'"
        )
        tables = {name for (name,) in cursor.fetchall()}
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND t.tgname = 'history_append_only'"
        )
        guarded = {name for (name,) in cursor.fetchall()}
    # then each one has the guard
    assert tables
    assert tables - guarded == set()


def test_a_reencryption_may_rewrite_ciphertext_only(in_mission_a):
    # given a history row with an encrypted column
    BookingFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_attribute a"
            " WHERE a.attrelid = 'appointments_historicalbookingperson'::regclass"
            " AND a.atttypid = 'bytea'::regtype AND a.attnum > 0 LIMIT 1"
        )
        (column,) = cursor.fetchone()
    # when only ciphertext changes (as a key rotation does), the application may
    app_role_on_this_connection()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'UPDATE appointments_historicalbookingperson SET "{column}" = "{column}"')
    # and when anything else changes with it, it is refused
    _refused("UPDATE appointments_historicalbookingperson SET history_change_reason = 'x'")


def test_the_owner_may_rewrite_history_in_a_data_migration(in_mission_a):
    # given a history row
    BookingFactory()
    # when the tables' owner (migrations; the test's own role owns everything here) rewrites it
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE appointments_historicalbooking SET history_change_reason = 'x'")
        assert cursor.rowcount >= 1
