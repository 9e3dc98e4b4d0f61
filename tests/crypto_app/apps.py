from django.apps import AppConfig


class CryptoAppConfig(AppConfig):
    """A tenant app that exists only in tests, to exercise the encrypted fields end to end."""

    name = "tests.crypto_app"
    label = "crypto_app"
    default_auto_field = "django.db.models.BigAutoField"
