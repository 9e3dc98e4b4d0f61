"""An appeal against a refusal: recorded at the mission, decided by a consul who did not record
it."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from consulate.kernel.workflows import Workflow

from .application import VisaApplication


class AppealStatus(models.TextChoices):
    LODGED = "lodged", _("Lodged")
    # The refusal stands.
    UPHELD = "upheld", _("Refusal confirmed")
    # The refusal is set aside; the application is examined again.
    GRANTED = "granted", _("Refusal set aside")


APPEAL_TRANSITIONS: dict[str, frozenset[str]] = {
    AppealStatus.LODGED: frozenset({AppealStatus.UPHELD, AppealStatus.GRANTED}),
    AppealStatus.UPHELD: frozenset(),
    AppealStatus.GRANTED: frozenset(),
}


class Appeal(Workflow, TimeStampedModel):
    TRANSITIONS = APPEAL_TRANSITIONS

    application = models.ForeignKey(
        VisaApplication, on_delete=models.PROTECT, related_name="appeals"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.LODGED
    )
    lodged_on = models.DateField(_("lodged on"))
    statement = EncryptedTextField(_("the appellant's grounds"))
    recorded_by_id = models.BigIntegerField()
    # The consul whose refusal is appealed: never the one who decides the appeal.
    refused_by_id = models.BigIntegerField(null=True, blank=True)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("reasons for the decision"), blank=True)

    history = history_records()
    objects: ClassVar[models.Manager[Appeal]]

    class Meta:
        ordering = ["application", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by_id__isnull=True) | ~Q(decided_by_id=F("recorded_by_id")),
                name="visas_appeal_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(decided_by_id__isnull=True)
                | Q(refused_by_id__isnull=True)
                | ~Q(decided_by_id=F("refused_by_id")),
                name="visas_appeal_not_the_refusing_consul",
            ),
            models.CheckConstraint(
                condition=Q(status="lodged")
                | (Q(decided_by_id__isnull=False) & ~Q(decision_note="")),
                name="visas_appeal_decided",
            ),
            models.UniqueConstraint(
                fields=["application"], condition=Q(status="lodged"), name="visas_appeal_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"appeal {self.pk} of {self.application_id}"
