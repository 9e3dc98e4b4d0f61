"""HQ's bookings register, in the public schema, built from `appointments.booking.*` events
(`projector.py`; docs/sync.md, "Registers").

Nothing here is read from a mission's schema: every row is what the mission's events said.
`RegisteredBooking` holds each booking as the events known so far describe it; `BookingDay`
holds, per mission, service and local day of the appointment, the sums HQ pages read, kept as
events apply, so that a dashboard over every mission is one query whatever the event count.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from sync.hq.models import MISSION_CODE_LENGTH

SERVICE_CODE_LENGTH = 50
REFERENCE_LENGTH = 40


class RegisteredStatus(models.TextChoices):
    # an appointment is held (made, or moved to another time)
    BOOKED = "booked", "booked"
    # the person cancelled it
    CANCELLED = "cancelled", "cancelled"
    # the mission cancelled it (a closure, new opening hours)
    CANCELLED_BY_MISSION = "cancelled_by_mission", "cancelled by the mission"
    # the person is at the mission with a queue ticket (or has been called to a counter)
    CHECKED_IN = "checked_in", "checked in"
    # the person was served
    SERVED = "served", "served"
    # the person did not come
    NO_SHOW = "no_show", "no show"


class BookingChannel(models.TextChoices):
    # the person booked for themselves, from their own account (the pages or the API)
    ONLINE = "online", "online"
    # staff booked on the person's behalf
    COUNTER = "counter", "at the counter"


class RegisteredBooking(models.Model):
    """One booking of one mission, keyed by the mission and the booking's aggregate id.

    Each fact is set by the event with the highest `seq` that carries it (`status_seq`,
    `starts_seq`), so events applied in any order, or twice, give the same row. A booking whose
    `created` event has not arrived yet (`created_seq` null) has what the later events said and
    counts in no `BookingDay` until it does."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    booking_id = models.CharField(max_length=100)  # the event's aggregate_id
    reference = models.CharField(max_length=REFERENCE_LENGTH, blank=True)
    service = models.CharField(max_length=SERVICE_CODE_LENGTH, blank=True)  # service code
    starts_at = models.DateTimeField(null=True, blank=True)
    day = models.DateField(null=True, blank=True)  # starts_at's date in the mission's time zone
    persons = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=RegisteredStatus.choices, blank=True)
    booked_at = models.DateTimeField(null=True, blank=True)  # the created event's occurred_at
    booked_day = models.DateField(null=True, blank=True)  # booked_at's date at the mission
    # how it was booked (`BookingChannel`), from the created event; "" when it did not say
    channel = models.CharField(max_length=10, choices=BookingChannel.choices, blank=True)
    created_seq = models.BigIntegerField(null=True, blank=True)
    starts_seq = models.BigIntegerField(default=0)
    status_seq = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=0)  # the latest event of this booking applied

    objects: ClassVar[models.Manager[RegisteredBooking]]

    class Meta:
        ordering = ["mission", "booking_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "booking_id"], name="appointments_register_booking_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(created_seq__isnull=True)
                | (
                    models.Q(booked_at__isnull=False, persons__gt=0)
                    & ~models.Q(service="")
                    & models.Q(day__isnull=False)
                ),
                name="appointments_register_booking_created_complete",
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=["", *BookingChannel.values]),
                name="appointments_register_booking_channel",
            ),
        ]
        indexes = [
            models.Index(fields=["mission", "reference"], name="appt_register_booking_ref"),
            models.Index(fields=["mission", "day"], name="appt_register_booking_day"),
        ]

    def __str__(self) -> str:
        return f"{self.mission} booking {self.reference or self.booking_id}: {self.status}"


# The sums of `BookingSums`, in the order the projector and the reads use them.
BOOKING_SUMS = (
    "booked",
    "persons",
    "cancelled",
    "cancelled_by_mission",
    "checked_in",
    "served",
    "no_show",
    "lead_days",
    "online",
    "counter",
)


