"""The waitlist for freed places."""

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
from .slot import Slot


class WaitlistStatus(models.TextChoices):
    # Waits for a place to free up in its range of days.
    WAITING = "waiting", _("Waiting")
    # Holds a freed place until `offer_expires_at`.
    OFFERED = "offered", _("Offered a time")
    # Took the offered time: became a booking.
    ACCEPTED = "accepted", _("Booked")
    # Did not answer in time; the place went to the next person.
    EXPIRED = "expired", _("Offer expired")
    # Left the waitlist.
    LEFT = "left", _("Left")


# A person may leave while waiting, or while holding an offer (which declines it: the held place
# goes to the next person).
WAITLIST_TRANSITIONS: dict[str, frozenset[str]] = {
    WaitlistStatus.WAITING: frozenset({WaitlistStatus.OFFERED, WaitlistStatus.LEFT}),
    WaitlistStatus.OFFERED: frozenset(
        {WaitlistStatus.ACCEPTED, WaitlistStatus.EXPIRED, WaitlistStatus.LEFT}
    ),
    WaitlistStatus.ACCEPTED: frozenset(),
    WaitlistStatus.EXPIRED: frozenset(),
    WaitlistStatus.LEFT: frozenset(),
}


class WaitlistEntry(Workflow, TimeStampedModel):
    """A person waiting for a freed place of a service on one of a range of days (FIFO)."""

    TRANSITIONS = WAITLIST_TRANSITIONS

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="waitlist")
    user_id = models.BigIntegerField(db_index=True)
    email = models.EmailField()
    language = models.CharField(max_length=10, default="en")
    full_name = EncryptedTextField(_("full name"))
    date_of_birth = EncryptedDateField(_("date of birth"))
    document_number = EncryptedTextField(_("document number"))
    document_index = BlindIndexField(source="document_number", purpose="identity_document")
    day_from = models.DateField(_("from"))
    day_to = models.DateField(_("until"))
    status = models.CharField(
        _("status"), max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    # While offered: the slot whose place is held, the secret of the accept link, the deadline.
    slot = models.ForeignKey(
        Slot, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    offer_token = models.CharField(max_length=64, blank=True, editable=False)
    offer_expires_at = models.DateTimeField(_("answer by"), null=True, blank=True)
    booking = models.OneToOneField(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="waitlist_entry"
    )

    history = history_records()
    objects: ClassVar[models.Manager[WaitlistEntry]]

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = _("waitlist entries")
        constraints = [
            models.UniqueConstraint(
                fields=["service", "document_index"],
                condition=Q(status__in=["waiting", "offered"]),
                name="appointments_waitlist_one_entry_per_person",
            ),
            models.CheckConstraint(
                condition=Q(day_to__gte=F("day_from")), name="appointments_waitlist_range"
            ),
            models.CheckConstraint(
                condition=~Q(status="offered")
                | (Q(slot__isnull=False) & Q(offer_expires_at__isnull=False)),
                name="appointments_waitlist_offer_holds_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"waitlist {self.pk}"

    def can_leave(self) -> bool:
        """The person may leave while waiting or holding an offer."""
        return self.can_move_to(WaitlistStatus.LEFT)

    def can_accept(self, *, now: dt.datetime | None = None) -> bool:
        """An offer is taken while it holds its place and before it expires."""
        now = now or timezone.now()
        return (
            self.can_move_to(WaitlistStatus.ACCEPTED)
            and self.slot_id is not None
            and (self.offer_expires_at is None or now < self.offer_expires_at)
        )
