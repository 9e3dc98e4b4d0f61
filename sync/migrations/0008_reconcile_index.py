"""Reconciliation (`sync.reconcile`): each outbox event carries the hash of its content,
computed by the database with `public.sync_event_hash` (created by `sync_hq` 0003, which
explains the choice and the bytes hashed). HQ's central events carry the same column, so a
day's digest compares on both sides without hashing a payload at query time.

The column is GENERATED: computed after the BEFORE INSERT trigger has assigned `seq`, and
never writable, so the outbox stays what its triggers make it.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE sync_outboxevent ADD COLUMN content_hash bytea GENERATED ALWAYS AS (
    public.sync_event_hash(seq, topic, aggregate_type, aggregate_id, version, actor_id,
                           occurred_at, payload)
) STORED;
"""

BACKWARD = "ALTER TABLE sync_outboxevent DROP COLUMN IF EXISTS content_hash;"


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0007_link_to_hq"),
        # the hash function lives in public; shared apps are migrated before mission schemas
        ("sync_hq", "0003_reconcile_index"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
