"""HQ's side of a passport after the consul's approval, in the public schema: the case as it
arrives through sync (`PersonalisationCase`, with the holder's data sealed for HQ), the blocks
numbers are allocated from (`NumberBlock`, gapless per document type), the central register
of issued documents (`IssuedDocument`) and HQ's register of the applications open at every
mission (`OpenApplication`, which a mission reads to warn its officer of another mission's
case). Services in `passports/register/services.py`."""

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
    # Refused personalisation: the same person (national ID) has a passport printed and not yet
    # handed over, from another case (`held_mission`, `held_reference`). Kept, never deleted;
    # personalised once that passport is handed over (`services.personalisation_run` again).
    HELD = "held", _("Held: the same person's passport is not handed over yet")
    # Number allocated, MRZ composed, printed and sent back to the mission.
    PRINTED = "printed", _("Printed and dispatched")
    # Handed over to its holder by the mission (`passports.application.collected`).
    COLLECTED = "collected", _("Handed over")


# A case whose passport exists and is not in its holder's hands: one per person at a time.
PRINTED_NOT_HANDED_OVER = "printed"


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
    # The holder's national ID's blind index under HQ's key (`blind_index(..., schema_name=
    # "public", purpose="national_id")`, as `IssuedDocument.holder_index`), set when HQ opens
    # the sealed data to personalise: the key of "one passport per person at a time".
    holder_index = models.CharField(max_length=64, blank=True, db_index=True)
    # While held: the case whose printed passport holds this one (its mission's code and
    # reference), and since when.
    held_mission = models.CharField(max_length=MISSION_CODE_LENGTH, blank=True)
    held_reference = models.CharField(max_length=12, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)

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
                condition=Q(status__in=["queued", "held"])
                | (
                    ~Q(document_number="")
                    & Q(printed_at__isnull=False)
                    & Q(expires_on__isnull=False)
                ),
                name="passports_register_case_printed",
            ),
            # One person, one passport printed and not yet handed over, whichever mission's
            # case it is (the service holds the second case with a message; this refuses any
            # other writer). A passport HQ prints has its holder's index.
            models.UniqueConstraint(
                fields=["holder_index"],
                condition=Q(status=PRINTED_NOT_HANDED_OVER),
                name="passports_register_case_one_printed_per_person",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["printed", "collected"]) | ~Q(holder_index=""),
                name="passports_register_case_printed_holder",
            ),
            models.CheckConstraint(
                condition=Q(holder_index="") | Q(holder_index__regex=r"^[0-9a-f]{64}$"),
                name="passports_register_case_holder_hex",
            ),
            # a held case names what holds it
            models.CheckConstraint(
                condition=~Q(status="held")
                | (~Q(held_mission="") & ~Q(held_reference="") & Q(held_at__isnull=False)),
                name="passports_register_case_held_by",
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


class OpenApplication(models.Model):
    """A passport application a mission submitted and has not closed (withdrawn, refused or
    handed over), as HQ learns it from the mission's events (`open_applications_projector.py`):
    one row per (mission, application id), keyed across missions by the holder's national ID's
    blind index under HQ's key. A mission's officer is warned of another mission's open case of
    the same person from here (`selectors.open_applications_elsewhere`); it holds no personal
    data, only the index, the reference and the mission.

    Opening and closing come from different events, in any order: a row is open once its
    submission (`opened_seq`) is in and while no closing (`closed_seq`) is."""

    mission = models.CharField(_("mission"), max_length=MISSION_CODE_LENGTH)
    application_id = models.CharField(max_length=100)  # the mission's Application pk
    reference = models.CharField(_("reference"), max_length=12)
    # empty until the submission's event is in, or when the mission's event carried none
    holder_index = models.CharField(max_length=64, blank=True)
    opened_seq = models.BigIntegerField(null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    closed_seq = models.BigIntegerField(null=True, blank=True)

    objects: ClassVar[models.Manager[OpenApplication]]

    class Meta:
        ordering = ["submitted_at", "mission", "application_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "application_id"], name="passports_register_open_once"
            ),
            models.CheckConstraint(
                condition=Q(holder_index="") | Q(holder_index__regex=r"^[0-9a-f]{64}$"),
                name="passports_register_open_holder_hex",
            ),
            models.CheckConstraint(
                condition=~Q(mission="")
                & ~Q(application_id="")
                & (Q(opened_seq__isnull=True) | Q(opened_seq__gt=0))
                & (Q(closed_seq__isnull=True) | Q(closed_seq__gt=0)),
                name="passports_register_open_source",
            ),
        ]
        indexes = [
            models.Index(
                fields=["holder_index"],
                condition=Q(closed_seq__isnull=True) & Q(opened_seq__isnull=False),
                name="passports_register_open_holder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mission} {self.reference}"
