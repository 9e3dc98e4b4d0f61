"""Four eyes the database keeps even against a raw UPDATE under the application's role: who
recommended a passport case changes only with a new recommendation (biometrics taken ->
recommended) or is cleared when a consul sends the case back (-> biometrics taken), so a
statement cannot rewrite the recommender while it records the decision (as visas/migrations/0002).
The function names no schema, so a clone of the template keeps it."""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION passports_application_recommender_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.recommended_by_id IS DISTINCT FROM OLD.recommended_by_id
       AND NOT (NEW.status = 'recommended' AND OLD.status = 'biometrics_taken')
       AND NOT (NEW.status = 'biometrics_taken' AND NEW.recommended_by_id IS NULL) THEN
        RAISE EXCEPTION 'who recommended a passport case changes only with a new recommendation'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER passports_application_recommender_guard BEFORE UPDATE
    ON passports_application
    FOR EACH ROW EXECUTE FUNCTION passports_application_recommender_guard();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS passports_application_recommender_guard ON passports_application;
DROP FUNCTION IF EXISTS passports_application_recommender_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("passports", "0006_etd_photo")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
