# Service names per language (django-modeltranslation, appointments/translation.py).

from django.db import migrations, models
from django.db.models import F


def names_to_english(apps, schema_editor):
    """The names written so far were English: they become the English names (and history's)."""
    for model in ("Service", "HistoricalService"):
        apps.get_model("appointments", model).objects.filter(name_en__isnull=True).update(
            name_en=F("name")
        )


class Migration(migrations.Migration):

    dependencies = [
        ('appointments', '0002_waitlist'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalservice',
            name='name_en',
            field=models.CharField(max_length=120, null=True, verbose_name='name'),
        ),
        migrations.AddField(
            model_name='historicalservice',
            name='name_tr',
            field=models.CharField(max_length=120, null=True, verbose_name='name'),
        ),
        migrations.AddField(
            model_name='service',
            name='name_en',
            field=models.CharField(max_length=120, null=True, verbose_name='name'),
        ),
        migrations.AddField(
            model_name='service',
            name='name_tr',
            field=models.CharField(max_length=120, null=True, verbose_name='name'),
        ),
        migrations.RunPython(names_to_english, migrations.RunPython.noop),
    ]
