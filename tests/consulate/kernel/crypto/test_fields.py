import datetime

import pytest
from django.core.exceptions import FieldError, ValidationError
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consulate.kernel.crypto.envelope import DecryptionError, EncryptionError
from consulate.kernel.crypto.fields import BlindIndexField, EncryptedDateField, EncryptedTextField
from tests.crypto_app.models import Dossier

from .conftest import BIRTH_DATE, BIRTH_PLACE, PASSPORT, dossier_create, raw_row, raw_set

HISTORY_TABLE = Dossier.history.model._meta.db_table
CLEAR_VALUES = (PASSPORT, BIRTH_DATE.isoformat(), BIRTH_PLACE)


def as_text(row: dict) -> str:
    # bytea as the hex text a dump shows, and as raw bytes decoded leniently
    return " ".join(
        f"{bytes(value).hex()} {bytes(value).decode('utf-8', 'replace')}"
        if isinstance(value, bytes | memoryview)
        else str(value)
        for value in row.values()
    )


def test_values_read_back_as_python_values(in_mission_a):
    # given a dossier written through the model
    dossier = dossier_create()
    # when it is read again
    loaded = Dossier.objects.get(pk=dossier.pk)
    # then the values come back with their types
    assert loaded.passport_number == PASSPORT
    assert loaded.date_of_birth == BIRTH_DATE
    assert isinstance(loaded.date_of_birth, datetime.date)
    assert loaded.place_of_birth == BIRTH_PLACE


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(),
    born=st.dates(min_value=datetime.date(1, 1, 1), max_value=datetime.date(9999, 12, 31)),
)
def test_any_value_survives_the_database(in_mission_a, text, born):
    dossier = dossier_create(passport_number=text, place_of_birth=text, date_of_birth=born)
    loaded = Dossier.objects.get(pk=dossier.pk)
    assert (loaded.passport_number, loaded.place_of_birth, loaded.date_of_birth) == (
        text,
        text,
        born,
    )


def test_the_tables_hold_no_clear_value(in_mission_a):
    # given a dossier created and changed, so that it has history rows
    dossier = dossier_create()
    dossier.full_name = "Ayşe Demir"
    dossier.save(update_fields=["full_name", "updated_at"])
    # when its row and its history rows are read with plain SQL
    rows = [raw_row(Dossier._meta.db_table, "id", dossier.pk)]
    rows += [raw_row(HISTORY_TABLE, "history_id", h.history_id) for h in dossier.history.all()]
    # then no clear value is there, in any form
    assert len(rows) == 3
    for row in rows:
        assert isinstance(row["passport_number"], bytes)
        text = as_text(row)
        for clear in CLEAR_VALUES:
            assert clear not in text
            assert clear.encode().hex() not in text


def test_history_rows_decrypt_to_what_was_saved(in_mission_a):
    dossier = dossier_create()
    dossier.passport_number = "U00000001"
    dossier.save()
    assert [h.passport_number for h in dossier.history.order_by("history_id")] == [
        PASSPORT,
        "U00000001",
    ]
    assert dossier.history.earliest().instance.date_of_birth == BIRTH_DATE


def test_a_ciphertext_copied_to_another_field_is_refused(in_mission_a):
    # given a dossier whose place of birth is overwritten with its passport number's blob
    dossier = dossier_create()
    blob = raw_row(Dossier._meta.db_table, "id", dossier.pk)["passport_number"]
    raw_set(Dossier._meta.db_table, "place_of_birth", blob, dossier.pk)
    # when it is read
    # then it is refused
    with pytest.raises(DecryptionError):
        Dossier.objects.get(pk=dossier.pk)


def test_a_ciphertext_copied_into_the_history_table_is_refused(in_mission_a):
    # given a history row given the live row's blob for the same field
    dossier = dossier_create(passport_number="U11111111")
    blob = raw_row(Dossier._meta.db_table, "id", dossier.pk)["passport_number"]
    history_id = dossier.history.get().history_id
    raw_set(HISTORY_TABLE, "passport_number", blob, history_id, pk_column="history_id")
    # then the history row no longer reads
    with pytest.raises(DecryptionError):
        list(dossier.history.all())


