"""A passport reported lost or stolen at the mission, by its holder online or at the counter. The
report reaches HQ's register of lost and stolen documents through sync; the number is kept
encrypted here and travels only as its blind index under HQ's key."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import BlindIndexField, EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel


class ReportKind(models.TextChoices):
    LOST = "lost", _("Lost")
    STOLEN = "stolen", _("Stolen")


class DocumentReport(TimeStampedModel):
    kind = models.CharField(_("lost or stolen"), max_length=10, choices=ReportKind.choices)
    document_number = EncryptedTextField(_("passport number"))
    document_index = BlindIndexField(
        source="document_number", purpose="travel_document", shared=True
    )
    # Where and when, as the holder tells it (a police reference for a theft).
    circumstances = models.TextField(_("what happened"), blank=True)
    reported_by_id = models.BigIntegerField(null=True)
    # The replacement application the report came with, if any.
    application_id = models.BigIntegerField(null=True, blank=True)

    history = history_records()
    objects: ClassVar[models.Manager[DocumentReport]]

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["document_index"], name="passports_report_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} report {self.pk}"
