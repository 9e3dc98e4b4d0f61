"""Lottery release: rounds and their entries."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import BlindIndexField, EncryptedDateField, EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from consulate.kernel.workflows import Workflow

from .booking import Booking
from .catalogue import Service


class LotteryStatus(models.TextChoices):
    # Seed committed; entries accepted between window_opens_at and window_closes_at.
    OPEN = "open", _("Registration")
    # Drawn: seed published, winners booked.
    DRAWN = "drawn", _("Drawn")


LOTTERY_TRANSITIONS: dict[str, frozenset[str]] = {
    LotteryStatus.OPEN: frozenset({LotteryStatus.DRAWN}),
    LotteryStatus.DRAWN: frozenset(),
}


class LotteryRound(Workflow, TimeStampedModel):
    """A draw for the slots of one service over a period. The SHA-256 of the seed is published
    when the round is created; the seed itself after the draw, so anyone can re-run it."""

    TRANSITIONS = LOTTERY_TRANSITIONS

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="lottery_rounds")
    period_start = models.DateField(_("slots from"))
    period_end = models.DateField(_("slots until"))
    window_opens_at = models.DateTimeField(_("registration opens"))
    window_closes_at = models.DateTimeField(_("registration closes"))
    seed_commitment = models.CharField(_("seed commitment (SHA-256)"), max_length=64)
    # Kept secret until the draw; shown publicly after it.
    seed = models.CharField(max_length=64, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=LotteryStatus.choices, default=LotteryStatus.OPEN
    )
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)

    history = history_records()
    objects: ClassVar[models.Manager[LotteryRound]]

    class Meta:
        ordering = ["-window_opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_closes_at__gt=F("window_opens_at")),
                name="appointments_lottery_window",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="appointments_lottery_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.period_start}–{self.period_end}"

    def can_enter(self, *, now: dt.datetime | None = None) -> bool:
        """Registration is open: not drawn, and inside the window."""
        now = now or timezone.now()
        return (
            self.status == LotteryStatus.OPEN
            and self.window_opens_at <= now < self.window_closes_at
        )

    def can_draw(self, *, now: dt.datetime | None = None) -> bool:
        """The draw runs once, after registration has closed."""
        now = now or timezone.now()
        return self.can_move_to(LotteryStatus.DRAWN) and now >= self.window_closes_at


class LotteryEntry(TimeStampedModel):
    """One entry per verified identity (document) per round."""

    round = models.ForeignKey(LotteryRound, on_delete=models.CASCADE, related_name="entries")
    # The public key the draw sorts by: random, published with the results, no personal data.
    ticket = models.CharField(max_length=16, unique=True)
    user_id = models.BigIntegerField(db_index=True)
    email = models.EmailField()
    language = models.CharField(max_length=10, default="en")
    full_name = EncryptedTextField(_("full name"))
    date_of_birth = EncryptedDateField(_("date of birth"))
    document_number = EncryptedTextField(_("document number"))
    document_index = BlindIndexField(source="document_number", purpose="identity_document")
    booking = models.OneToOneField(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="lottery_entry"
    )
    # Position in the draw's order (1 = drawn first); null until the draw.
    rank = models.PositiveIntegerField(null=True, blank=True)

    history = history_records()
    objects: ClassVar[models.Manager[LotteryEntry]]

    class Meta:
        ordering = ["round", "ticket"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "document_index"], name="appointments_lottery_one_entry"
            ),
        ]

    def __str__(self) -> str:
        return self.ticket
