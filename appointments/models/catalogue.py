"""The mission's configuration: counters, the service catalogue, opening hours, closures and
the booking rules."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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


class ServicePurpose(models.TextChoices):
    """What a case of another app books this service for: the one place a passport or visa case
    finds its appointment (set once per mission on the service's settings, never per case)."""

    NONE = "", _("No case (booked on its own)")
    PASSPORT = "passport", _("Passport application: the biometrics visit")
    PASSPORT_COLLECTION = "passport_collection", _("Passport collection")
    EMERGENCY_TRAVEL_DOCUMENT = "emergency_travel_document", _("Emergency travel document")
    VISA = "visa", _("Visa application: the biometrics visit")


# Purposes whose service is booked from its case only (the case's service books it once the
# case allows: a visa's appointment once the mission found the file complete), never on its
# own, by lottery or from the waitlist.
BOOKED_FROM_CASE = frozenset({ServicePurpose.VISA})


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
    purpose = models.CharField(
        _("booked for"), max_length=30, choices=ServicePurpose.choices, blank=True, default=""
    )

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
            models.UniqueConstraint(
                fields=["purpose"], condition=~Q(purpose=""), name="appointments_service_purpose"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def booked_from_case(self) -> bool:
        """Booked from its case only (`BOOKED_FROM_CASE`), never on its own."""
        return self.purpose in BOOKED_FROM_CASE

    @property
    def step(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.duration_minutes + self.buffer_minutes)

    def changes_until(self, starts_at: dt.datetime) -> dt.datetime:
        """The last moment a person may cancel or move an appointment starting at `starts_at`
        online (the cutoff): `Booking.can_cancel`, the pages, the e-mails and the booking form's
        warning all read it here."""
        return starts_at - dt.timedelta(hours=self.cancel_cutoff_hours)

    def changeable_online(self, starts_at: dt.datetime, *, now: dt.datetime | None = None) -> bool:
        """An appointment starting at `starts_at` can still be cancelled or moved online (the
        cutoff has not passed): what the booking form warns of before a time is booked."""
        return (now or timezone.now()) < self.changes_until(starts_at)


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
