"""Four eyes: waivers of a fee line and credit notes against a receipt, each decided by a
second person."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from consulate.kernel.workflows import Workflow

from ..money import Money
from .assessment import FeeLine
from .payment import Receipt


class ApprovalStatus(models.TextChoices):
    # Asked for; waits for a second person.
    REQUESTED = "requested", _("Waiting for approval")
    # Approved by a consul (not the requester); posted to the ledger.
    APPROVED = "approved", _("Approved")
    # Refused by the approver; nothing posted.
    REJECTED = "rejected", _("Rejected")


APPROVAL_TRANSITIONS: dict[str, set[str]] = {
    ApprovalStatus.REQUESTED: {ApprovalStatus.APPROVED, ApprovalStatus.REJECTED},
    ApprovalStatus.APPROVED: set(),
    ApprovalStatus.REJECTED: set(),
}


class Waiver(Workflow, TimeStampedModel):
    """An exemption from (part of) one fee line. Four eyes: approver ≠ requester."""

    TRANSITIONS = APPROVAL_TRANSITIONS

    line = models.ForeignKey(FeeLine, on_delete=models.PROTECT, related_name="waivers")
    category_code = models.CharField(_("exemption category"), max_length=40)
    reason = models.TextField(_("reason"))
    amount_minor = models.BigIntegerField(_("amount waived"))
    currency = models.CharField(max_length=3)
    status = models.CharField(
        _("status"), max_length=20, choices=ApprovalStatus.choices, default="requested"
    )
    requested_by_id = models.BigIntegerField()
    decided_by_id = models.BigIntegerField(null=True)
    decided_at = models.DateTimeField(null=True)

    history = history_records()

    objects: ClassVar[models.Manager[Waiver]]

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="fees_waiver_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="fees_waiver_reason_required"),
            models.CheckConstraint(
                condition=Q(decided_by_id__isnull=True) | ~Q(decided_by_id=F("requested_by_id")),
                name="fees_waiver_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(status="requested") | Q(decided_by_id__isnull=False),
                name="fees_waiver_decided_by",
            ),
            models.UniqueConstraint(
                fields=["line"],
                condition=Q(status__in=["requested", "approved"]),
                name="fees_waiver_one_per_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category_code} {self.amount_minor} {self.currency}"

    def can_decide(self) -> bool:
        return self.can_move_to(ApprovalStatus.APPROVED)

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class CreditNote(Workflow, TimeStampedModel):
    """A refund or correction against a receipt; posted only once a second person approves.
    Numbered (series "C") when approved; never edited after that."""

    TRANSITIONS = APPROVAL_TRANSITIONS

    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="credit_notes")
    amount_minor = models.BigIntegerField(_("amount"))
    currency = models.CharField(max_length=3)
    base_amount_minor = models.BigIntegerField()
    base_currency = models.CharField(max_length=3)
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=20, choices=ApprovalStatus.choices, default="requested"
    )
    requested_by_id = models.BigIntegerField()
    decided_by_id = models.BigIntegerField(null=True)
    decided_at = models.DateTimeField(null=True)
    business_date = models.DateField(null=True)
    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField(null=True)
    seq = models.PositiveIntegerField(null=True)
    number = models.CharField(max_length=32, blank=True)

    history = history_records()

    objects: ClassVar[models.Manager[CreditNote]]

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="fees_creditnote_positive"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="fees_creditnote_reason_required"),
            models.CheckConstraint(
                condition=Q(decided_by_id__isnull=True) | ~Q(decided_by_id=F("requested_by_id")),
                name="fees_creditnote_four_eyes",
            ),
            models.UniqueConstraint(
                fields=["number"], condition=~Q(number=""), name="fees_creditnote_number"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"credit note #{self.pk}"

    def can_decide(self) -> bool:
        return self.can_move_to(ApprovalStatus.APPROVED)

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)
