"""Close a day and post to it can race: a posting checked "not closed" before the close
committed, and commits after it. Both now take an advisory lock on (schema, business date):
postings a shared one in the trigger, the close an exclusive one before it counts the drawers
(fees.services.day_close). A posting therefore either finishes before the close counts, or
waits and then sees the day closed."""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION fees_ledger_refuse_closed_day() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    closed boolean;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(
        hashtextextended('fees-day:' || TG_TABLE_SCHEMA || ':' || NEW.business_date::text, 0)
    );
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.fees_dayclose WHERE business_date = $1)',
        TG_TABLE_SCHEMA) INTO closed USING NEW.business_date;
    IF closed THEN
        RAISE EXCEPTION 'business day % is closed: no more postings', NEW.business_date
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
"""

BACKWARD = r"""
CREATE OR REPLACE FUNCTION fees_ledger_refuse_closed_day() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    closed boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.fees_dayclose WHERE business_date = $1)',
        TG_TABLE_SCHEMA) INTO closed USING NEW.business_date;
    IF closed THEN
        RAISE EXCEPTION 'business day % is closed: no more postings', NEW.business_date
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("fees", "0002_ledger_rules")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
