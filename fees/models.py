"""A mission's money: assessments and fee lines, waivers, payments, receipts, credit notes,
the double-entry ledger and the cashier day close. All in the mission's schema.

Amounts are BigIntegers of ISO 4217 minor units next to a 3-letter currency (fees.money).
The database holds the rules that must never break, whatever writes to it (migration 0002):
every ledger transaction balances per currency at commit, ledger rows, receipts and credit notes
are never updated or deleted, receipt numbers come from a counter row locked until commit
(gapless), and no ledger transaction lands on a closed day.
"""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel

from .money import LocalAndBaseAmounts, Money
from .reference.models import ServiceCode


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


class Assessment(TimeStampedModel):
    """What a person owes for one case, booking or walk-in, in the mission's currency."""

    subject_type = models.CharField(_("for"), max_length=20, choices=SubjectType.choices)
    subject_ref = models.CharField(_("reference"), max_length=64)
    payer_name = models.CharField(_("payer"), max_length=200)
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

    def __str__(self) -> str:
        return f"{self.get_subject_type_display()} {self.subject_ref}"

    def can_move_to(self, status: str) -> bool:
        return status in ASSESSMENT_TRANSITIONS[self.status]


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


class Waiver(TimeStampedModel):
    """An exemption from (part of) one fee line. Four eyes: approver ≠ requester."""

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

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


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


PAYMENT_TRANSITIONS: dict[str, set[str]] = {
    PaymentStatus.PENDING: {PaymentStatus.SUCCEEDED, PaymentStatus.DECLINED, PaymentStatus.EXPIRED},
    # a success is final: a late "declined" or "expired" for it is an out-of-order message
    PaymentStatus.SUCCEEDED: set(),
    PaymentStatus.DECLINED: {PaymentStatus.SUCCEEDED},
    PaymentStatus.EXPIRED: {PaymentStatus.SUCCEEDED},
}


class Payment(LocalAndBaseAmounts, TimeStampedModel):
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
    # a success that arrived after the amount was no longer due (late webhook after a timeout)
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

    def can_move_to(self, status: str) -> bool:
        return status in PAYMENT_TRANSITIONS[self.status]


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
    """Proof of one payment. Never edited, never deleted (triggers refuse both)."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="receipt")
    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    seq = models.PositiveIntegerField(default=0)  # set by the database
    number = models.CharField(max_length=32, unique=True, blank=True)  # set by the database
    issued_at = models.DateTimeField()
    business_date = models.DateField()
    payer_name = models.CharField(max_length=200)
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


class CreditNote(TimeStampedModel):
    """A refund or correction against a receipt; posted only once a second person approves.
    Numbered (series "C") when approved; never edited after that."""

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

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


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
