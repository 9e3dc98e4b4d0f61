"""Exemption category names per language (django-modeltranslation): `name_en` and `name_tr`.
The names written so far are English: they are copied into `name_en`; Turkish is added in the
admin and falls back to English until then. History rows keep every language's name too."""

from django.db import migrations, models


MODELS = ("ExemptionCategory", "HistoricalExemptionCategory")


def names_to_english(apps, schema_editor):  # type: ignore[no-untyped-def]
    for name in MODELS:
        model = apps.get_model("fees_reference", name)
        model.objects.filter(name_en__isnull=True).update(name_en=models.F("name"))


def english_to_names(apps, schema_editor):  # type: ignore[no-untyped-def]
    for name in MODELS:
        model = apps.get_model("fees_reference", name)
        model.objects.exclude(name_en__isnull=True).update(name=models.F("name_en"))


class Migration(migrations.Migration):
    dependencies = [
        ("fees_reference", "0002_schedule_versions_immutable"),
    ]

    operations = [
        migrations.AddField(
            model_name="exemptioncategory",
            name="name_en",
            field=models.CharField(max_length=200, null=True, verbose_name="name"),
        ),
        migrations.AddField(
            model_name="exemptioncategory",
            name="name_tr",
            field=models.CharField(max_length=200, null=True, verbose_name="name"),
        ),
        migrations.AddField(
            model_name="historicalexemptioncategory",
            name="name_en",
            field=models.CharField(max_length=200, null=True, verbose_name="name"),
        ),
        migrations.AddField(
            model_name="historicalexemptioncategory",
            name="name_tr",
            field=models.CharField(max_length=200, null=True, verbose_name="name"),
        ),
        migrations.RunPython(names_to_english, english_to_names),
    ]
