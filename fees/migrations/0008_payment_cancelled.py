"""Card checkouts can be cancelled (the payer started again, or staff take the money another
way): a new payment status, no schema change."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fees', '0007_payer_name_encrypted'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalpayment',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('succeeded', 'Paid'), ('declined', 'Declined'), ('expired', 'Timed out'), ('cancelled', 'Cancelled')], default='pending', max_length=20, verbose_name='status'),
        ),
        migrations.AlterField(
            model_name='payment',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('succeeded', 'Paid'), ('declined', 'Declined'), ('expired', 'Timed out'), ('cancelled', 'Cancelled')], default='pending', max_length=20, verbose_name='status'),
        ),
    ]