def test_a_ciphertext_copied_from_another_mission_is_refused(in_mission_a, mission_b):
    # given a blob written in mission A
    mine = dossier_create(passport_number="U22222222")
    blob = raw_row(Dossier._meta.db_table, "id", mine.pk)["passport_number"]
    # when it is planted into a dossier of mission B
    connection.set_tenant(mission_b)
    try:
        theirs = dossier_create(passport_number="U33333333")
        raw_set(Dossier._meta.db_table, "passport_number", blob, theirs.pk)
        # then mission B refuses it
        with pytest.raises(DecryptionError):
            Dossier.objects.get(pk=theirs.pk)
    finally:
        connection.set_tenant(in_mission_a)


def test_a_flipped_byte_in_the_table_is_refused(in_mission_a):
    dossier = dossier_create()
    blob = bytearray(raw_row(Dossier._meta.db_table, "id", dossier.pk)["date_of_birth"])
    blob[-1] ^= 0x80
    raw_set(Dossier._meta.db_table, "date_of_birth", bytes(blob), dossier.pk)
    with pytest.raises(DecryptionError):
        Dossier.objects.get(pk=dossier.pk)


def test_nulls_stay_null(in_mission_a):
    dossier = dossier_create(date_of_birth=None)
    assert raw_row(Dossier._meta.db_table, "id", dossier.pk)["date_of_birth"] is None
    assert Dossier.objects.filter(pk=dossier.pk, date_of_birth__isnull=True).exists()
    assert Dossier.objects.get(pk=dossier.pk).date_of_birth is None


@pytest.mark.parametrize(
    "lookup",
    ["passport_number", "passport_number__iexact", "passport_number__startswith",
     "date_of_birth__gt", "date_of_birth__year"],
)  # fmt: skip
def test_searching_an_encrypted_column_is_refused(in_mission_a, lookup):
    # a random nonce makes every such search silently find nothing; say so loudly instead
    with pytest.raises(FieldError):
        Dossier.objects.filter(**{lookup: PASSPORT})


def test_writing_in_the_public_schema_is_refused(db):
    with pytest.raises(EncryptionError):
        Dossier.objects.create(full_name="x", passport_number=PASSPORT)


def test_update_and_bulk_update_encrypt_too(in_mission_a):
    dossier = dossier_create()
    Dossier.objects.filter(pk=dossier.pk).update(place_of_birth="Trabzon")
    dossier.passport_number = "U44444444"
    Dossier.objects.bulk_update([dossier], ["passport_number"])
    row = raw_row(Dossier._meta.db_table, "id", dossier.pk)
    assert b"Trabzon" not in bytes(row["place_of_birth"])
    loaded = Dossier.objects.get(pk=dossier.pk)
    assert (loaded.place_of_birth, loaded.passport_number) == ("Trabzon", "U44444444")


def test_a_bad_date_is_a_validation_error(in_mission_a):
    dossier = Dossier(full_name="x", passport_number=PASSPORT, date_of_birth="29.02.1984")
    with pytest.raises(ValidationError) as error:
        dossier.full_clean()
    assert "date_of_birth" in error.value.message_dict


@pytest.mark.parametrize(
    "field",
    [EncryptedTextField(blank=True), EncryptedDateField(null=True, context="legacy.Person.dob"),
     BlindIndexField(source="passport_number", purpose="passport"),
     # a history table's copy of an index it is not read by (appointments.Booking's history)
     BlindIndexField(source="passport_number", db_index=False),
     BlindIndexField(source="passport_number", editable=True, blank=False)],
)  # fmt: skip
def test_fields_deconstruct_to_themselves(field):
    _name, path, args, kwargs = field.deconstruct()
    rebuilt = type(field)(*args, **kwargs)
    assert rebuilt.deconstruct()[1:] == (path, args, kwargs)
    for option in ("db_index", "editable", "blank", "max_length", "null"):
        assert getattr(rebuilt, option) == getattr(field, option), option
    assert path.startswith("consulate.kernel.crypto.fields.")


def test_the_migration_matches_the_models(db):
    call_command("makemigrations", "crypto_app", check=True, dry_run=True, verbosity=0)


@pytest.mark.parametrize("options", [{"unique": True}, {"db_index": True}, {"primary_key": True}])
def test_an_index_on_ciphertext_is_a_check_error(options):
    # given a model that asks for an index on an encrypted column (it could never match)
    field = EncryptedTextField(**options)
    field.set_attributes_from_name("secret")
    field.model = Dossier
    # then the system check says so
    assert "crypto.E001" in [error.id for error in field.check()]


def test_the_test_model_passes_the_checks():
    assert not [e for f in Dossier._meta.fields if hasattr(f, "check") for e in f.check()]
