from django.apps import AppConfig


class MissionsRegisterConfig(AppConfig):
    """HQ's generic registers, in the public schema, that apps with cases (fees now; passports
    and visas later) and apps whose staff act plug into: the case register and the staff
    activity register (docs/sync.md, "Registers"; docs/monitoring.md). The projectors are
    registered by the apps that own the topics; the monitoring contributor here."""

    name = "missions.register"
    label = "missions_register"
    verbose_name = "Cases and staff activity registers (HQ)"

    def ready(self) -> None:
        from missions.monitoring import monitoring_register

        from .monitoring import CasesContributor

        monitoring_register(CasesContributor())
