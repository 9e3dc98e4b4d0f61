from django.apps import AppConfig


class CryptoConfig(AppConfig):
    name = "consulate.crypto"
    label = "crypto"
    verbose_name = "Encryption keys"
