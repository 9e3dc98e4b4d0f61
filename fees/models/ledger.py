"""The double-entry ledger, the cashier day close and the monthly remittance to HQ."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel

from ..money import LocalAndBaseAmounts, Money


class AccountKind(models.TextChoices):
    DRAWER = "drawer", _("Cashier's drawer")
    CARD_CLEARING = "card_clearing", _("Card clearing")
    BANK = "bank", _("Bank")
    RECEIVABLE = "receivable", _("Fees receivable")
    REVENUE = "revenue", _("Fee revenue")
    WAIVERS = "waivers", _("Fees waived")
    REFUNDS = "refunds", _("Refunds")
    CASH_OVER_SHORT = "cash_over_short", _("Cash over and short")
    DUE_TO_HQ = "due_to_hq", _("Due to HQ")
    REMITTED = "remitted", _("Fees owed to HQ (recognised by monthly statement)")


class Account(models.Model):
    """A ledger account: `code` is the kind plus a qualifier (drawer:<user id>, revenue:visa)."""

    code = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    qualifier = models.CharField(max_length=60, blank=True)
    name = models.CharField(max_length=200)

    objects: ClassVar[models.Manager[Account]]

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class LedgerTransaction(models.Model):
    """A balanced set of entries. Append-only; balanced per currency at commit (trigger)."""

    business_date = models.DateField()
    kind = models.CharField(max_length=40)
    memo = models.CharField(max_length=200, blank=True)
    source_type = models.CharField(max_length=40, blank=True)
    source_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_id = models.BigIntegerField(null=True)

    objects: ClassVar[models.Manager[LedgerTransaction]]

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["business_date"], name="fees_ledgertx_date")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    currency = models.CharField(max_length=3)
    # signed: debit positive, credit negative
    amount_minor = models.BigIntegerField()

    objects: ClassVar[models.Manager[LedgerEntry]]

    class Meta:
        ordering = ["transaction", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_minor=0), name="fees_entry_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount_minor} {self.currency}"


class DayClose(TimeStampedModel):
    """A closed business day: the database refuses ledger transactions dated on it."""

    business_date = models.DateField(unique=True)
    closed_by_id = models.BigIntegerField()

    history = history_records()

    objects: ClassVar[models.Manager[DayClose]]

    class Meta:
        ordering = ["-business_date"]

    def __str__(self) -> str:
        return self.business_date.isoformat()


class DrawerCount(TimeStampedModel):
    """Expected against counted cash in one drawer at a day close."""

    day = models.ForeignKey(DayClose, on_delete=models.PROTECT, related_name="counts")
    cashier_id = models.BigIntegerField()
    cashier_email = models.CharField(max_length=254)
    currency = models.CharField(max_length=3)
    expected_minor = models.BigIntegerField()
    counted_minor = models.BigIntegerField()
    difference_minor = models.BigIntegerField()
    reason = models.TextField(blank=True)

    history = history_records()

    objects: ClassVar[models.Manager[DrawerCount]]

    class Meta:
        ordering = ["day", "cashier_email"]
        constraints = [
            models.CheckConstraint(
                condition=Q(difference_minor=F("counted_minor") - F("expected_minor")),
                name="fees_drawercount_difference",
            ),
            models.CheckConstraint(
                condition=Q(difference_minor=0) | ~Q(reason=""),
                name="fees_drawercount_reason_for_difference",
            ),
            models.CheckConstraint(
                condition=Q(counted_minor__gte=0), name="fees_drawercount_counted"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.cashier_email}"

    @property
    def expected(self) -> Money:
        return Money(self.expected_minor, self.currency)

    @property
    def counted(self) -> Money:
        return Money(self.counted_minor, self.currency)

    @property
    def difference(self) -> Money:
        return Money(self.difference_minor, self.currency)


class Remittance(LocalAndBaseAmounts, TimeStampedModel):
    """A month's statement recorded as owed to HQ: posted once, never changed."""

    month = models.DateField(unique=True)  # the first day of the month
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    base_amount_minor = models.BigIntegerField()
    base_currency = models.CharField(max_length=3)
    recorded_by_id = models.BigIntegerField()

    history = history_records()

    objects: ClassVar[models.Manager[Remittance]]

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"
