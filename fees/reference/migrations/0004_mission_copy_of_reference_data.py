"""Each mission keeps its own copy of HQ's reference data (docs/sync.md, "Reference data").

`fees.reference` is now in TENANT_APPS as well as SHARED_APPS: migrations 0001-0003 create the
same tables (and the schedule's guard trigger) in every mission schema and in the template.
This one fills a mission's new tables with what HQ's tables hold at migrate time, the "initial
copy" (reference version 0), so that a mission whose selectors read public until now reads the
same rows from its own schema from now on. From then on only sync changes the copy, with each
signed version HQ publishes (`sync.reference.reference_apply`).

It runs in the database that holds HQ and the missions (one database, the deployment so far); on
a mission node's own database public's tables are empty and the copy stays empty until the
first version arrives. Rows are copied with their ids, which later versions upsert by.
In public it does nothing.
"""

from django.db import migrations

MODELS = ("FeeScheduleEntry", "ExchangeRate", "ExemptionCategory", "RoundingRule")


def copy_from_public(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    schema = getattr(connection, "schema_name", "public")
    if schema == "public":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name in MODELS:
            model = apps.get_model("fees_reference", name)
            table = model._meta.db_table
            columns = ", ".join(quote(field.column) for field in model._meta.concrete_fields)
            # the copy is replaced whole; a schema migrated again copies nothing twice
            cursor.execute(
                f"INSERT INTO {quote(schema)}.{quote(table)} ({columns})"  # noqa: S608
                f" SELECT {columns} FROM public.{quote(table)} ON CONFLICT (id) DO NOTHING"
            )
        # version 0: the initial copy, taken now; the first signed version replaces it
        cursor.execute(
            f"UPDATE {quote(schema)}.sync_synclink SET reference_received_at = now()"  # noqa: S608
            " WHERE id = 1 AND reference_version = 0 AND reference_received_at IS NULL"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("fees_reference", "0003_exemption_category_name_per_language"),
        ("sync", "0007_link_to_hq"),
    ]

    operations = [migrations.RunPython(copy_from_public, migrations.RunPython.noop)]
