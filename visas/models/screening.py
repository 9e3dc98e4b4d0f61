"""Screening of an applicant against HQ's watchlist and the register of refusals at every
mission, recorded on the case with what the officer decided of each near-match."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel

from .application import VisaApplication


class ScreeningResult(models.TextChoices):
    CLEAR = "clear", _("No match")
    OPEN = "open", _("Matches to look at")
    CLEARED = "cleared", _("Matches cleared")
    CONFIRMED = "confirmed", _("Match confirmed")


class Screening(TimeStampedModel):
    """One run of the screening. The latest counts; earlier runs stay on record."""

    application = models.ForeignKey(
        VisaApplication, on_delete=models.PROTECT, related_name="screenings"
    )
    ran_by_id = models.BigIntegerField()
    # The mission's reference data version the watchlist came from (0: the initial copy).
    reference_version = models.PositiveIntegerField(default=0)
    watchlist_entries = models.PositiveIntegerField(_("watchlist entries compared"), default=0)
    refusals_compared = models.PositiveIntegerField(_("earlier refusals compared"), default=0)
    result = models.CharField(_("result"), max_length=10, choices=ScreeningResult.choices)

    history = history_records()
    objects: ClassVar[models.Manager[Screening]]

    class Meta:
        ordering = ["application", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"screening {self.pk} of {self.application_id}: {self.result}"


class HitSource(models.TextChoices):
    WATCHLIST = "watchlist", _("Watchlist")
    REFUSAL = "refusal", _("Earlier refusal")


class HitResolution(models.TextChoices):
    OPEN = "", _("Not yet looked at")
    CLEARED = "cleared", _("Not the same person")
    CONFIRMED = "confirmed", _("The same person")


class ScreeningHit(TimeStampedModel):
    """A near-match shown to the officer, who clears it (another person) or confirms it, with a
    reason either way."""

    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="hits")
    source = models.CharField(_("source"), max_length=10, choices=HitSource.choices)
    # The watchlist entry's id, or the register record's id.
    source_id = models.BigIntegerField()
    score = models.DecimalField(_("score"), max_digits=4, decimal_places=3)
    # What the officer compares: the candidate's name as matched, date of birth, nationality,
    # and for a refusal its mission, date and grounds (JSON).
    detail = EncryptedTextField(_("detail"))
    resolution = models.CharField(
        _("resolution"), max_length=10, choices=HitResolution.choices, blank=True, default=""
    )
    resolution_reason = models.TextField(_("reason"), blank=True)
    resolved_by_id = models.BigIntegerField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    history = history_records()
    objects: ClassVar[models.Manager[ScreeningHit]]

    class Meta:
        ordering = ["screening", "-score", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolution="")
                | (~Q(resolution_reason="") & Q(resolved_by_id__isnull=False)),
                name="visas_hit_resolution_reason",
            ),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=1), name="visas_hit_score"),
        ]

    def __str__(self) -> str:
        return f"hit {self.pk} ({self.source} {self.source_id})"
