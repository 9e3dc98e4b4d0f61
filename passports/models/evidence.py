"""What the mission keeps of the person beside the form: the accepted photo and the fingerprints
captured at the visit. Both are personal data, encrypted with the mission's key."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel

from .application import Application


class Photo(TimeStampedModel):
    """An accepted photo: re-encoded as JPEG with every metadata stripped, base64 inside the
    encrypted column. A refused upload keeps nothing of the image, only the attempt's problems
    (`PhotoAttempt`)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="photos")
    jpeg = EncryptedTextField(_("photo"))
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # The photo the application uses; older ones stay for the record.
    is_current = models.BooleanField(default=True)

    history = history_records(excluded_fields=["jpeg"])
    objects: ClassVar[models.Manager[Photo]]

    class Meta:
        ordering = ["application", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(is_current=True), name="passports_photo_current"
            ),
        ]

    def __str__(self) -> str:
        return f"photo {self.pk} of {self.application_id}"


class PhotoAttempt(models.Model):
    """An upload, accepted or not, with the problems the check found (their codes)."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="photo_attempts"
    )
    made_at = models.DateTimeField()
    accepted = models.BooleanField()
    problems = models.JSONField(default=list)

    objects: ClassVar[models.Manager[PhotoAttempt]]

    class Meta:
        ordering = ["application", "-made_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of {self.application_id}"


class Finger(models.TextChoices):
    RIGHT_INDEX = "right_index", _("Right index finger")
    LEFT_INDEX = "left_index", _("Left index finger")


class FingerprintCapture(TimeStampedModel):
    """One finger captured at the visit through the fingerprint device (passports/devices.py),
    with the device's quality score (0-100, NFIQ-like: higher is better)."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="fingerprints"
    )
    finger = models.CharField(max_length=20, choices=Finger.choices)
    image = EncryptedTextField(_("fingerprint image"))
    quality = models.PositiveSmallIntegerField()
    device = models.CharField(max_length=60)
    captured_by_id = models.BigIntegerField()

    history = history_records(excluded_fields=["image"])
    objects: ClassVar[models.Manager[FingerprintCapture]]

    class Meta:
        ordering = ["application", "finger", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quality__lte=100), name="passports_fingerprint_quality"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.finger} of {self.application_id}"
