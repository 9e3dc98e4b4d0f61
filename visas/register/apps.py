from django.apps import AppConfig


class VisasRegisterConfig(AppConfig):
    """HQ's register of visa cases, built from the missions' visa events (public schema): what
    was applied for, decided, issued and refused where, for the screening of later applications
    at any mission (visa shopping) and HQ's statistics. Its projector is registered with sync by
    `visas.apps.VisasConfig.ready`."""

    name = "visas.register"
    label = "visas_register"
    verbose_name = "Visa register (HQ)"