class BookingSums(models.Model):
    """The bookings held for a period, what became of them, and their lead time."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    service = models.CharField(max_length=SERVICE_CODE_LENGTH)
    booked = models.IntegerField(default=0)  # bookings made for it (whatever came after)
    persons = models.IntegerField(default=0)  # people on those bookings
    cancelled = models.IntegerField(default=0)
    cancelled_by_mission = models.IntegerField(default=0)
    checked_in = models.IntegerField(default=0)  # at the mission now, not yet served
    served = models.IntegerField(default=0)
    no_show = models.IntegerField(default=0)
    # days from the booking's date to the appointment's, summed: lead_days / booked is the mean
    lead_days = models.BigIntegerField(default=0)
    # of `booked`, those made online and those made by staff at the counter (a booking whose
    # event did not say, an older one, is in neither): online / (online + counter) is the
    # share booked online
    online = models.IntegerField(default=0)
    counter = models.IntegerField(default=0)

    class Meta:
        abstract = True


# A fault in the projector (or a raw UPDATE) cannot leave counts that say more came of the
# bookings than were made.
COUNTS_POSSIBLE = models.Q(
    cancelled__gte=0,
    cancelled_by_mission__gte=0,
    checked_in__gte=0,
    served__gte=0,
    no_show__gte=0,
    online__gte=0,
    counter__gte=0,
    persons__gte=models.F("booked"),
    booked__gte=models.F("cancelled")
    + models.F("cancelled_by_mission")
    + models.F("checked_in")
    + models.F("served")
    + models.F("no_show"),
) & models.Q(booked__gte=models.F("online") + models.F("counter"))


class BookingDay(BookingSums):
    """Per mission, service and day of the appointment (the mission's local date). Each
    registered booking counts once, on its current day and in its current status, from its
    `created` event on."""

    day = models.DateField()

    objects: ClassVar[models.Manager[BookingDay]]

    class Meta:
        ordering = ["mission", "service", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "service", "day"], name="appointments_register_day_unique"
            ),
            models.CheckConstraint(
                condition=COUNTS_POSSIBLE, name="appointments_register_day_counts"
            ),
        ]
        indexes = [models.Index(fields=["day", "mission"], name="appt_register_day_all")]

    def __str__(self) -> str:
        return f"{self.mission} {self.service} {self.day}: {self.booked} booked"


class BookingMonth(BookingSums):
    """Per mission, service and month of the appointment (its first day): the same sums as
    `BookingDay`, kept by the same batch, so a year of every mission is twelve rows a service."""

    month = models.DateField()

    objects: ClassVar[models.Manager[BookingMonth]]

    class Meta:
        ordering = ["mission", "service", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "service", "month"], name="appointments_register_month_unique"
            ),
            models.CheckConstraint(
                condition=COUNTS_POSSIBLE & models.Q(month__day=1),
                name="appointments_register_month_counts",
            ),
        ]
        indexes = [models.Index(fields=["month", "mission"], name="appt_register_month_all")]

    def __str__(self) -> str:
        return f"{self.mission} {self.service} {self.month:%Y-%m}: {self.booked} booked"


class ServiceAvailability(models.Model):
    """What a mission last said of one service's availability (the event
    `appointments.service.availability_reported`, sent when the figures change): the report
    with the highest `seq` wins, whatever the order reports arrive in."""

    mission = models.CharField(max_length=MISSION_CODE_LENGTH)
    service = models.CharField(max_length=SERVICE_CODE_LENGTH)
    release_mode = models.CharField(max_length=20)
    next_bookable_at = models.DateTimeField(null=True, blank=True)
    next_release_at = models.DateTimeField(null=True, blank=True)
    lottery_closes_at = models.DateTimeField(null=True, blank=True)
    free_places_30d = models.PositiveIntegerField()
    # the latest report (by its time) that had free places in the next 30 days, whatever
    # came after it: a service at none now "had some before" when this is set
    free_reported_at = models.DateTimeField(null=True, blank=True)
    # the service's name in each language it has one in ({"en": "Passport", "tr": "Pasaport"})
    names = models.JSONField(default=dict, blank=True)
    # false once the mission said it no longer offers the service: HQ's pages leave it out
    offered = models.BooleanField(default=True)
    reported_at = models.DateTimeField()  # when the mission reported it (its event's time)
    last_seq = models.BigIntegerField()

    objects: ClassVar[models.Manager[ServiceAvailability]]

    class Meta:
        ordering = ["mission", "service"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "service"], name="appointments_register_availability_one"
            ),
            models.CheckConstraint(
                condition=models.Q(last_seq__gt=0), name="appointments_register_availability_seq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mission} {self.service}: next {self.next_bookable_at}"
