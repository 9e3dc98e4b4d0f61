"""A case's fee is charged once (docs/fees.md, "Assessment"): a fee line is refused when a
case's assessment of the same reference (case of letters does not count), other than its own
and not cancelled, has a line of the same service. A booking or a walk-in does not hold a
reference: one booking covers several people, each paying their own fee. The trigger takes the advisory lock of
`fees.locks.reference_lock` first, so two assessments of one reference at once queue, and the
second finds the first's lines; the service asks the same before, for a message that says
where the fee was charged. The index serves both lookups (and the counter's search)."""

from django.db import migrations, models
from django.db.models.functions import Upper

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
    EXECUTE format('SELECT l.assessment_id FROM %I.fees_feeline l'
                   ' JOIN %I.fees_assessment a ON a.id = l.assessment_id'
                   ' WHERE upper(a.subject_ref) = $1 AND l.service = $2'
                   ' AND a.subject_type = ''case'''
                   ' AND a.status <> ''cancelled'' AND l.assessment_id <> $3 LIMIT 1',
                   TG_TABLE_SCHEMA, TG_TABLE_SCHEMA)
        INTO found USING reference, NEW.service, NEW.assessment_id;
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'fee % of reference % is charged already (assessment %)',
            NEW.service, reference, found USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER fees_feeline_charged_once BEFORE INSERT ON fees_feeline
    FOR EACH ROW EXECUTE FUNCTION fees_feeline_charged_once();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS fees_feeline_charged_once ON fees_feeline;
DROP FUNCTION IF EXISTS fees_feeline_charged_once();
"""


class Migration(migrations.Migration):
    dependencies = [("fees", "0010_assessment_subject_path")]

    operations = [
        migrations.AddIndex(
            model_name="assessment",
            index=models.Index(Upper("subject_ref"), name="fees_assessment_ref_upper"),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
