"""Account names encrypted at rest (under the public schema's data key), with blind indexes for
an exact search by name; existing rows and their history are encrypted in place."""

import django.core.validators
from django.db import migrations, models

import consulate.kernel.crypto.fields
from consulate.kernel.crypto.blind_index import blind_index
from consulate.kernel.crypto.envelope import decrypt, encrypt

SCHEMA = "public"  # accounts live in the public schema; settings.PUBLIC_SCHEMA_NAME
PURPOSE = "person_name"
NAMES = ("first_name", "last_name")
MODELS = {"user": "accounts.User", "historicaluser": "accounts.HistoricalUser"}
BATCH = 500


def _index(value):
    return blind_index(value, schema_name=SCHEMA, purpose=PURPOSE) if value else ""


def names_encrypt(apps, schema_editor):
    for model_name, label in MODELS.items():
        model = apps.get_model("accounts", model_name)
        rows = model._base_manager.order_by("pk").only("pk", *NAMES)
        batch = []
        for row in rows.iterator(chunk_size=BATCH):
            for name in NAMES:
                value = getattr(row, name) or ""
                setattr(row, f"{name}_encrypted", encrypt(
                    value, schema_name=SCHEMA, context=f"{label}.{name}"
                ))  # fmt: skip
                setattr(row, f"{name}_index", _index(value))
            batch.append(row)
            if len(batch) == BATCH:
                _save(model, batch)
                batch = []
        _save(model, batch)


def _save(model, rows):
    fields = [f"{name}_{suffix}" for name in NAMES for suffix in ("encrypted", "index")]
    model._base_manager.bulk_update(rows, fields)


def names_decrypt(apps, schema_editor):
    for model_name, label in MODELS.items():
        model = apps.get_model("accounts", model_name)
        rows = list(model._base_manager.only("pk", *(f"{n}_encrypted" for n in NAMES)))
        for row in rows:
            for name in NAMES:
                blob = getattr(row, f"{name}_encrypted")
                setattr(row, name, decrypt(
                    bytes(blob), schema_name=SCHEMA, context=f"{label}.{name}"
                ) if blob is not None else "")  # fmt: skip
        model._base_manager.bulk_update(rows, list(NAMES), batch_size=BATCH)


def _name_field(verbose_name):
    return consulate.kernel.crypto.fields.EncryptedTextField(
        blank=True,
        shared=True,
        validators=[django.core.validators.MaxLengthValidator(150)],
        verbose_name=verbose_name,
    )


def _index_field(source):
    return consulate.kernel.crypto.fields.BlindIndexField(
        purpose=PURPOSE, shared=True, source=source
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("crypto", "0002_history_and_public_key"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=model_name,
                name=f"{name}_encrypted",
                field=models.BinaryField(null=True),
            )
            for model_name in MODELS
            for name in NAMES
        ),
        *(
            migrations.AddField(
                model_name=model_name, name=f"{name}_index", field=_index_field(name)
            )
            for model_name in MODELS
            for name in NAMES
        ),
        migrations.RunPython(names_encrypt, names_decrypt),
        *(
            migrations.RemoveField(model_name=model_name, name=name)
            for model_name in MODELS
            for name in NAMES
        ),
        *(
            migrations.RenameField(
                model_name=model_name, old_name=f"{name}_encrypted", new_name=name
            )
            for model_name in MODELS
            for name in NAMES
        ),
        *(
            migrations.AlterField(
                model_name=model_name, name=name, field=_name_field(name.replace("_", " "))
            )
            for model_name in MODELS
            for name in NAMES
        ),
    ]
