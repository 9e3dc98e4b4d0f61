"""HQ's side of a passport after the consul's approval, in the public schema: the case as it
arrives through sync (`PersonalisationCase`, with the holder's data sealed for HQ), the blocks
numbers are allocated from (`NumberBlock`, gapless per document type) and the central register
of issued documents (`IssuedDocument`). Services in `passports/register/services.py`."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import EncryptedTextField
from consulate.kernel.history import history_records
from sync.hq.models import MISSION_CODE_LENGTH


class PersonalisationStatus(models.TextChoices):
    # Approved at the mission; arrived at HQ through sync; waits to be personalised.
    QUEUED = "queued", _("Waiting for personalisation")
    # Number allocated, MRZ composed, printed and sent back to the mission.
    PRINTED = "printed", _("Printed and dispatched")


class PersonalisationCase(models.Model):
    mission = models.CharField(_("mission"), max_length=MISSION_CODE_LENGTH)
    seq = models.BigIntegerField()  # the approval's event at that mission
    application_id = models.CharField(max_length=100)  # the mission's Application pk
    reference = models.CharField(_("reference"), max_length=12)
    kind = models.CharField(_("kind"), max_length=10)
    # The holder's data and photo, encrypted for HQ's `encrypt` key by the mission
    # (`outbox_event_record(sealed_for_hq=...)`); opened only to personalise.
    sealed = models.JSONField()
    received_at = models.DateTimeField(_("received at"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=PersonalisationStatus.choices,
        default=PersonalisationStatus.QUEUED,
    )
    document_number = models.CharField(_("document number"), max_length=9, blank=True)
    # the holder's name, birth date and national ID: encrypted under HQ's key like the rest
    mrz = EncryptedTextField(_("MRZ"), blank=True, shared=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    printed_at = models.DateTimeField(_("printed at"), null=True, blank=True)
    printed_by_id = models.BigIntegerField(null=True, blank=True)

    history = history_records(excluded_fields=["sealed", "mrz"])
    objects: ClassVar[models.Manager[PersonalisationCase]]

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "application_id"], name="passports_register_case_once"
            ),
            models.UniqueConstraint(
                fields=["mission", "seq"], name="passports_register_case_event"
            ),
            models.CheckConstraint(
                condition=Q(status="queued")
                | (
                    ~Q(document_number="")
                    & Q(printed_at__isnull=False)
                    & Q(expires_on__isnull=False)
                ),
                name="passports_register_case_printed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mission} {self.reference}"


class DocumentType(models.TextChoices):
    PASSPORT = "P", _("Passport")


class NumberBlock(models.Model):
    """A range of document numbers `prefix` + `first` … `last` (zero-padded to `digits`), handed
    out in order without a gap: the next number and the document that takes it are written in
    one transaction under this row's lock."""

    document_type = models.CharField(_("document type"), max_length=2, choices=DocumentType.choices)
    prefix = models.CharField(_("prefix"), max_length=3)
    digits = models.PositiveSmallIntegerField(_("digits"))
    first = models.BigIntegerField(_("first"))
    last = models.BigIntegerField(_("last"))
    next_value = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    history = history_records()
    objects: ClassVar[models.Manager[NumberBlock]]

    class Meta:
        ordering = ["document_type", "first"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first__gte=0) & Q(first__lte=F("last")),
                name="passports_register_block_range",
            ),
            models.CheckConstraint(
                condition=Q(next_value__gte=F("first")) & Q(next_value__lte=F("last") + 1),
                name="passports_register_block_next",
            ),
            models.CheckConstraint(
                condition=Q(prefix__regex=r"^[A-Z]{0,3}$"), name="passports_register_block_prefix"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_type} {self.prefix}{self.first}-{self.last}"

    def number(self, value: int) -> str:
        return f"{self.prefix}{value:0{self.digits}d}"

    @property
    def first_number(self) -> str:
        return self.number(self.first)

    @property
    def last_number(self) -> str:
        return self.number(self.last)

    @property
    def next_number(self) -> str:
        return self.number(self.next_value) if self.next_value <= self.last else "—"


class IssuedStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    CANCELLED = "cancelled", _("Cancelled")


class IssuedDocument(models.Model):
    """HQ's central register of the documents it issued. Lost and stolen ones are those whose
    `document_index` is in the lost and stolen register; an expired one is one past
    `expires_on` (`selectors.issued_document_status`)."""

    number = models.CharField(_("document number"), max_length=9, unique=True)
    document_type = models.CharField(_("document type"), max_length=2, choices=DocumentType.choices)
    # the number's blind index under HQ's key (purpose travel_document), as reports carry it
    document_index = models.CharField(max_length=64, unique=True)
    # the holder's national ID's blind index under HQ's key
    holder_index = models.CharField(max_length=64, db_index=True)
    mission = models.CharField(_("issuing mission"), max_length=MISSION_CODE_LENGTH)
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("expires on"))
    status = models.CharField(
        _("status"), max_length=10, choices=IssuedStatus.choices, default=IssuedStatus.VALID
    )
    collected_on = models.DateField(_("collected on"), null=True, blank=True)
    cancelled_on = models.DateField(_("cancelled on"), null=True, blank=True)

    history = history_records()
    objects: ClassVar[models.Manager[IssuedDocument]]

    class Meta:
        ordering = ["-issued_on", "number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__gt=F("issued_on")), name="passports_register_issued_dates"
            ),
            models.CheckConstraint(
                condition=Q(status="valid") | Q(cancelled_on__isnull=False),
                name="passports_register_issued_cancelled_on",
            ),
        ]

    def __str__(self) -> str:
        return self.number
