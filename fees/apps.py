from django.apps import AppConfig


class FeesConfig(AppConfig):
    name = "fees"
    verbose_name = "Fees"

    def ready(self) -> None:
        # HQ builds its revenue register from this app's events (fees/register/).
        from sync.registry import projector_register

        from .register.projector import NAME, TOPICS, revenue_project, revenue_rebuild

        projector_register(name=NAME, topics=TOPICS, apply=revenue_project, rebuild=revenue_rebuild)
