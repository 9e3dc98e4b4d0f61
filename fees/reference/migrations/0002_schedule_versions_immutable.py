"""A fee schedule version is never overwritten or deleted: only its end date may be set (when
the next version starts). Enforced in the database, whatever writes to it."""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION fees_ref_schedule_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'fee schedule versions are kept: DELETE refused'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.service, NEW.visa_category, NEW.nationality, NEW.amount_minor, NEW.currency,
        NEW.valid_from, NEW.version)
       IS DISTINCT FROM
       (OLD.service, OLD.visa_category, OLD.nationality, OLD.amount_minor, OLD.currency,
        OLD.valid_from, OLD.version) THEN
        RAISE EXCEPTION 'a fee schedule version is never overwritten: publish a new version'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER fees_ref_schedule_guard BEFORE UPDATE OR DELETE ON fees_reference_feescheduleentry
    FOR EACH ROW EXECUTE FUNCTION fees_ref_schedule_guard();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS fees_ref_schedule_guard ON fees_reference_feescheduleentry;
DROP FUNCTION IF EXISTS fees_ref_schedule_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("fees_reference", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
