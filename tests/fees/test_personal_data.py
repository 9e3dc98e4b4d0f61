"""Payer names are personal data: encrypted at rest on assessments, receipts and their history
(a raw read or a dump of the database shows none), readable through the models, found again by
exact name through the blind index, and sealed for rows written before (migration 0007)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from consulate.kernel.crypto.services import mission_reencrypt
from fees.models import Assessment, Receipt
from missions.services import mission_data_key_rotate
from tests.conftest import make_staff
from tests.consulate.kernel.crypto.test_dump import pg_dump
from tests.fees.conftest import assess, login, pay_cash
from tests.fees.factories import seed_fee_reference

# Distinctive, so that finding one anywhere can only mean a leak.
PAYER = "Zeynep Karaağaçlıoğlu-Marker"
SPELLINGS = (PAYER, "Karaağaçlıoğlu", "Karaagaclioglu", "ZEYNEP KARAAĞAÇLIOĞLU")
TABLES = ("fees_assessment", "fees_historicalassessment", "fees_receipt", "fees_historicalreceipt")

pytestmark = pytest.mark.usefixtures("fresh_key_cache")


def _raw_rows(table: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return cursor.fetchall()


def _text_of(rows: list[tuple[object, ...]]) -> str:
    """Every value of the rows as text, bytes decoded leniently and in hex: what a reader of
    the table, or of a copy of it, would see."""
    parts = []
    for row in rows:
        for value in row:
            if isinstance(value, bytes | memoryview):
                raw = bytes(value)
                parts += [raw.decode("utf-8", "replace"), raw.hex()]
            else:
                parts.append(str(value))
    return "\n".join(parts)


def _paid_receipt(cashier) -> Receipt:  # type: ignore[no-untyped-def]
    assessment = assess(cashier, payer_name=PAYER)
    pay_cash(assessment, cashier)
    return Receipt.objects.get(payment__assessment=assessment)


@pytest.mark.usefixtures("fee_reference")
def test_a_raw_read_of_the_tables_shows_no_payer_name(in_mission_a, cashier_a):
    # given an assessment paid in cash: its row, its history, the receipt and its history
    receipt = _paid_receipt(cashier_a)
    # when the tables are read with plain SQL
    dumped = "\n".join(_text_of(_raw_rows(table)) for table in TABLES)
    # then no spelling of the name is there, in clear or in hex
    assert receipt.payer_name == PAYER
    for clear in SPELLINGS:
        assert clear not in dumped, clear
        assert clear.encode().hex() not in dumped, clear
    # and the models read it back, the history too
    assessment = Assessment.objects.get(pk=receipt.payment.assessment_id)
    assert assessment.payer_name == PAYER
    assert {h.payer_name for h in assessment.history.all()} == {PAYER}
    assert {h.payer_name for h in Receipt.history.all()} == {PAYER}


@pytest.mark.usefixtures("fee_reference")
def test_the_counter_finds_a_payer_by_exact_name_only(client_a, mission_a, cashier_a, cashier_b):
    # given two assessments at alpha, and one for the same name at beta
    with schema_context(mission_a.schema_name):
        wanted = assess(cashier_a, payer_name=PAYER, subject_ref="W-WANTED")
        assess(cashier_a, payer_name="Someone Else", subject_ref="W-OTHER")
    with schema_context("beta"):
        assess(cashier_b, payer_name=PAYER, subject_ref="W-BETA")
    login(client_a, cashier_a)
    # when the cashier searches by the name, however it is spaced or cased
    for query in (PAYER, f"  {PAYER.upper()} ", PAYER.replace(" ", "")):
        page = client_a.get("/fees/counter/", {"q": query}).content.decode()
        # then alpha's assessment is found, and nothing else
        assert f"/fees/assessments/{wanted.pk}/" in page
        assert "W-OTHER" not in page
        assert "W-BETA" not in page
    # and part of a name finds nothing: the index matches whole values only
    page = client_a.get("/fees/counter/", {"q": "Zeynep"}).content.decode()
    assert "W-WANTED" not in page
    assert "Nothing found." in page
    # and the reference still finds it
    assert "W-WANTED" in client_a.get("/fees/counter/", {"q": "w-wanted"}).content.decode()


def test_a_database_dump_shows_no_payer_name(throwaway_mission):
    # given a committed assessment, paid, at a mission of its own
    seed_fee_reference()
    cashier = make_staff(throwaway_mission, "cashier")
    connection.set_tenant(throwaway_mission)
    receipt = _paid_receipt(cashier)
    blob = _raw_rows("fees_receipt")[0]
    connection.set_schema_to_public()
    # when the database is dumped
    dump = pg_dump()
    # then the mission's fee tables are in it, with ciphertext, and no payer name at all
    schema = throwaway_mission.schema_name
    assert f"CREATE TABLE {schema}.fees_historicalreceipt" in dump
    assert receipt.number in dump
    assert blob
    for clear in SPELLINGS:
        assert clear not in dump, clear
        assert clear.encode().hex() not in dump, clear


def _migrate(target: str) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("fees", target)])


def test_rows_written_before_are_sealed_by_the_migration_and_unsealed_going_back(
    throwaway_mission,
):
    # given a paid assessment at a mission
    seed_fee_reference()
    cashier = make_staff(throwaway_mission, "cashier")
    connection.set_tenant(throwaway_mission)
    receipt = _paid_receipt(cashier)
    try:
        # when the mission goes back to before the encryption
        _migrate("0006_money_guards")
        # then the names are in clear again (rows, history, receipts)
        for table in TABLES:
            assert PAYER in _text_of(_raw_rows(table)), table
        # and when it migrates forward, as a mission with old rows does (to the latest
        # migration, which the models read)
        (latest,) = MigrationExecutor(connection).loader.graph.leaf_nodes("fees")
        _migrate(latest[1])
    finally:
        connection.set_tenant(throwaway_mission)
    # then no name is in clear, the models read every one, and the index finds the payer
    for table in TABLES:
        assert PAYER not in _text_of(_raw_rows(table)), table
    assert Receipt.objects.get(pk=receipt.pk).payer_name == PAYER
    assert {h.payer_name for h in Receipt.history.all()} == {PAYER}
    found = Assessment.objects.get(payer_name_index__matches=PAYER)
    assert found.payer_name == PAYER
    assert {h.payer_name for h in found.history.all()} == {PAYER}


@pytest.mark.usefixtures("fee_reference")
def test_a_key_rotation_re_encrypts_receipts_which_otherwise_never_change(in_mission_a, cashier_a):
    from django.db import DatabaseError, transaction

    # given a receipt, then a new data key
    receipt = _paid_receipt(cashier_a)
    old_blob = bytes(_raw_rows("fees_receipt")[0][_column("fees_receipt", "payer_name")])
    mission_data_key_rotate(mission=in_mission_a, acting_user=SYSTEM)
    # when every row is moved to the new key
    mission_reencrypt(schema_name=in_mission_a.schema_name)
    # then the receipt took it (the one change a receipt takes) and reads the same
    new_blob = bytes(_raw_rows("fees_receipt")[0][_column("fees_receipt", "payer_name")])
    assert new_blob[1:5] > old_blob[1:5]
    assert Receipt.objects.get(pk=receipt.pk).payer_name == PAYER
    # and putting the older ciphertext back, or changing anything else, is refused
    for sql, params in (
        ("UPDATE fees_receipt SET payer_name = %s", [old_blob]),
        ("UPDATE fees_receipt SET amount_minor = 1", []),
        ("DELETE FROM fees_receipt", []),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(sql, params)


def _column(table: str, name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} LIMIT 0")
        return [column.name for column in cursor.description].index(name)
