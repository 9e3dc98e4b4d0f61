"""Database-enforced outbox rules (run in every mission schema and in the template).

- The counter row exists from the start.
- BEFORE INSERT: seq = counter + 1, whatever the writer supplied. The UPDATE locks the counter
  row until commit, so concurrent writers queue and a rollback returns the number: no gaps.
- UPDATE, DELETE and TRUNCATE are refused: the outbox is append-only.

The functions qualify the counter with TG_TABLE_SCHEMA rather than relying on search_path, so
a clone of the template schema (which copies these functions) keeps working in its own schema.
"""

from django.db import migrations

FORWARD = """
INSERT INTO sync_outboxcounter (id, last_seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION sync_outbox_assign_seq() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'UPDATE %I.sync_outboxcounter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq',
        TG_TABLE_SCHEMA
    ) INTO NEW.seq;
    IF NEW.seq IS NULL THEN
        RAISE EXCEPTION 'outbox counter row is missing in schema %', TG_TABLE_SCHEMA;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION sync_outbox_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the outbox is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER sync_outbox_assign_seq BEFORE INSERT ON sync_outboxevent
    FOR EACH ROW EXECUTE FUNCTION sync_outbox_assign_seq();
CREATE TRIGGER sync_outbox_no_update_delete BEFORE UPDATE OR DELETE ON sync_outboxevent
    FOR EACH ROW EXECUTE FUNCTION sync_outbox_refuse_change();
CREATE TRIGGER sync_outbox_no_truncate BEFORE TRUNCATE ON sync_outboxevent
    FOR EACH STATEMENT EXECUTE FUNCTION sync_outbox_refuse_change();
CREATE TRIGGER sync_outboxcounter_no_delete BEFORE DELETE OR TRUNCATE ON sync_outboxcounter
    FOR EACH STATEMENT EXECUTE FUNCTION sync_outbox_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS sync_outboxcounter_no_delete ON sync_outboxcounter;
DROP TRIGGER IF EXISTS sync_outbox_no_truncate ON sync_outboxevent;
DROP TRIGGER IF EXISTS sync_outbox_no_update_delete ON sync_outboxevent;
DROP TRIGGER IF EXISTS sync_outbox_assign_seq ON sync_outboxevent;
DROP FUNCTION IF EXISTS sync_outbox_refuse_change();
DROP FUNCTION IF EXISTS sync_outbox_assign_seq();
"""


class Migration(migrations.Migration):
    dependencies = [("sync", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
