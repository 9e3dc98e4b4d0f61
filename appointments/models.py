"""Appointments: the service catalogue, opening hours, closures, slots, bookings and lotteries.

Every table lives in the mission's schema (a TENANT app). Times are stored in UTC and shown in the
mission's time zone. Users live in the public schema, so bookings keep the user's id, not a foreign
key across schemas.
"""

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


class ReleaseMode(models.TextChoices):
    # Slots are bookable as soon as they exist.
    OPEN = "open", _("Open")
    # Slots become bookable in batches at published times.
    SCHEDULED = "scheduled", _("Scheduled release")
    # Slots are allocated by a public, verifiable draw among registered entries.
    LOTTERY = "lottery", _("Lottery")


class Counter(TimeStampedModel):
    """A desk at the mission that serves the public."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    history = history_records()
    objects: ClassVar[models.Manager[Counter]]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(TimeStampedModel):
    """One entry of the mission's service catalogue, with the rules for booking it."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=20)
    buffer_minutes = models.PositiveSmallIntegerField(_("buffer (minutes)"), default=0)
    counters = models.ManyToManyField(Counter, related_name="services", verbose_name=_("counters"))
    max_persons = models.PositiveSmallIntegerField(
        _("people per booking"), default=1, help_text=_("How many people one booking may cover.")
    )
    horizon_days = models.PositiveSmallIntegerField(_("booking horizon (days)"), default=60)
    min_notice_hours = models.PositiveSmallIntegerField(_("minimum notice (hours)"), default=12)
    cancel_cutoff_hours = models.PositiveSmallIntegerField(
        _("cancellation cutoff (hours)"), default=24
    )
    release_mode = models.CharField(
        _("release mode"), max_length=20, choices=ReleaseMode.choices, default=ReleaseMode.OPEN
    )
    # `scheduled`: the slots of day D become bookable `release_lead_days` before D at
    # `release_time` (mission time).
    release_lead_days = models.PositiveSmallIntegerField(_("released days ahead"), default=14)
    release_time = models.TimeField(_("release time"), default=dt.time(8, 0))
    is_active = models.BooleanField(_("offered"), default=True)

    history = history_records()
    objects: ClassVar[models.Manager[Service]]

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="appointments_service_duration_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_persons__gte=1), name="appointments_service_persons_positive"
            ),
            models.CheckConstraint(
                condition=Q(horizon_days__gte=1), name="appointments_service_horizon_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def step(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.duration_minutes + self.buffer_minutes)


WEEKDAY_NAMES = [
    _("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"),
    _("Sunday"),
]  # fmt: skip


class OpeningHours(TimeStampedModel):
    """A span of opening on one weekday, in the mission's time zone; per counter or mission-wide."""

    weekday = models.PositiveSmallIntegerField(_("weekday"), help_text=_("Monday is 0."))
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))
    counter = models.ForeignKey(
        Counter,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="opening_hours",
        help_text=_("Empty: the whole mission."),
    )

    history = history_records()
    objects: ClassVar[models.Manager[OpeningHours]]

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="appointments_hours_weekday"
            ),
            models.CheckConstraint(
                condition=Q(opens__lt=F("closes")), name="appointments_hours_span"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens:%H:%M}–{self.closes:%H:%M}"

    @property
    def weekday_name(self) -> str:
        return str(WEEKDAY_NAMES[self.weekday])


class ClosureKind(models.TextChoices):
    # A public holiday of the host country (from the `holidays` library).
    HOST_HOLIDAY = "host_holiday", _("Public holiday")
    # A national day of the home country.
    NATIONAL_DAY = "national_day", _("National day")
    # Decided by the mission ahead of time.
    AD_HOC = "ad_hoc", _("Closure")
    # Decided at short notice: cancels the day's bookings and tells everyone affected.
    EMERGENCY = "emergency", _("Emergency closure")
    # One counter is not staffed that day.
    COUNTER_ABSENCE = "counter_absence", _("Counter absence")


class Closure(TimeStampedModel):
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=20, choices=ClosureKind.choices)
    reason = models.CharField(_("reason"), max_length=200)
    counter = models.ForeignKey(
        Counter, on_delete=models.CASCADE, null=True, blank=True, related_name="absences"
    )

    history = history_records()
    objects: ClassVar[models.Manager[Closure]]

    class Meta:
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="counter_absence", counter__isnull=False)
                | (~Q(kind="counter_absence") & Q(counter__isnull=True)),
                name="appointments_closure_counter_iff_absence",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.reason}"


