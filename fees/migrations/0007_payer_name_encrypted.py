"""Payer names are personal data: encrypted at rest with the mission's data key, as booking
identities are, on assessments, receipts and their history rows; assessments also keep a blind
index of the name, so the counter still finds a payer by exact name.

Existing rows are sealed here: each clear name is encrypted into a new column under the
context its field will have ("fees.Assessment.payer_name", ...), the clear column is dropped
and the new one takes its name. Receipts are never updated (migration 0002), so their trigger
is switched off for the copy only. Afterwards the receipt guard lets one change through: the
name re-encrypted under a newer data key (`mission_reencrypt` after a key rotation); anything
else, including putting back an older ciphertext, is still refused.

Reversible: going back decrypts into a clear column again.
"""

from django.db import migrations, models

import consulate.kernel.crypto.fields

# (table, primary key column, context of its field once renamed, has a blind index)
TABLES = [
    ("fees_assessment", "id", "fees.Assessment.payer_name", True),
    ("fees_historicalassessment", "history_id", "fees.HistoricalAssessment.payer_name", True),
    ("fees_receipt", "id", "fees.Receipt.payer_name", False),
    ("fees_historicalreceipt", "history_id", "fees.HistoricalReceipt.payer_name", False),
]
INDEX_PURPOSE = "payer_name"


def _schema(schema_editor):  # type: ignore[no-untyped-def]
    return schema_editor.connection.schema_name


def seal(apps, schema_editor):  # type: ignore[no-untyped-def]
    from consulate.kernel.crypto.blind_index import blind_index
    from consulate.kernel.crypto.envelope import encrypt

    schema = _schema(schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE fees_receipt DISABLE TRIGGER fees_receipt_immutable")
        for table, pk, context, indexed in TABLES:
            cursor.execute(f"SELECT {pk}, payer_name FROM {table} WHERE payer_name IS NOT NULL")
            rows = cursor.fetchall()
            for row_pk, name in rows:
                sealed = encrypt(name, schema_name=schema, context=context)
                if indexed:
                    index = blind_index(name, schema_name=schema, purpose=INDEX_PURPOSE)
                    cursor.execute(
                        f"UPDATE {table} SET payer_name_sealed = %s, payer_name_index = %s"
                        f" WHERE {pk} = %s",
                        [sealed, index if name else "", row_pk],
                    )
                else:
                    cursor.execute(
                        f"UPDATE {table} SET payer_name_sealed = %s WHERE {pk} = %s",
                        [sealed, row_pk],
                    )
        cursor.execute("ALTER TABLE fees_receipt ENABLE TRIGGER fees_receipt_immutable")


def unseal(apps, schema_editor):  # type: ignore[no-untyped-def]
    from consulate.kernel.crypto.envelope import decrypt

    schema = _schema(schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE fees_receipt DISABLE TRIGGER fees_receipt_immutable")
        for table, pk, context, _indexed in TABLES:
            cursor.execute(
                f"SELECT {pk}, payer_name_sealed FROM {table} WHERE payer_name_sealed IS NOT NULL"
            )
            for row_pk, sealed in cursor.fetchall():
                name = decrypt(bytes(sealed), schema_name=schema, context=context)
                cursor.execute(f"UPDATE {table} SET payer_name = %s WHERE {pk} = %s", [name, row_pk])
        cursor.execute("ALTER TABLE fees_receipt ENABLE TRIGGER fees_receipt_immutable")


RECEIPT_GUARD = r"""
CREATE OR REPLACE FUNCTION fees_receipt_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation';
    END IF;
    -- Re-encryption: the payer's name under a newer data key (the key id is bytes 2-5 of the
    -- blob, big-endian), nothing else changed.
    IF (to_jsonb(NEW) - 'payer_name') IS DISTINCT FROM (to_jsonb(OLD) - 'payer_name')
       OR (NEW.payer_name IS DISTINCT FROM OLD.payer_name
           AND substring(NEW.payer_name FROM 2 FOR 4) <= substring(OLD.payer_name FROM 2 FOR 4))
    THEN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS fees_receipt_immutable ON fees_receipt;
CREATE TRIGGER fees_receipt_immutable BEFORE UPDATE OR DELETE ON fees_receipt
    FOR EACH ROW EXECUTE FUNCTION fees_receipt_guard();
"""

RECEIPT_GUARD_BACKWARD = r"""
DROP TRIGGER IF EXISTS fees_receipt_immutable ON fees_receipt;
CREATE TRIGGER fees_receipt_immutable BEFORE UPDATE OR DELETE ON fees_receipt
    FOR EACH ROW EXECUTE FUNCTION fees_refuse_change();
DROP FUNCTION IF EXISTS fees_receipt_guard();
"""


def _sealed_columns() -> list[migrations.AddField]:
    return [
        migrations.AddField(
            model_name=model,
            name="payer_name_sealed",
            field=consulate.kernel.crypto.fields.EncryptedTextField(null=True, verbose_name="payer"),
        )
        for model in ("assessment", "historicalassessment", "receipt", "historicalreceipt")
    ]


def _clear_columns_nullable() -> list[migrations.AlterField]:
    return [
        migrations.AlterField(
            model_name=model,
            name="payer_name",
            field=models.CharField(max_length=200, null=True, verbose_name=label),
        )
        for model, label in (
            ("assessment", "payer"),
            ("historicalassessment", "payer"),
            ("receipt", None),
            ("historicalreceipt", None),
        )
    ]


class Migration(migrations.Migration):
    dependencies = [("fees", "0006_money_guards")]

    operations = [
        *_sealed_columns(),
        migrations.AddField(
            model_name="assessment",
            name="payer_name_index",
            field=consulate.kernel.crypto.fields.BlindIndexField(default="", source="payer_name"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="historicalassessment",
            name="payer_name_index",
            field=consulate.kernel.crypto.fields.BlindIndexField(default="", source="payer_name"),
            preserve_default=False,
        ),
        *_clear_columns_nullable(),
        migrations.RunPython(seal, unseal),
        *[
            migrations.RemoveField(model_name=model, name="payer_name")
            for model in ("assessment", "historicalassessment", "receipt", "historicalreceipt")
        ],
        *[
            migrations.RenameField(
                model_name=model, old_name="payer_name_sealed", new_name="payer_name"
            )
            for model in ("assessment", "historicalassessment", "receipt", "historicalreceipt")
        ],
        *[
            migrations.AlterField(
                model_name=model,
                name="payer_name",
                field=consulate.kernel.crypto.fields.EncryptedTextField(verbose_name="payer"),
            )
            for model in ("assessment", "historicalassessment", "receipt", "historicalreceipt")
        ],
        migrations.RunSQL(RECEIPT_GUARD, RECEIPT_GUARD_BACKWARD),
    ]
