"""The emergency travel document (ETD): issued at the mission the same day to a citizen whose
passport is lost or stolen and who must travel now, for one journey to a stated destination,
valid at most the mission's period (15 days at most, the EU ETD rule). Its number comes from a
block HQ allocated to the mission in advance, so it is issued while the link to HQ is down."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import BlindIndexField, EncryptedDateField, EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel
from consulate.kernel.workflows import Workflow

from .application import Sex

__all__ = [
    "ETD_MAX_DAYS",
    "ETD_NUMBER_WIDTH",
    "ETD_TRANSITIONS",
    "EmergencyTravelDocument",
    "EtdNumberBlock",
    "EtdSettings",
    "EtdStatus",
    "NumberBlock",
    "number_block_constraints",
]

# The EU ETD rule: at most 15 calendar days; a mission may set fewer, never more.
ETD_MAX_DAYS = 15
# The MRZ's document number holds 9 characters: a block's prefix and its zero-padded number.
ETD_NUMBER_WIDTH = 9


class EtdStatus(models.TextChoices):
    # Recorded at the counter by an officer, or applied for online by the citizen; the fee is
    # assessed and is paid before a consul issues.
    REQUESTED = "requested", _("Requested")
    # A consul (never the person who recorded the request) issued it: numbered, sealed, printed.
    ISSUED = "issued", _("Issued")
    # A consul withdrew an issued document (found passport, error, misuse), stating why.
    REVOKED = "revoked", _("Revoked")


ETD_TRANSITIONS: dict[str, frozenset[str]] = {
    EtdStatus.REQUESTED: frozenset({EtdStatus.ISSUED}),
    EtdStatus.ISSUED: frozenset({EtdStatus.REVOKED}),
    EtdStatus.REVOKED: frozenset(),
}


class EmergencyTravelDocument(Workflow, TimeStampedModel):
    """One ETD. What identifies the holder is encrypted with the mission's key, the seal too (it
    carries the MRZ: name, birth date); the lost passport's number is blind-indexed under HQ's
    key so that it matches HQ's register of lost and stolen documents."""

    TRANSITIONS = ETD_TRANSITIONS

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    # The holder's account when they applied online; none for a request taken at the counter.
    user_id = models.BigIntegerField(_("account"), null=True, blank=True, db_index=True)
    email = models.EmailField(_("e-mail"), blank=True)
    language = models.CharField(_("language"), max_length=10, default="en")
    status = models.CharField(
        _("status"), max_length=20, choices=EtdStatus.choices, default=EtdStatus.REQUESTED
    )
    surname = EncryptedTextField(_("surname"))
    given_names = EncryptedTextField(_("given names"), blank=True)
    birth_date = EncryptedDateField(_("date of birth"))
    nationality = EncryptedTextField(_("nationality"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    lost_document = EncryptedTextField(_("lost or stolen passport number"))
    lost_document_index = BlindIndexField(
        source="lost_document", purpose="travel_document", shared=True
    )
    report_id = models.BigIntegerField(_("lost or stolen report"))
    destination_country = models.CharField(_("destination country"), max_length=3)
    destination_city = models.CharField(_("destination city"), max_length=100)
    journey_date = models.DateField(_("date of the journey"))
    valid_until = models.DateField(_("valid until"))
    number = models.CharField(_("number"), max_length=ETD_NUMBER_WIDTH, unique=True, null=True)
    assessment_id = models.BigIntegerField(null=True, blank=True)
    requested_by_id = models.BigIntegerField()
    requested_at = models.DateTimeField(_("requested at"))
    issued_by_id = models.BigIntegerField(null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    # The mission's local date of issue (what the document and the seal say).
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    # The seal (base64) is written with the serial of the certificate that signed it; the serial
    # is what the database checks, the seal being encrypted.
    signer_serial = models.CharField(max_length=40, blank=True)
    seal = EncryptedTextField(blank=True)
    # The holder's photo, taken at the counter and checked as a passport's (base64 JPEG,
    # metadata stripped); printed on the document.
    photo_jpeg = EncryptedTextField(blank=True, null=True)
    revoked_by_id = models.BigIntegerField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.TextField(_("reason for revocation"), blank=True)

    history = history_records(excluded_fields=["photo_jpeg"])
    objects: ClassVar[models.Manager[EmergencyTravelDocument]]

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Four eyes: the consul who issues is never the person who recorded the request.
            models.CheckConstraint(
                condition=Q(issued_by_id__isnull=True) | ~Q(issued_by_id=F("requested_by_id")),
                name="passports_etd_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(status="requested")
                | (
                    Q(number__isnull=False, issued_by_id__isnull=False, issued_on__isnull=False)
                    & ~Q(signer_serial="")
                ),
                name="passports_etd_issued_complete",
            ),
            models.CheckConstraint(
                condition=~Q(status="revoked")
                | (Q(revoked_by_id__isnull=False) & ~Q(revocation_reason="")),
                name="passports_etd_revocation_reason",
            ),
            # One journey, at most 15 days: from the journey's day, and from the day of issue.
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("journey_date"))
                & Q(valid_until__lte=F("journey_date") + dt.timedelta(days=ETD_MAX_DAYS)),
                name="passports_etd_validity_journey",
            ),
            models.CheckConstraint(
                condition=Q(issued_on__isnull=True)
                | (
                    Q(journey_date__gte=F("issued_on"))
                    & Q(valid_until__lte=F("issued_on") + dt.timedelta(days=ETD_MAX_DAYS))
                ),
                name="passports_etd_validity_issue",
            ),
        ]

    def __str__(self) -> str:
        return self.number or self.reference

    def can_issue(self) -> bool:
        return self.can_move_to(EtdStatus.ISSUED)

    def can_revoke(self) -> bool:
        return self.can_move_to(EtdStatus.REVOKED)


