from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "consulate.accounts"
    label = "accounts"
    verbose_name = "Accounts"
