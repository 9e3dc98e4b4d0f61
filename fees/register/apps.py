from django.apps import AppConfig


class FeesRegisterConfig(AppConfig):
    """HQ's revenue register, built from the missions' fee events: public schema. Its
    projector is registered with sync by `fees.apps.FeesConfig.ready`."""

    name = "fees.register"
    label = "fees_register"
    verbose_name = "Revenue register (HQ)"
