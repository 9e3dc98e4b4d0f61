"""Names people read, per language (django-modeltranslation): `Service.name` gets `name_en` and
`name_tr`; `service.name` reads the active language's, falling back to English.

The history model is registered too, so a history row keeps both names (simple-history copies
every field of the model, the per-language ones included)."""

from modeltranslation.translator import TranslationOptions, register, translator

from .models import Service


@register(Service)
class ServiceTranslationOptions(TranslationOptions):
    fields = ("name",)


translator.register(Service.history.model, ServiceTranslationOptions)
