"""Texts applicants read, one value per language (django-modeltranslation): `name_en`,
`name_tr` and so on; as `fees.reference.translation`."""

from modeltranslation.translator import TranslationOptions, register

from .models import CategoryQuestion, ChecklistItem, VisaCategory


class CategoryTranslation(TranslationOptions):
    fields = ("name", "description")


class ItemTranslation(TranslationOptions):
    fields = ("label", "help_text")


class QuestionTranslation(TranslationOptions):
    fields = ("label",)


for model, options in (
    (VisaCategory, CategoryTranslation),
    (ChecklistItem, ItemTranslation),
    (CategoryQuestion, QuestionTranslation),
):
    register(model)(options)
    register(model.history.model)(options)  # type: ignore[attr-defined]
