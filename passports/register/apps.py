from django.apps import AppConfig


class PassportsRegisterConfig(AppConfig):
    """HQ's registers of travel documents, built from the missions' passport events: public
    schema. The lost and stolen documents register first. Its projector is registered with sync
    by `passports.apps.PassportsConfig.ready`."""

    name = "passports.register"
    label = "passports_register"
    verbose_name = "Travel document registers (HQ)"
