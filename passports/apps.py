from django.apps import AppConfig


class PassportsConfig(AppConfig):
    """Passport and emergency travel document cases at a mission: applications, photos, the
    MRZ (`passports.mrz`, reused by visas) and the documents' registers at HQ."""

    name = "passports"
    verbose_name = "Passports"
