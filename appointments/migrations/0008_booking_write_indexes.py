"""A booking writes fewer index entries (docs/benchmarks.md, fifteenth pass).

- History tables of bookings and their people keep only the indexes history is read by (the
  recorded row's id, the time, the acting user), not copies of the model's own.
- A slot's row is found by its id or by (service, starts_at): the index that also held `booked`
  and the service's own index are dropped, so that taking a place (`booked = booked + 1`)
  changes no indexed column, and a fifth of each page of slots written from now on is left free,
  so that PostgreSQL can write the new row version beside the old one without touching an index
  (a HOT update). Slots written before keep their pages as they are. The slot's foreign key
  to its service stays as it is (only its index is dropped).
"""

import consulate.kernel.crypto.fields
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('appointments', '0007_booking_visit_recorded_at'),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE appointments_slot SET (fillfactor = 80)",
            reverse_sql="ALTER TABLE appointments_slot RESET (fillfactor)",
        ),
        migrations.RemoveIndex(
            model_name='slot',
            name='appointment_service_7887d7_idx',
        ),
        migrations.AlterField(
            model_name='historicalbooking',
            name='reference',
            field=models.CharField(max_length=12, verbose_name='reference'),
        ),
        migrations.AlterField(
            model_name='historicalbooking',
            name='service',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='appointments.service'),
        ),
        migrations.AlterField(
            model_name='historicalbooking',
            name='slot',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='appointments.slot'),
        ),
        migrations.AlterField(
            model_name='historicalbooking',
            name='user_id',
            field=models.BigIntegerField(verbose_name='account'),
        ),
        migrations.AlterField(
            model_name='historicalbookingperson',
            name='booking',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='appointments.booking'),
        ),
        migrations.AlterField(
            model_name='historicalbookingperson',
            name='document_index',
            field=consulate.kernel.crypto.fields.BlindIndexField(db_index=False, purpose='identity_document', source='document_number'),
        ),
        migrations.AlterField(
            model_name='historicalbookingperson',
            name='service',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='appointments.service'),
        ),
        # Only the index goes: AlterField would also drop the foreign key and add it back,
        # checking every slot again while the table is locked.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='slot',
                    name='service',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='slots', to='appointments.service'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS appointments_slot_service_id_3902bb6f",
                    reverse_sql="CREATE INDEX appointments_slot_service_id_3902bb6f"
                    " ON appointments_slot (service_id)",
                ),
            ],
        ),
    ]
