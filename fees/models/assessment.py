"""What a person owes: an assessment and its fee lines, each with the rate frozen on it."""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import BlindIndexField, EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from consulate.kernel.workflows import Workflow

from ..money import LocalAndBaseAmounts
from ..reference.models import ServiceCode


def new_token() -> str:
    return secrets.token_urlsafe(24)


class SubjectType(models.TextChoices):
    WALK_IN = "walk_in", _("Walk-in at the counter")
    BOOKING = "booking", _("Booking")
    CASE = "case", _("Case")


class AssessmentStatus(models.TextChoices):
    # Fee lines assessed, something still to pay.
    OPEN = "open", _("Open")
    # Nothing left to pay (paid, or waived).
    SETTLED = "settled", _("Settled")
    # The case was cancelled before it was paid; no more payments.
    CANCELLED = "cancelled", _("Cancelled")


ASSESSMENT_TRANSITIONS: dict[str, set[str]] = {
    AssessmentStatus.OPEN: {AssessmentStatus.SETTLED, AssessmentStatus.CANCELLED},
    # a refund reopens nothing; a settled assessment stays settled
    AssessmentStatus.SETTLED: set(),
    AssessmentStatus.CANCELLED: set(),
}


class Assessment(Workflow, TimeStampedModel):
    """What a person owes for one case, booking or walk-in, in the mission's currency."""

    TRANSITIONS = ASSESSMENT_TRANSITIONS

    subject_type = models.CharField(_("for"), max_length=20, choices=SubjectType.choices)
    subject_ref = models.CharField(_("reference"), max_length=64)
    # where the payer follows what the fee is for (their application's page on this host),
    # linked from the pay page; empty for a booking or a walk-in
    subject_path = models.CharField(max_length=200, blank=True, default="")
    # The payer is a person: the name is encrypted with the mission's data key (here and in
    # the history), and found again only by exact match through its blind index.
    payer_name = EncryptedTextField(_("payer"))
    payer_name_index = BlindIndexField(source="payer_name")
    payer_language = models.CharField(_("payer's language"), max_length=10, default="en")
    currency = models.CharField(_("currency"), max_length=3)
    assessed_on = models.DateField(_("assessed on"))
    status = models.CharField(
        _("status"), max_length=20, choices=AssessmentStatus.choices, default="open"
    )
    pay_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_by_id = models.BigIntegerField(null=True)

    history = history_records(excluded_fields=["pay_token"])

    objects: ClassVar[models.Manager[Assessment]]

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="fees_assessment_currency"
            ),
        ]
        indexes = [
            # a reference as the counter finds it and as a fee is charged once per reference
            # (`reference_fees_charged`; the fee-line trigger of migration 0011)
            models.Index(Upper("subject_ref"), name="fees_assessment_ref_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.get_subject_type_display()} {self.subject_ref}"

    def can_cancel(self) -> bool:
        """Only an open assessment is cancelled (the service also asks that nothing was paid)."""
        return self.can_move_to(AssessmentStatus.CANCELLED)

    def can_settle(self) -> bool:
        return self.can_move_to(AssessmentStatus.SETTLED)

    def can_take_payment(self) -> bool:
        return self.status == AssessmentStatus.OPEN


class FeeLine(LocalAndBaseAmounts, TimeStampedModel):
    """One fee of an assessment with the exchange rate used, frozen at assessment."""

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="lines")
    service = models.CharField(_("service"), max_length=40, choices=ServiceCode.choices)
    schedule_entry_id = models.BigIntegerField(null=True)
    base_amount_minor = models.BigIntegerField(_("amount in base currency"))
    base_currency = models.CharField(max_length=3)
    rate = models.DecimalField(_("rate used"), max_digits=24, decimal_places=10)
    rate_date = models.DateField(_("rate of"))
    amount_minor = models.BigIntegerField(_("amount"))
    currency = models.CharField(max_length=3)

    history = history_records()

    objects: ClassVar[models.Manager[FeeLine]]

    class Meta:
        ordering = ["assessment", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0) & Q(base_amount_minor__gte=0),
                name="fees_feeline_amount_not_negative",
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fees_feeline_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_service_display()} {self.amount}"
