"""Payments (cash, card, bank transfer), their receipts with gapless numbers, and the
provider events processed once."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from consulate.kernel.workflows import Workflow

from ..money import LocalAndBaseAmounts
from .assessment import Assessment


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    CARD = "card", _("Card")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")


class PaymentStatus(models.TextChoices):
    # Card: checkout created, the payer is on the provider's page. Bank: awaiting the transfer.
    PENDING = "pending", _("Pending")
    # Money received; posted to the ledger and a receipt issued.
    SUCCEEDED = "succeeded", _("Paid")
    # The provider declined the card; nothing posted.
    DECLINED = "declined", _("Declined")
    # No answer in time; the amount is free again. A late success still counts (money moved).
    EXPIRED = "expired", _("Timed out")
    # Card: cancelled at the provider, because the payer started again or staff cancelled it
    # to take the money another way; the amount is free again. A late success still counts.
    CANCELLED = "cancelled", _("Cancelled")


PAYMENT_TRANSITIONS: dict[str, set[str]] = {
    PaymentStatus.PENDING: {
        PaymentStatus.SUCCEEDED,
        PaymentStatus.DECLINED,
        PaymentStatus.EXPIRED,
        PaymentStatus.CANCELLED,
    },
    # a success is final: a late "declined" or "expired" for it is an out-of-order message
    PaymentStatus.SUCCEEDED: set(),
    PaymentStatus.DECLINED: {PaymentStatus.SUCCEEDED},
    PaymentStatus.EXPIRED: {PaymentStatus.SUCCEEDED},
    # the provider may have taken the money just before the cancel reached it
    PaymentStatus.CANCELLED: {PaymentStatus.SUCCEEDED},
}


class Payment(Workflow, LocalAndBaseAmounts, TimeStampedModel):
    """Money paid, or on its way, against an assessment. Its amounts never change (trigger)."""

    TRANSITIONS = PAYMENT_TRANSITIONS

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    amount_minor = models.BigIntegerField(_("amount"))
    currency = models.CharField(max_length=3)
    # the base-currency equivalent at the rate frozen on the assessment's lines
    base_amount_minor = models.BigIntegerField()
    base_currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    status = models.CharField(
        _("status"), max_length=20, choices=PaymentStatus.choices, default="pending"
    )
    idempotency_key = models.CharField(max_length=100, unique=True)
    request_fingerprint = models.CharField(max_length=64)
    provider = models.CharField(max_length=30, blank=True)
    provider_ref = models.CharField(max_length=100, blank=True)
    checkout_url = models.CharField(max_length=1000, blank=True)
    bank_reference = models.CharField(max_length=40, blank=True)
    # the bank's own id of the statement line that paid a transfer: one line posts once
    bank_transaction_id = models.CharField(max_length=100, blank=True)
    value_date = models.DateField(null=True)
    cashier_id = models.BigIntegerField(null=True)
    created_by_id = models.BigIntegerField(null=True)
    succeeded_at = models.DateTimeField(null=True)
    # a success that arrived after the amount was no longer due (a late webhook after a
    # timeout or a cancel, or a card paid while the fee was paid another way)
    needs_refund = models.BooleanField(default=False)

    history = history_records()

    objects: ClassVar[models.Manager[Payment]]

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="fees_payment_positive"),
            models.CheckConstraint(
                condition=Q(base_amount_minor__gte=0), name="fees_payment_base_not_negative"
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_ref"],
                condition=~Q(provider_ref=""),
                name="fees_payment_provider_ref_unique",
            ),
            models.UniqueConstraint(
                fields=["bank_reference"],
                condition=~Q(bank_reference=""),
                name="fees_payment_bank_reference_unique",
            ),
            models.UniqueConstraint(
                fields=["bank_transaction_id"],
                condition=~Q(bank_transaction_id=""),
                name="fees_payment_bank_transaction_unique",
            ),
            models.CheckConstraint(
                condition=~Q(method="cash") | Q(cashier_id__isnull=False),
                name="fees_payment_cash_has_cashier",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount}"

    def can_succeed(self) -> bool:
        """Pending, or a late success after a decline or a timeout (the money moved)."""
        return self.can_move_to(PaymentStatus.SUCCEEDED)

    def can_expire(self) -> bool:
        return self.can_move_to(PaymentStatus.EXPIRED)

    def can_cancel(self) -> bool:
        """A card checkout still open at the provider (cash and transfers are not cancelled)."""
        return self.method == PaymentMethod.CARD and self.can_move_to(PaymentStatus.CANCELLED)


class NumberCounter(models.Model):
    """Last number used per series ("R" receipts, "C" credit notes) and year. The insert
    trigger on receipts and credit notes increments it; the row lock held until commit is what
    makes the numbers gapless under concurrency (a rollback gives the number back)."""

    series = models.CharField(max_length=1)
    year = models.PositiveSmallIntegerField()
    last_seq = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["series", "year"]
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="fees_counter_series_year")
        ]

    def __str__(self) -> str:
        return f"{self.series}{self.year}: {self.last_seq}"


class Receipt(LocalAndBaseAmounts, models.Model):
    """Proof of one payment. Never edited, never deleted (triggers refuse both); the one change
    it takes is its payer's name re-encrypted under a newer data key (migration 0007)."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="receipt")
    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    seq = models.PositiveIntegerField(default=0)  # set by the database
    number = models.CharField(max_length=32, unique=True, blank=True)  # set by the database
    issued_at = models.DateTimeField()
    business_date = models.DateField()
    payer_name = EncryptedTextField(_("payer"))  # as on the assessment: never in clear
    payer_language = models.CharField(max_length=10)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    base_amount_minor = models.BigIntegerField()
    base_currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    issued_by_id = models.BigIntegerField(null=True)

    history = history_records()

    objects: ClassVar[models.Manager[Receipt]]

    class Meta:
        ordering = ["-year", "-seq"]
        constraints = [
            models.UniqueConstraint(fields=["year", "seq"], name="fees_receipt_year_seq"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="fees_receipt_positive"),
        ]

    def __str__(self) -> str:
        return self.number


class WebhookEvent(models.Model):
    """Every provider event id processed once: a duplicate delivery finds its row and stops."""

    provider = models.CharField(max_length=30)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=40)
    provider_ref = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=40)

    objects: ClassVar[models.Manager[WebhookEvent]]

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="fees_webhook_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"
