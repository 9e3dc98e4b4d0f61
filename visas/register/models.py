"""HQ's register of visa cases, in the public schema, built from the missions' visa events
(`projector.py`; docs/visas.md, "HQ's register").

One row per application at any mission: what was applied for, when it became admissible, when
it was due and decided, and the decision with its grounds, for HQ's statistics; and, once it is
decided, who it was for (sealed for HQ in the event, kept encrypted under HQ's key) for the
screening of later applications at any mission: a refusal at Berlin is shown at London's
screening. Every mission's search path ends in `public`, so a mission's screening reads this
table (`selectors.refusals_for_screening`).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import EncryptedDateField, EncryptedTextField
from sync.hq.models import MISSION_CODE_LENGTH

INDEX_LENGTH = 64


class CaseOutcome(models.TextChoices):
    PENDING = "", _("Not decided")
    ISSUED = "issued", _("Issued")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ANNULLED = "annulled", _("Annulled")
    REVOKED = "revoked", _("Revoked")


class VisaCase(models.Model):
    mission = models.CharField(_("mission"), max_length=MISSION_CODE_LENGTH)  # its code
    application_id = models.BigIntegerField()  # the event's aggregate at that mission
    reference = models.CharField(_("reference"), max_length=12)
    category = models.CharField(_("category"), max_length=30)
    visa_type = models.CharField(_("visa type"), max_length=1, blank=True)
    nationality = models.CharField(_("nationality"), max_length=3, blank=True)
    submitted_at = models.DateTimeField(_("submitted"))
    admissible_at = models.DateTimeField(_("admissible since"), null=True, blank=True)
    decision_due_on = models.DateField(_("decision due by"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=CaseOutcome.choices, blank=True, default=""
    )
    grounds = models.JSONField(_("grounds"), default=list, blank=True)
    # Who it was for, from the decision's sealed data: HQ's key.
    passport_index = models.CharField(max_length=INDEX_LENGTH, blank=True, db_index=True)
    surname = EncryptedTextField(_("surname"), blank=True, shared=True)
    given_names = EncryptedTextField(_("given names"), blank=True, shared=True)
    birth_date = EncryptedDateField(_("date of birth"), null=True, blank=True, shared=True)
    # The newest event applied (per mission, increasing): an older one changes nothing.
    seq = models.BigIntegerField()

    objects: ClassVar[models.Manager[VisaCase]]

    class Meta:
        ordering = ["-submitted_at", "mission", "application_id"]
        verbose_name = _("visa case")
        verbose_name_plural = _("visa cases")
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "application_id"], name="visas_register_case_once"
            ),
            models.CheckConstraint(
                condition=Q(seq__gt=0) & ~Q(mission=""), name="visas_register_case_source"
            ),
            models.CheckConstraint(
                condition=Q(outcome="") | Q(decided_at__isnull=False),
                name="visas_register_case_decided",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="refused") | ~Q(grounds=[]),
                name="visas_register_case_grounds",
            ),
        ]
        indexes = [
            models.Index(fields=["outcome", "nationality"], name="visas_reg_outcome_nat"),
            models.Index(fields=["mission", "-submitted_at"], name="visas_reg_mission"),
        ]

    def __str__(self) -> str:
        return f"{self.mission} {self.reference}"