class NumberBlock(TimeStampedModel):
    """A range of document numbers HQ allocated to this mission (written into its schema by HQ,
    so issuing needs no round trip). Numbers are taken in order, under the block's row lock, in
    the issuing transaction: a rolled-back issue gives its number back, so there is no gap.
    Emergency travel documents (`EtdNumberBlock`) and visas (`visas.VisaNumberBlock`) each have
    their own blocks of this shape."""

    prefix = models.CharField(_("prefix"), max_length=3)
    first = models.PositiveIntegerField(_("first number"))
    last = models.PositiveIntegerField(_("last number"))
    next_number = models.PositiveIntegerField(_("next number"))
    allocated_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.prefix} {self.first}-{self.last}"

    @property
    def remaining(self) -> int:
        return self.last + 1 - self.next_number

    def number_text(self, number: int) -> str:
        return f"{self.prefix}{number:0{ETD_NUMBER_WIDTH - len(self.prefix)}d}"


def number_block_constraints(prefix: str) -> list[models.BaseConstraint]:
    """A block's rules, named for its table: a range from 1, the next number inside it (or one
    past the end), a prefix of capitals."""
    return [
        models.CheckConstraint(
            condition=Q(first__gte=1, last__gte=F("first"))
            & Q(next_number__gte=F("first"), next_number__lte=F("last") + 1),
            name=f"{prefix}_range",
        ),
        models.CheckConstraint(condition=Q(prefix__regex=r"^[A-Z]{1,3}$"), name=f"{prefix}_prefix"),
    ]


class EtdNumberBlock(NumberBlock):
    """The ETD numbers HQ allocated to this mission."""

    history = history_records()
    objects: ClassVar[models.Manager[EtdNumberBlock]]

    class Meta:
        ordering = ["id"]
        constraints = number_block_constraints("passports_etd_block")


class EtdSettings(TimeStampedModel):
    """The mission's ETD policy (one row): how long an ETD it issues may be valid."""

    key = models.CharField(max_length=10, default="etd", unique=True, editable=False)
    max_days = models.PositiveSmallIntegerField(_("longest validity (days)"), default=ETD_MAX_DAYS)

    history = history_records()
    objects: ClassVar[models.Manager[EtdSettings]]

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_days__gte=1, max_days__lte=ETD_MAX_DAYS),
                name="passports_etd_settings_max_days",
            ),
        ]

    def __str__(self) -> str:
        return f"ETD {self.max_days} days"
