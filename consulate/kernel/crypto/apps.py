from django.apps import AppConfig


class CryptoConfig(AppConfig):
    name = "consulate.kernel.crypto"
    label = "crypto"
    verbose_name = "Encryption keys"
