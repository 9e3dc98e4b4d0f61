"""The counter may only move one step at a time: a raw UPDATE that skips ahead (leaving a silent
gap in the sequence) or moves back is refused."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION sync_outboxcounter_step_by_one() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.last_seq <> OLD.last_seq + 1 THEN
        RAISE EXCEPTION 'the outbox counter only moves by one (from % to % refused)',
            OLD.last_seq, NEW.last_seq USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER sync_outboxcounter_step_by_one BEFORE UPDATE ON sync_outboxcounter
    FOR EACH ROW EXECUTE FUNCTION sync_outboxcounter_step_by_one();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS sync_outboxcounter_step_by_one ON sync_outboxcounter;
DROP FUNCTION IF EXISTS sync_outboxcounter_step_by_one();
"""


class Migration(migrations.Migration):
    dependencies = [("sync", "0002_outbox_triggers")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
