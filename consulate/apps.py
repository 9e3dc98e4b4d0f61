from django.apps import AppConfig


class ConsulateConfig(AppConfig):
    name = "consulate"
    verbose_name = "Consular e-services"
