"""HQ's revenue register, in the public schema, built from the missions' fee events
(`projector.py`; docs/sync.md, "Registers").

Money is integer minor units of the currency named beside it (DESIGN.md, invariant 2), in the
mission's local currency and in HQ's base currency, as the mission converted it when it took
the money. `RevenuePosting` keeps each payment and refund, keyed by the mission and the seq of
the event that recorded it (the audit trail); `RevenueDay` keeps the sums HQ pages read, per
mission, business date and currency, kept as events apply.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from sync.hq.models import MISSION_CODE_LENGTH

CURRENCY_PATTERN = r"^[A-Z]{3}$"


class PostingKind(models.TextChoices):
    # money taken (`fees.payment.succeeded`): positive amounts
    PAYMENT = "payment", "payment"
    # money given back (`fees.credit_note.approved`): negative amounts
    REFUND = "refund", "refund"


class RevenuePosting(models.Model):
    """One payment or refund of one mission. `business_date_confirmed` is false for a refund
    whose ledger posting (which carries its business date) HQ has not seen yet: its date is
    then the UTC date of the approval, until that posting arrives and corrects it."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    seq = models.BigIntegerField()  # of the event that recorded the money
    kind = models.CharField(max_length=10, choices=PostingKind.choices)
    source_id = models.CharField(max_length=100)  # the payment's or credit note's id
    document = models.CharField(max_length=40)  # the receipt's or credit note's number
    method = models.CharField(max_length=20, blank=True)  # cash, card, bank_transfer (payments)
    business_date = models.DateField()
    business_date_confirmed = models.BooleanField(default=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    base_amount_minor = models.BigIntegerField()
    base_currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()

    objects: ClassVar[models.Manager[RevenuePosting]]

    class Meta:
        ordering = ["mission", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["mission", "seq"], name="fees_register_posting_seq"),
            # a payment or a credit note is money once, whichever event HQ saw it in
            models.UniqueConstraint(
                fields=["mission", "kind", "source_id"], name="fees_register_posting_source"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind=PostingKind.PAYMENT, amount_minor__gt=0, base_amount_minor__gte=0)
                    | models.Q(
                        kind=PostingKind.REFUND, amount_minor__lt=0, base_amount_minor__lte=0
                    )
                ),
                name="fees_register_posting_sign",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    currency__regex=CURRENCY_PATTERN, base_currency__regex=CURRENCY_PATTERN
                ),
                name="fees_register_posting_currency",
            ),
        ]
        indexes = [
            models.Index(
                fields=["mission", "kind", "source_id"],
                condition=models.Q(business_date_confirmed=False),
                name="fees_register_posting_dateless",
            )
        ]

    def __str__(self) -> str:
        return f"{self.mission} #{self.seq} {self.kind} {self.amount_minor} {self.currency}"


class RevenueSums(models.Model):
    """Payments and refunds, counted and summed in local and in base minor units (refunds as
    positive sums; net = payments - refunds)."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    currency = models.CharField(max_length=3)
    base_currency = models.CharField(max_length=3)
    payments = models.IntegerField(default=0)
    payments_minor = models.BigIntegerField(default=0)
    payments_base_minor = models.BigIntegerField(default=0)
    refunds = models.IntegerField(default=0)
    refunds_minor = models.BigIntegerField(default=0)
    refunds_base_minor = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


NOT_NEGATIVE = models.Q(
    payments__gte=0,
    payments_minor__gte=0,
    payments_base_minor__gte=0,
    refunds__gte=0,
    refunds_minor__gte=0,
    refunds_base_minor__gte=0,
)


class RevenueDay(RevenueSums):
    """Per mission, business date and currency pair."""

    business_date = models.DateField()

    objects: ClassVar[models.Manager[RevenueDay]]

    class Meta:
        ordering = ["mission", "business_date", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "business_date", "currency", "base_currency"],
                name="fees_register_day_unique",
            ),
            models.CheckConstraint(condition=NOT_NEGATIVE, name="fees_register_day_not_negative"),
        ]
        indexes = [models.Index(fields=["business_date", "mission"], name="fees_register_day_all")]

    def __str__(self) -> str:
        return f"{self.mission} {self.business_date} {self.currency}"


class RevenueMonth(RevenueSums):
    """Per mission, month of the business date (its first day) and currency pair: the same
    sums as `RevenueDay`, kept by the same batch, so a year of every mission is 12 rows each."""

    month = models.DateField()

    objects: ClassVar[models.Manager[RevenueMonth]]

    class Meta:
        ordering = ["mission", "month", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "month", "currency", "base_currency"],
                name="fees_register_month_unique",
            ),
            models.CheckConstraint(
                condition=NOT_NEGATIVE & models.Q(month__day=1),
                name="fees_register_month_sums",
            ),
        ]
        indexes = [models.Index(fields=["month", "mission"], name="fees_register_month_all")]

    def __str__(self) -> str:
        return f"{self.mission} {self.month:%Y-%m} {self.currency}"
