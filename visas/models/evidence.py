"""What the applicant uploads for the checklist, and the officer's review of each item. Uploads
are personal data, encrypted with the mission's key."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from passports.models import Finger

from .application import VisaApplication


class UploadKind(models.TextChoices):
    PDF = "application/pdf", "PDF"
    JPEG = "image/jpeg", "JPEG"
    PNG = "image/png", "PNG"


class Upload(TimeStampedModel):
    """One accepted file for a checklist item: an image re-encoded without metadata, or a PDF
    checked to be well formed with no script or embedded file; base64 inside the encrypted
    column. A later upload for the item replaces it as current; earlier ones stay on record. A
    refused upload keeps nothing."""

    application = models.ForeignKey(
        VisaApplication, on_delete=models.PROTECT, related_name="uploads"
    )
    item = models.CharField(_("checklist item"), max_length=30)
    content = EncryptedTextField(_("file"))
    content_type = models.CharField(max_length=20, choices=UploadKind.choices)
    # The name as the applicant's device gave it (personal: it often holds a name).
    filename = EncryptedTextField(_("file name"), blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    pages = models.PositiveIntegerField(_("pages"), null=True, blank=True)
    is_current = models.BooleanField(default=True)

    history = history_records(excluded_fields=["content"])
    objects: ClassVar[models.Manager[Upload]]

    class Meta:
        ordering = ["application", "item", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "item"],
                condition=Q(is_current=True),
                name="visas_upload_current",
            ),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="visas_upload_sha256"
            ),
        ]

    def __str__(self) -> str:
        return f"upload {self.pk} ({self.item}) of {self.application_id}"


class ReviewStatus(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    CORRECTION = "correction", _("Correction asked for")


# The item of a review of the application form itself (its values, not a document): it starts
# with an underscore, which no checklist item's code can (`reference.models.CODE_REGEX`, kept by
# the database too), so it never names a document.
FORM_ITEM = "_form"
FORM_LABEL = _("The application form")


class ItemReview(TimeStampedModel):
    """The officer's word on one checklist item, or on the form itself (`FORM_ITEM`), at the
    completeness check: accepted, or a correction asked for with its reason (the deadline is the
    application's). A new upload for an item asked to be corrected, or a change to the form
    asked to be corrected, marks it `corrected_at`; the next check reviews it again."""

    application = models.ForeignKey(
        VisaApplication, on_delete=models.PROTECT, related_name="reviews"
    )
    item = models.CharField(_("checklist item"), max_length=30)
    status = models.CharField(_("result"), max_length=12, choices=ReviewStatus.choices)
    reason = models.TextField(_("what to correct"), blank=True)
    # The upload the officer looked at (None: the item had none).
    upload = models.ForeignKey(Upload, on_delete=models.PROTECT, null=True, blank=True)
    reviewed_by_id = models.BigIntegerField()
    # Corrected since: the applicant uploaded again or changed the form after the request.
    corrected_at = models.DateTimeField(null=True, blank=True)

    history = history_records()
    objects: ClassVar[models.Manager[ItemReview]]

    class Meta:
        ordering = ["application", "item"]
        constraints = [
            models.UniqueConstraint(fields=["application", "item"], name="visas_review_once"),
            models.CheckConstraint(
                condition=~Q(status="correction") | ~Q(reason=""),
                name="visas_review_correction_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.item}: {self.status}"


class VisaFingerprint(TimeStampedModel):
    """A finger captured at the visit through the fingerprint device (`passports.devices`, the
    same interface and simulator as the passport visit), with the device's quality score."""

    application = models.ForeignKey(
        VisaApplication, on_delete=models.PROTECT, related_name="fingerprints"
    )
    finger = models.CharField(max_length=20, choices=Finger.choices)
    image = EncryptedTextField(_("fingerprint image"))
    quality = models.PositiveSmallIntegerField()
    device = models.CharField(max_length=60)
    captured_by_id = models.BigIntegerField()

    history = history_records(excluded_fields=["image"])
    objects: ClassVar[models.Manager[VisaFingerprint]]

    class Meta:
        ordering = ["application", "finger", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(quality__lte=100), name="visas_fingerprint_quality"),
        ]

    def __str__(self) -> str:
        return f"{self.finger} of {self.application_id}"
