"""Slots: the bookable times of a service."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .catalogue import Service


class Slot(models.Model):
    """A bookable time of one service. `booked` never exceeds `capacity` (invariant 1)."""

    # no index of its own: appointments_slot_unique_time (service, starts_at) leads with it
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="slots", db_index=False
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)
    # Null: bookable at once; otherwise not before this time (scheduled release).
    bookable_from = models.DateTimeField(_("bookable from"), null=True, blank=True)
    # The opening hours changed and no longer cover this time: closed to new bookings
    # (capacity = booked, and a place given back is not offered again); its bookings are listed
    # for the mission admin to move. Set back if the hours cover it again.
    outside_hours = models.BooleanField(_("outside the opening hours"), default=False)

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

    def __str__(self) -> str:
        return f"{self.service_id} @ {self.starts_at:%Y-%m-%d %H:%M}Z"

    @property
    def free(self) -> int:
        return self.capacity - self.booked
