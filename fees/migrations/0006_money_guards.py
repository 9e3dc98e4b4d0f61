"""More money rules the database holds, whatever writes to it (the outbox's shape,
sync/migrations/0002 and 0003):

- The receipt and credit-note counter only ever steps by one: a series starts at 1 and each
  UPDATE adds exactly one (the numbering trigger's upsert), so a raw `last_seq = last_seq + 10`,
  which would leave a silent gap, or a step back, which would hand a number out twice, is
  refused. Its rows are never deleted (migration 0002).
- A payment's amounts (local, base, rate, currency) and what it pays (assessment, method,
  idempotency key) never change, and payments are never deleted; the same for a fee line's
  amounts, service, rate and date. Their status and bookkeeping columns still move.
- A provider event's row is written once, with its outcome, and never changed or deleted: it
  is what makes a duplicate delivery change nothing.

Like the outbox's, the functions name no schema (TG_TABLE_NAME, NEW and OLD only; the counter
needs no other table), so a clone of the template schema keeps working in its own schema.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION fees_numbercounter_step_by_one() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.last_seq <> 1 THEN
            RAISE EXCEPTION 'a number series starts at 1 (% refused)', NEW.last_seq
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.id, NEW.series, NEW.year) IS DISTINCT FROM (OLD.id, OLD.series, OLD.year)
       OR NEW.last_seq <> OLD.last_seq + 1 THEN
        RAISE EXCEPTION 'the number counter only moves by one (from % to % refused)',
            OLD.last_seq, NEW.last_seq USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER fees_numbercounter_step_by_one BEFORE INSERT OR UPDATE ON fees_numbercounter
    FOR EACH ROW EXECUTE FUNCTION fees_numbercounter_step_by_one();

CREATE OR REPLACE FUNCTION fees_payment_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'payments are never deleted: DELETE refused'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.assessment_id, NEW.method, NEW.amount_minor, NEW.currency, NEW.base_amount_minor,
        NEW.base_currency, NEW.rate, NEW.idempotency_key, NEW.request_fingerprint)
       IS DISTINCT FROM
       (OLD.assessment_id, OLD.method, OLD.amount_minor, OLD.currency, OLD.base_amount_minor,
        OLD.base_currency, OLD.rate, OLD.idempotency_key, OLD.request_fingerprint) THEN
        RAISE EXCEPTION 'a payment''s amount never changes: UPDATE refused'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER fees_payment_guard BEFORE UPDATE OR DELETE ON fees_payment
    FOR EACH ROW EXECUTE FUNCTION fees_payment_guard();
CREATE TRIGGER fees_payment_no_truncate BEFORE TRUNCATE ON fees_payment
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();

CREATE OR REPLACE FUNCTION fees_feeline_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'fee lines are never deleted: DELETE refused'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.assessment_id, NEW.service, NEW.schedule_entry_id, NEW.amount_minor, NEW.currency,
        NEW.base_amount_minor, NEW.base_currency, NEW.rate, NEW.rate_date)
       IS DISTINCT FROM
       (OLD.assessment_id, OLD.service, OLD.schedule_entry_id, OLD.amount_minor, OLD.currency,
        OLD.base_amount_minor, OLD.base_currency, OLD.rate, OLD.rate_date) THEN
        RAISE EXCEPTION 'a fee line''s amount never changes: UPDATE refused'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER fees_feeline_guard BEFORE UPDATE OR DELETE ON fees_feeline
    FOR EACH ROW EXECUTE FUNCTION fees_feeline_guard();
CREATE TRIGGER fees_feeline_no_truncate BEFORE TRUNCATE ON fees_feeline
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();

CREATE TRIGGER fees_webhookevent_append_only BEFORE UPDATE OR DELETE ON fees_webhookevent
    FOR EACH ROW EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_webhookevent_no_truncate BEFORE TRUNCATE ON fees_webhookevent
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS fees_webhookevent_no_truncate ON fees_webhookevent;
DROP TRIGGER IF EXISTS fees_webhookevent_append_only ON fees_webhookevent;
DROP TRIGGER IF EXISTS fees_feeline_no_truncate ON fees_feeline;
DROP TRIGGER IF EXISTS fees_feeline_guard ON fees_feeline;
DROP FUNCTION IF EXISTS fees_feeline_guard();
DROP TRIGGER IF EXISTS fees_payment_no_truncate ON fees_payment;
DROP TRIGGER IF EXISTS fees_payment_guard ON fees_payment;
DROP FUNCTION IF EXISTS fees_payment_guard();
DROP TRIGGER IF EXISTS fees_numbercounter_step_by_one ON fees_numbercounter;
DROP FUNCTION IF EXISTS fees_numbercounter_step_by_one();
"""


class Migration(migrations.Migration):
    dependencies = [("fees", "0005_bank_transaction_id")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
