"""Database-enforced money rules (every mission schema and the template).

- Every ledger transaction balances per currency: a DEFERRABLE INITIALLY DEFERRED constraint
  trigger checks sum(amount_minor) = 0 per (transaction, currency) at commit, so no writer,
  raw SQL included, can commit an unbalanced transaction.
- Ledger entries and transactions are append-only (UPDATE, DELETE, TRUNCATE refused).
- A ledger transaction dated on a closed business day is refused.
- Receipt numbers: BEFORE INSERT takes the next number from the (series, year) counter row with
  an upsert, which locks the row until commit: concurrent payments queue, a rollback gives the
  number back, so numbers are gapless and unique. Credit notes get theirs when approved.
- Receipts are never updated or deleted; a decided credit note never changes again.

Functions qualify tables with TG_TABLE_SCHEMA (not search_path) so that a clone of the template
schema keeps working in its own schema.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION fees_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE OR REPLACE FUNCTION fees_ledger_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    EXECUTE format(
        'SELECT currency, sum(amount_minor) AS total FROM %I.fees_ledgerentry'
        ' WHERE transaction_id = $1 GROUP BY currency HAVING sum(amount_minor) <> 0 LIMIT 1',
        TG_TABLE_SCHEMA
    ) INTO bad USING NEW.transaction_id;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %: off by %',
            NEW.transaction_id, bad.currency, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

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

CREATE OR REPLACE FUNCTION fees_number_assign() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    series text := TG_ARGV[0];
BEGIN
    EXECUTE format(
        'INSERT INTO %I.fees_numbercounter (series, year, last_seq) VALUES ($1, $2, 1)'
        ' ON CONFLICT (series, year) DO UPDATE SET last_seq = fees_numbercounter.last_seq + 1'
        ' RETURNING last_seq',
        TG_TABLE_SCHEMA
    ) INTO NEW.seq USING series, NEW.year;
    NEW.number := NEW.prefix || '-' || CASE WHEN series = 'C' THEN 'CN-' ELSE '' END
        || NEW.year || '-' || lpad(NEW.seq::text, 6, '0');
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION fees_creditnote_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'requested' THEN
        RAISE EXCEPTION 'a decided credit note is never changed or deleted'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.status = 'approved' AND NEW.number = '' THEN
        EXECUTE format(
            'INSERT INTO %I.fees_numbercounter (series, year, last_seq) VALUES (''C'', $1, 1)'
            ' ON CONFLICT (series, year) DO UPDATE SET last_seq = fees_numbercounter.last_seq + 1'
            ' RETURNING last_seq',
            TG_TABLE_SCHEMA
        ) INTO NEW.seq USING NEW.year;
        NEW.number := NEW.prefix || '-CN-' || NEW.year || '-' || lpad(NEW.seq::text, 6, '0');
    END IF;
    RETURN NEW;
END;
$$;

CREATE CONSTRAINT TRIGGER fees_ledger_balanced AFTER INSERT ON fees_ledgerentry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fees_ledger_check_balanced();
CREATE TRIGGER fees_ledgerentry_append_only BEFORE UPDATE OR DELETE ON fees_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_ledgerentry_no_truncate BEFORE TRUNCATE ON fees_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_ledgertx_append_only BEFORE UPDATE OR DELETE ON fees_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_ledgertx_no_truncate BEFORE TRUNCATE ON fees_ledgertransaction
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_ledgertx_open_day BEFORE INSERT ON fees_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION fees_ledger_refuse_closed_day();

CREATE TRIGGER fees_receipt_number BEFORE INSERT ON fees_receipt
    FOR EACH ROW EXECUTE FUNCTION fees_number_assign('R');
CREATE TRIGGER fees_receipt_immutable BEFORE UPDATE OR DELETE ON fees_receipt
    FOR EACH ROW EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_receipt_no_truncate BEFORE TRUNCATE ON fees_receipt
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_creditnote_guard BEFORE UPDATE OR DELETE ON fees_creditnote
    FOR EACH ROW EXECUTE FUNCTION fees_creditnote_guard();
CREATE TRIGGER fees_counter_no_delete BEFORE DELETE OR TRUNCATE ON fees_numbercounter
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();
CREATE TRIGGER fees_dayclose_no_delete BEFORE DELETE OR TRUNCATE ON fees_dayclose
    FOR EACH STATEMENT EXECUTE FUNCTION fees_refuse_change();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS fees_dayclose_no_delete ON fees_dayclose;
DROP TRIGGER IF EXISTS fees_counter_no_delete ON fees_numbercounter;
DROP TRIGGER IF EXISTS fees_creditnote_guard ON fees_creditnote;
DROP TRIGGER IF EXISTS fees_receipt_no_truncate ON fees_receipt;
DROP TRIGGER IF EXISTS fees_receipt_immutable ON fees_receipt;
DROP TRIGGER IF EXISTS fees_receipt_number ON fees_receipt;
DROP TRIGGER IF EXISTS fees_ledgertx_open_day ON fees_ledgertransaction;
DROP TRIGGER IF EXISTS fees_ledgertx_no_truncate ON fees_ledgertransaction;
DROP TRIGGER IF EXISTS fees_ledgertx_append_only ON fees_ledgertransaction;
DROP TRIGGER IF EXISTS fees_ledgerentry_no_truncate ON fees_ledgerentry;
DROP TRIGGER IF EXISTS fees_ledgerentry_append_only ON fees_ledgerentry;
DROP TRIGGER IF EXISTS fees_ledger_balanced ON fees_ledgerentry;
DROP FUNCTION IF EXISTS fees_creditnote_guard();
DROP FUNCTION IF EXISTS fees_number_assign();
DROP FUNCTION IF EXISTS fees_ledger_refuse_closed_day();
DROP FUNCTION IF EXISTS fees_ledger_check_balanced();
DROP FUNCTION IF EXISTS fees_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("fees", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
