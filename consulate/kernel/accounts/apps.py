from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "consulate.kernel.accounts"
    label = "accounts"
    verbose_name = "Accounts"
