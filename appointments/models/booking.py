"""Bookings and the people they cover."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import BlindIndexField, EncryptedDateField, EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from consulate.kernel.workflows import Workflow

from .catalogue import Service
from .slot import Slot


class BookingStatus(models.TextChoices):
    # Holds a place in its slot.
    ACTIVE = "active", _("Booked")
    # Arrived at the mission and holds a queue ticket.
    CHECKED_IN = "checked_in", _("Checked in")
    # Seen at the counter.
    SERVED = "served", _("Served")
    # Did not come.
    NO_SHOW = "no_show", _("Did not come")
    # Cancelled by the person (or moved to another slot).
    CANCELLED = "cancelled", _("Cancelled")
    # Cancelled by the mission (a closure, new opening hours), or released because a case
    # recorded the person's visit before the day (`visit_recorded_at` then says when).
    CANCELLED_BY_MISSION = "cancelled_by_mission", _("Cancelled by the mission")


# The whole booking workflow: from each state, the states a verb may move it to. A checked-in
# person is at the mission: a closure does not cancel them (they are served or marked no-show).
BOOKING_TRANSITIONS: dict[str, frozenset[str]] = {
    BookingStatus.ACTIVE: frozenset(
        {
            BookingStatus.CHECKED_IN,
            BookingStatus.NO_SHOW,
            BookingStatus.CANCELLED,
            BookingStatus.CANCELLED_BY_MISSION,
        }
    ),
    BookingStatus.CHECKED_IN: frozenset({BookingStatus.SERVED, BookingStatus.NO_SHOW}),
    BookingStatus.SERVED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.CANCELLED_BY_MISSION: frozenset(),
}
# States that hold a place in the slot and count against "one active booking per person".
HOLDING = (BookingStatus.ACTIVE, BookingStatus.CHECKED_IN)
# The change reason of the history row a move writes (`services.booking._move_to_slot`): the
# record of when a booking was moved, which the reminders read (`services.reminders`).
MOVED_REASON = "moved"


class Booking(Workflow, TimeStampedModel):
    TRANSITIONS = BOOKING_TRANSITIONS

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    user_id = models.BigIntegerField(_("account"), db_index=True)
    email = models.EmailField(_("e-mail"))
    language = models.CharField(_("language"), max_length=10, default="en")
    status = models.CharField(
        _("status"), max_length=24, choices=BookingStatus.choices, default=BookingStatus.ACTIVE
    )
    # The secret of the one-tap cancel link in the confirmation e-mail.
    cancel_token = models.CharField(max_length=64, editable=False)
    queue_number = models.PositiveIntegerField(_("queue ticket"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A passport or visa case recorded the person's visit then, before the booking's day: the
    # mission released the booking (`cancelled_by_mission`), which was no longer needed, not
    # taken from them (`services.booking_visit_record`). Pages say so instead of "cancelled".
    visit_recorded_at = models.DateTimeField(
        _("visit recorded at"), null=True, blank=True, editable=False
    )

    # History is read by the booking it records (`id`) and by time: the copies of the other
    # indexed columns would be index entries written with every booking and never read
    # (docs/benchmarks.md, fifteenth pass).
    history = history_records(no_db_index=["reference", "user_id", "service", "slot"])
    objects: ClassVar[models.Manager[Booking]]

    class Meta:
        ordering = ["slot__starts_at", "reference"]
        constraints = [
            # only a booking the mission released for its recorded visit says when that was
            models.CheckConstraint(
                condition=Q(visit_recorded_at__isnull=True) | Q(status="cancelled_by_mission"),
                name="appointments_booking_visit_recorded_released",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def released_for_visit(self) -> bool:
        """Released by the mission because the person's visit was recorded before its day: no
        longer needed, not lost (pages and the counter say so, not "cancelled")."""
        return self.visit_recorded_at is not None

    @property
    def status_key(self) -> str:
        """The status as pages style it (`status-<key>`): `visit_recorded` for a booking
        released for its recorded visit, which is not shown as a cancellation."""
        return "visit_recorded" if self.released_for_visit else str(self.status)

    @property
    def holds_place(self) -> bool:
        """Active or checked in: the booking stands (a cancelled or missed one does not)."""
        return self.status in HOLDING

    @property
    def changes_until(self) -> dt.datetime:
        """Until when the person may cancel or move it online (`Service.changes_until`)."""
        return self.service.changes_until(self.slot.starts_at)

    def can_cancel(self, *, now: dt.datetime | None = None) -> bool:
        """The person may cancel (or move) it until the service's cutoff."""
        return self.can_move_to(BookingStatus.CANCELLED) and self.service.changeable_online(
            self.slot.starts_at, now=now
        )

    @property
    def past_cutoff(self) -> bool:
        """Still active, but too close to its time to be changed online: the pages and the
        e-mails say so, and to contact the mission instead."""
        return self.status == BookingStatus.ACTIVE and not self.can_cancel()

    def can_mark_no_show(self, *, now: dt.datetime | None = None) -> bool:
        """Nobody is a no-show before their appointment has started."""
        now = now or timezone.now()
        return self.can_move_to(BookingStatus.NO_SHOW) and self.slot.starts_at <= now


class BookingPerson(models.Model):
    """One person a booking covers. Their identity is encrypted; the document number is also
    blind-indexed so the database can refuse a second active booking for the same document."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="persons")
    # Copied from the booking so the partial unique constraint can name it.
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    full_name = EncryptedTextField(_("full name"))
    date_of_birth = EncryptedDateField(_("date of birth"))
    document_number = EncryptedTextField(_("document number"))
    document_index = BlindIndexField(source="document_number", purpose="identity_document")
    # True while the booking holds its place (kept in step by the booking services).
    is_holding = models.BooleanField(default=True)

    # as Booking's: read by the person it records (`id`) and by time
    history = history_records(no_db_index=["booking", "service", "document_index"])
    objects: ClassVar[models.Manager[BookingPerson]]

    class Meta:
        ordering = ["booking", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "document_index"],
                condition=Q(is_holding=True),
                name="appointments_one_active_booking_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"person {self.pk} of {self.booking_id}"


class ConfirmationDue(models.Model):
    """A booking whose confirmation e-mail is still to be sent: written by the booking's own
    statement, deleted once the e-mail has gone (`services.confirmations`). A work list, not
    the booking's state: a table of its own, so the sweep locks and deletes its rows without
    locking or rewriting the booking (a cancel or a check-in never waits for a mail server)."""

    booking = models.OneToOneField(
        Booking, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # failed sends so far, and when to try again (a mail server that refuses: backing off)
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[ConfirmationDue]]

    class Meta:
        ordering = ["pk"]  # the booking's id, without joining the booking for its ordering

    def __str__(self) -> str:
        return f"confirmation due for booking {self.booking_id}"