class Slot(models.Model):
    """A bookable time of one service. `booked` never exceeds `capacity` (invariant 1)."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="slots")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)
    # Null: bookable at once; otherwise not before this time (scheduled release).
    bookable_from = models.DateTimeField(_("bookable from"), null=True, blank=True)

    objects: ClassVar[models.Manager[Slot]]

    class Meta:
        ordering = ["service", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(booked__gte=0) & Q(booked__lte=F("capacity")),
                name="appointments_slot_not_overbooked",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="appointments_slot_span"
            ),
            models.UniqueConstraint(
                fields=["service", "starts_at"], name="appointments_slot_unique_time"
            ),
        ]
        indexes = [models.Index(fields=["service", "starts_at", "booked"])]

    def __str__(self) -> str:
        return f"{self.service_id} @ {self.starts_at:%Y-%m-%d %H:%M}Z"

    @property
    def free(self) -> int:
        return self.capacity - self.booked


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
    # Cancelled by the mission (emergency closure).
    CANCELLED_BY_MISSION = "cancelled_by_mission", _("Cancelled by the mission")


# The whole booking workflow: from each state, the states a verb may move it to.
TRANSITIONS: dict[str, set[str]] = {
    BookingStatus.ACTIVE: {
        BookingStatus.CHECKED_IN,
        BookingStatus.NO_SHOW,
        BookingStatus.CANCELLED,
        BookingStatus.CANCELLED_BY_MISSION,
    },
    BookingStatus.CHECKED_IN: {BookingStatus.SERVED, BookingStatus.NO_SHOW},
    BookingStatus.SERVED: set(),
    BookingStatus.NO_SHOW: set(),
    BookingStatus.CANCELLED: set(),
    BookingStatus.CANCELLED_BY_MISSION: set(),
}
# States that hold a place in the slot and count against "one active booking per person".
HOLDING = (BookingStatus.ACTIVE, BookingStatus.CHECKED_IN)


class Booking(TimeStampedModel):
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

    history = history_records()
    objects: ClassVar[models.Manager[Booking]]

    class Meta:
        ordering = ["slot__starts_at", "reference"]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_holding(self) -> bool:
        return self.status in HOLDING

    def can_move_to(self, status: str) -> bool:
        return status in TRANSITIONS[self.status]

    def can_cancel(self, *, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        cutoff = self.slot.starts_at - dt.timedelta(hours=self.service.cancel_cutoff_hours)
        return self.status == BookingStatus.ACTIVE and now < cutoff


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

    history = history_records()
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


class MissionRules(TimeStampedModel):
    """The mission's booking rules (one row): the no-show rule."""

    no_show_limit = models.PositiveSmallIntegerField(_("no-shows allowed"), default=2)
    no_show_window_days = models.PositiveSmallIntegerField(_("counted over (days)"), default=90)
    no_show_block_days = models.PositiveSmallIntegerField(_("blocked for (days)"), default=30)

    history = history_records()
    objects: ClassVar[models.Manager[MissionRules]]

    class Meta:
        ordering = ["id"]
        verbose_name_plural = _("mission rules")

    def __str__(self) -> str:
        return "rules"


class LotteryStatus(models.TextChoices):
    # Seed committed; entries accepted between window_opens_at and window_closes_at.
    OPEN = "open", _("Registration")
    # Drawn: seed published, winners booked.
    DRAWN = "drawn", _("Drawn")


class LotteryRound(TimeStampedModel):
    """A draw for the slots of one service over a period. The SHA-256 of the seed is published
    when the round is created; the seed itself after the draw, so anyone can re-run it."""

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


WAITLIST_TRANSITIONS: dict[str, set[str]] = {
    WaitlistStatus.WAITING: {WaitlistStatus.OFFERED, WaitlistStatus.LEFT},
    WaitlistStatus.OFFERED: {WaitlistStatus.ACCEPTED, WaitlistStatus.EXPIRED},
    WaitlistStatus.ACCEPTED: set(),
    WaitlistStatus.EXPIRED: set(),
    WaitlistStatus.LEFT: set(),
}


class WaitlistEntry(TimeStampedModel):
    """A person waiting for a freed place of a service on one of a range of days (FIFO)."""

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
