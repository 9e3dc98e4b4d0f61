from django.apps import AppConfig


class VisasConfig(AppConfig):
    """Visa applications at a mission: categories and checklists, uploads, screening against
    HQ's watchlist and refusal register, four-eyes decisions, stickers and e-visas (issue 12).
    So far: the screening's name matching (`visas.matching`)."""

    name = "visas"
    verbose_name = "Visas"
