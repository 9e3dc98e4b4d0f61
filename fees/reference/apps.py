from django.apps import AppConfig


class FeesReferenceConfig(AppConfig):
    """HQ's fee reference data (schedule, exemptions, exchange rates): public schema."""

    name = "fees.reference"
    label = "fees_reference"
    verbose_name = "Fee reference data (HQ)"
