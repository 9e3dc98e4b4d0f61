from django.apps import AppConfig


class FeesReferenceConfig(AppConfig):
    """HQ's fee reference data (schedule, exemptions, exchange rates, rounding). HQ's tables are
    in the public schema; every mission schema holds its own copy, which only sync writes (the
    app is in SHARED_APPS and TENANT_APPS; docs/sync.md, "Reference data")."""

    name = "fees.reference"
    label = "fees_reference"
    verbose_name = "Fee reference data (HQ)"

    def ready(self) -> None:
        from sync.reference import reference_set_register

        from .models import ExchangeRate, ExemptionCategory, FeeScheduleEntry, RoundingRule

        reference_set_register(
            name="fees",
            models=[FeeScheduleEntry, ExchangeRate, ExemptionCategory, RoundingRule],
        )
