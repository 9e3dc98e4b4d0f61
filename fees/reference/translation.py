"""Names people read, one value per language (django-modeltranslation): `name_en`, `name_tr`.

`category.name` follows the active language and falls back to English where a translation is
missing; the admin edits every language's value. The history model is registered too: its
rows copy every field of the category, so they keep every language's name."""

from modeltranslation.translator import TranslationOptions, register

from .models import ExemptionCategory


class NameTranslation(TranslationOptions):
    fields = ("name",)


register(ExemptionCategory)(NameTranslation)
register(ExemptionCategory.history.model)(NameTranslation)  # type: ignore[attr-defined]
