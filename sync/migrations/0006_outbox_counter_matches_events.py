"""The counter may not step without an event: at commit, the counter's number must belong to
an event in the outbox. A raw `UPDATE sync_outboxcounter SET last_seq = last_seq + 1` would
otherwise leave a silent gap that HQ would wait for forever."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION sync_outboxcounter_matches_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    found boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.sync_outboxevent WHERE seq = $1)',
                   TG_TABLE_SCHEMA)
        INTO found USING NEW.last_seq;
    IF NOT found THEN
        RAISE EXCEPTION 'the outbox counter is at % but no event has that number',
            NEW.last_seq USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER sync_outboxcounter_matches_events
    AFTER UPDATE ON sync_outboxcounter DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION sync_outboxcounter_matches_events();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS sync_outboxcounter_matches_events ON sync_outboxcounter;
DROP FUNCTION IF EXISTS sync_outboxcounter_matches_events();
"""


class Migration(migrations.Migration):
    dependencies = [("sync", "0005_outbox_version_database_default")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
