"""Names people read, in each language (django-modeltranslation): a mission's name, address and
city get a column per language (`name_en`, `name_tr`, `city_tr`, ...); `mission.name` and
`mission.city` follow the active language and fall back to English ("Londra" in Turkish,
"London" where there is no Turkish one). The history model gets the same columns, so a history
row keeps every language's value."""

from modeltranslation.translator import TranslationOptions, register

from .models import Mission

TRANSLATED_FIELDS = ("name", "address", "city")


@register(Mission)
class MissionTranslationOptions(TranslationOptions):
    fields = TRANSLATED_FIELDS
    # a mission always has an English name and city, the fallback of every other language
    required_languages = {"en": ("name", "city"), "default": ()}


@register(Mission.history.model)  # type: ignore[attr-defined]
class HistoricalMissionTranslationOptions(TranslationOptions):
    fields = TRANSLATED_FIELDS
