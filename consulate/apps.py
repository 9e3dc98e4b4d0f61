from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class ConsulateConfig(AppConfig):
    name = "consulate"
    verbose_name = "Consular e-services"

    def ready(self) -> None:
        from consulate.kernel.history import history_guards_install

        # Once per migrated schema: post_migrate is sent after all migrations ran, once per
        # app with models; contenttypes is migrated in public and in every mission schema.
        post_migrate.connect(
            history_guards_install,
            sender=apps.get_app_config("contenttypes"),
            dispatch_uid="history_guards_install",
        )
