"""A fee refunded in full is no longer charged (docs/fees.md, "Assessment"): the fee-line
trigger of migration 0011 now passes over a case's assessment that is settled, was paid, and
whose approved credit notes add up to what was paid, as `fees.selectors.reference_fees_charged`
does. A part refund still holds the fee; an open assessment too (the fee is paid there). Same
advisory lock as before (`fees.locks.reference_lock`), taken first. Going back restores the
function of 0011, under which a refund freed nothing."""

import importlib

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION fees_feeline_charged_once() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    reference text;
    found bigint;
BEGIN
    EXECUTE format('SELECT upper(subject_ref) FROM %I.fees_assessment WHERE id = $1',
                   TG_TABLE_SCHEMA)
        INTO reference USING NEW.assessment_id;
    PERFORM pg_advisory_xact_lock(
        hashtextextended('fees-reference:' || TG_TABLE_SCHEMA || ':' || reference, 0));
    EXECUTE format('SELECT l.assessment_id FROM %1$I.fees_feeline l'
                   ' JOIN %1$I.fees_assessment a ON a.id = l.assessment_id'
                   ' CROSS JOIN LATERAL (SELECT'
                   '   (SELECT coalesce(sum(p.amount_minor), 0) FROM %1$I.fees_payment p'
                   '     WHERE p.assessment_id = a.id AND p.status = ''succeeded'') AS paid,'
                   '   (SELECT coalesce(sum(c.amount_minor), 0) FROM %1$I.fees_creditnote c'
                   '     JOIN %1$I.fees_receipt r ON r.id = c.receipt_id'
                   '     JOIN %1$I.fees_payment p ON p.id = r.payment_id'
                   '     WHERE p.assessment_id = a.id AND c.status = ''approved'') AS refunded'
                   ' ) m'
                   ' WHERE upper(a.subject_ref) = $1 AND l.service = $2'
                   ' AND a.subject_type = ''case'''
                   ' AND a.status <> ''cancelled'' AND l.assessment_id <> $3'
                   ' AND NOT (a.status = ''settled'' AND m.paid > 0 AND m.refunded >= m.paid)'
                   ' LIMIT 1',
                   TG_TABLE_SCHEMA)
        INTO found USING reference, NEW.service, NEW.assessment_id;
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'fee % of reference % is charged already (assessment %)',
            NEW.service, reference, found USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END;
$$;
"""

# going back: 0011's function as it was (its statement before the trigger, which stays)
BACKWARD = importlib.import_module(
    "fees.migrations.0011_fee_charged_once_per_reference"
).FORWARD.split("CREATE TRIGGER")[0]


class Migration(migrations.Migration):
    dependencies = [("fees", "0011_fee_charged_once_per_reference")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
