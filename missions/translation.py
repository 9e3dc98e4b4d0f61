"""Names people read, in each language (django-modeltranslation): a mission's name and address
get a column per language (`name_en`, `name_tr`, ...); `mission.name` follows the active language
and falls back to English. The history model gets the same columns, so a history row keeps every
language's value."""

from modeltranslation.translator import TranslationOptions, register

from .models import Mission

TRANSLATED_FIELDS = ("name", "address")


@register(Mission)
class MissionTranslationOptions(TranslationOptions):
    fields = TRANSLATED_FIELDS
    # a mission always has an English name, the fallback of every other language
    required_languages = {"en": ("name",), "default": ()}


@register(Mission.history.model)  # type: ignore[attr-defined]
class HistoricalMissionTranslationOptions(TranslationOptions):
    fields = TRANSLATED_FIELDS
