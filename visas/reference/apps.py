from django.apps import AppConfig


class VisasReferenceConfig(AppConfig):
    """HQ's visa reference data: the categories with their checklists and questions, and the
    watchlist. HQ's tables are in the public schema; every mission schema holds its own copy,
    which only sync writes (in SHARED_APPS and TENANT_APPS; docs/sync.md, "Reference data")."""

    name = "visas.reference"
    label = "visas_reference"
    verbose_name = "Visa reference data (HQ)"

    def ready(self) -> None:
        from sync.reference import reference_set_register

        from .models import CategoryQuestion, ChecklistItem, VisaCategory, WatchlistEntry

        reference_set_register(
            name="visas",
            models=[VisaCategory, ChecklistItem, CategoryQuestion, WatchlistEntry],
        )
