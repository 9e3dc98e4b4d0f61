from django.db import models

from consulate.kernel.crypto.fields import BlindIndexField, EncryptedDateField, EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel


class Dossier(TimeStampedModel):
    full_name = models.CharField(max_length=200)
    passport_number = EncryptedTextField()
    passport_number_index = BlindIndexField(source="passport_number")
    date_of_birth = EncryptedDateField(null=True, blank=True)
    place_of_birth = EncryptedTextField(blank=True)
    history = history_records()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.full_name
