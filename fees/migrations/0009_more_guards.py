"""Guards the tester found missing (issue 7), in the shape of 0006:

- A closed day stays closed: its row never changes (0002 already refuses DELETE/TRUNCATE), so
  moving its date cannot reopen it for postings; the drawer counts of a close never change.
- A waiver's what (line, category, reason, amount, asker) never changes, a decided one never
  changes at all, and none is deleted: approved waivers feed the balance and the report.
- Assessments are never deleted.
- The number counter cannot step without the receipt or credit note that carries the number:
  checked at commit (deferred), so `UPDATE fees_numbercounter SET last_seq = last_seq + 1`
  alone, which would leave a silent gap in the receipts, is refused.
"""

from django.db import migrations

FORWARD = r"""
CREATE TRIGGER fees_dayclose_never_changes BEFORE UPDATE ON fees_dayclose
    FOR EACH ROW EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_drawercount_append_only BEFORE UPDATE OR DELETE ON fees_drawercount
    FOR EACH ROW EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_drawercount_no_truncate BEFORE TRUNCATE ON fees_drawercount
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_assessment_no_delete BEFORE DELETE ON fees_assessment
    FOR EACH ROW EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_assessment_no_truncate BEFORE TRUNCATE ON fees_assessment
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();

CREATE OR REPLACE FUNCTION fees_waiver_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'waivers are never deleted: DELETE refused'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status <> 'requested'
       OR (NEW.line_id, NEW.category_code, NEW.reason, NEW.amount_minor, NEW.currency,
           NEW.requested_by_id)
          IS DISTINCT FROM
          (OLD.line_id, OLD.category_code, OLD.reason, OLD.amount_minor, OLD.currency,
           OLD.requested_by_id) THEN
        RAISE EXCEPTION 'a waiver asked for is decided once and never changes: UPDATE refused'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER fees_waiver_guard BEFORE UPDATE OR DELETE ON fees_waiver
    FOR EACH ROW EXECUTE FUNCTION fees_waiver_guard();
CREATE TRIGGER fees_waiver_no_truncate BEFORE TRUNCATE ON fees_waiver
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();

CREATE OR REPLACE FUNCTION fees_numbercounter_matches_documents() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    found boolean;
BEGIN
    IF NEW.series = 'R' THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.fees_receipt'
                       ' WHERE year = $1 AND seq = $2)', TG_TABLE_SCHEMA)
            INTO found USING NEW.year, NEW.last_seq;
    ELSE
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.fees_creditnote'
                       ' WHERE year = $1 AND seq = $2)', TG_TABLE_SCHEMA)
            INTO found USING NEW.year, NEW.last_seq;
    END IF;
    IF NOT found THEN
        RAISE EXCEPTION 'number % of series % (%) was given to no document',
            NEW.last_seq, NEW.series, NEW.year USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER fees_numbercounter_matches_documents
    AFTER INSERT OR UPDATE ON fees_numbercounter DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fees_numbercounter_matches_documents();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS fees_numbercounter_matches_documents ON fees_numbercounter;
DROP FUNCTION IF EXISTS fees_numbercounter_matches_documents();
DROP TRIGGER IF EXISTS fees_waiver_no_truncate ON fees_waiver;
DROP TRIGGER IF EXISTS fees_waiver_guard ON fees_waiver;
DROP FUNCTION IF EXISTS fees_waiver_guard();
DROP TRIGGER IF EXISTS fees_assessment_no_truncate ON fees_assessment;
DROP TRIGGER IF EXISTS fees_assessment_no_delete ON fees_assessment;
DROP TRIGGER IF EXISTS fees_drawercount_no_truncate ON fees_drawercount;
DROP TRIGGER IF EXISTS fees_drawercount_append_only ON fees_drawercount;
DROP TRIGGER IF EXISTS fees_dayclose_never_changes ON fees_dayclose;
"""


class Migration(migrations.Migration):
    dependencies = [("fees", "0008_payment_cancelled")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
