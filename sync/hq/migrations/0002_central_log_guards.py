"""Database-enforced rules of HQ's side of sync (public schema).

- The central event log is append-only: UPDATE, DELETE and TRUNCATE are refused, so nothing
  that reaches the application's role (a bug, an injected query) can rewrite what a mission
  sent. Only the owner role, which may drop triggers, could; the application's may not.
- A mission's link never goes back: last_seq and last_bundle_number only grow, so a bug cannot
  make HQ apply a stretch of a mission's history twice or forget it has it.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION sync_hq_event_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the central event log is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER sync_hq_event_no_update_delete BEFORE UPDATE OR DELETE ON sync_hq_centralevent
    FOR EACH ROW EXECUTE FUNCTION sync_hq_event_refuse_change();
CREATE TRIGGER sync_hq_event_no_truncate BEFORE TRUNCATE ON sync_hq_centralevent
    FOR EACH STATEMENT EXECUTE FUNCTION sync_hq_event_refuse_change();

CREATE OR REPLACE FUNCTION sync_hq_link_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.mission <> OLD.mission
       OR NEW.last_seq < OLD.last_seq
       OR NEW.last_bundle_number < OLD.last_bundle_number THEN
        RAISE EXCEPTION 'a mission link only moves forward (% at #%, bundle %)',
            OLD.mission, OLD.last_seq, OLD.last_bundle_number
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER sync_hq_link_forward_only BEFORE UPDATE ON sync_hq_missionlink
    FOR EACH ROW EXECUTE FUNCTION sync_hq_link_forward_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS sync_hq_link_forward_only ON sync_hq_missionlink;
DROP TRIGGER IF EXISTS sync_hq_event_no_truncate ON sync_hq_centralevent;
DROP TRIGGER IF EXISTS sync_hq_event_no_update_delete ON sync_hq_centralevent;
DROP FUNCTION IF EXISTS sync_hq_link_forward_only();
DROP FUNCTION IF EXISTS sync_hq_event_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("sync_hq", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
