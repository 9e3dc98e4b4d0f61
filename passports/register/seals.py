"""HQ's keys behind the visible digital seals, and its register of the travel documents the
missions issued, in the public schema (docs/sync.md, "Keys" and "Registers").

- `SealRoot`: HQ's root (ECDSA P-256, the seals' country signing CA); the private key encrypted
  under the public schema's data key. One is active.
- `SealSignerCode`: the two characters that name a mission in a seal's header (the signer
  identifier is the country's alpha-2 code and these: "TRAL"); one code per mission for good, so
  a seal from one mission's key can never be read as another's.
- `SealSigner`: every document-signing certificate HQ issued to a mission, revoked or not; the
  trust bundle verifiers hold is made of these (`seal_keys.seal_trust_current`).
- `IssuedTravelDocument`: the documents the missions issued (emergency travel documents and
  visas), projected from their `passports.etd.*` events (`etd_projector.py`) and the visas'
  (`visas/register/issued_projector.py`), so that HQ's verifier
  answers REVOKED for a document its mission revoked although its signer was not. Known by its
  number's blind index under HQ's key, as the lost and stolen register is (`models.py`).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import EncryptedTextField
from consulate.kernel.history import history_records
from sync.hq.models import MISSION_CODE_LENGTH

SERIAL_LENGTH = 40  # hex of an X.509 serial number (at most 20 octets)
INDEX_LENGTH = 64  # hex of HMAC-SHA256


class SealRoot(models.Model):
    country = models.CharField(_("issuing state"), max_length=3)  # Doc 9303-3: "TUR"
    private_key = EncryptedTextField(_("private key"), shared=True)  # PKCS #8 PEM
    certificate = models.TextField(_("certificate"))  # PEM, self-signed
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects: ClassVar[models.Manager[SealRoot]]

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("seal root")
        verbose_name_plural = _("seal roots")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="passports_register_seal_root_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"seal root {self.country} {self.created_at:%Y-%m-%d}"


class SealSignerCode(models.Model):
    mission = models.CharField(_("mission"), max_length=MISSION_CODE_LENGTH)
    code = models.CharField(_("signer code"), max_length=2)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects: ClassVar[models.Manager[SealSignerCode]]

    class Meta:
        ordering = ["mission"]
        verbose_name = _("seal signer code")
        verbose_name_plural = _("seal signer codes")
        constraints = [
            models.UniqueConstraint(fields=["mission"], name="passports_register_code_mission"),
            models.UniqueConstraint(fields=["code"], name="passports_register_code_once"),
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z0-9]{2}$"),
                name="passports_register_code_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} = {self.mission}"


class SealSigner(models.Model):
    mission = models.CharField(_("mission"), max_length=MISSION_CODE_LENGTH)  # its code
    serial = models.CharField(_("certificate serial number"), max_length=SERIAL_LENGTH)
    root = models.ForeignKey(SealRoot, on_delete=models.PROTECT, related_name="signers")
    certificate = models.TextField(_("certificate"))  # PEM
    not_before = models.DateTimeField(_("valid from"))
    not_after = models.DateTimeField(_("valid until"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation_reason = models.CharField(_("reason for revocation"), max_length=300, blank=True)
    history = history_records()  # who issued and who revoked

    objects: ClassVar[models.Manager[SealSigner]]

    class Meta:
        ordering = ["mission", "-created_at"]
        verbose_name = _("seal signer")
        verbose_name_plural = _("seal signers")
        constraints = [
            # the seal's header names its certificate by serial alone
            models.UniqueConstraint(fields=["serial"], name="passports_register_signer_serial"),
            models.CheckConstraint(
                condition=models.Q(serial__regex=r"^[1-9A-F][0-9A-F]{0,39}$"),
                name="passports_register_signer_serial_hex",
            ),
            models.CheckConstraint(
                condition=models.Q(not_after__gt=models.F("not_before")),
                name="passports_register_signer_dates",
            ),
            # a revocation says why, for whoever reads the CRL's entry back to HQ
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True, revocation_reason="")
                | (models.Q(revoked_at__isnull=False) & ~models.Q(revocation_reason="")),
                name="passports_register_signer_revocation",
            ),
        ]
        indexes = [models.Index(fields=["mission", "-created_at"], name="passports_reg_signer_m")]

    def __str__(self) -> str:
        return f"seal signer {self.serial} of {self.mission}"


class TravelDocumentKind(models.TextChoices):
    ETD = "etd", _("Emergency travel document")
    # projected by `visas/register/issued_projector.py`
    VISA = "visa", _("Visa")


class IssuedTravelDocument(models.Model):
    document_index = models.CharField(_("document index"), max_length=INDEX_LENGTH)
    kind = models.CharField(_("kind"), max_length=10, choices=TravelDocumentKind.choices)
    mission = models.CharField(_("mission"), max_length=MISSION_CODE_LENGTH)  # its code
    seq = models.BigIntegerField()  # the event at that mission
    signer_serial = models.CharField(_("signer"), max_length=SERIAL_LENGTH)
    issued_on = models.DateField(_("issued on"))  # the mission's local date
    issued_at = models.DateTimeField(_("issued at"))  # the event's time
    valid_until = models.DateField(_("valid until"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_seq = models.BigIntegerField(null=True, blank=True)  # the revocation's event
    revocation_reason = models.CharField(_("reason for revocation"), max_length=300, blank=True)

    objects: ClassVar[models.Manager[IssuedTravelDocument]]

    class Meta:
        ordering = ["-issued_at", "document_index"]
        verbose_name = _("issued travel document")
        verbose_name_plural = _("issued travel documents")
        constraints = [
            models.UniqueConstraint(
                fields=["document_index"], name="passports_register_issued_once"
            ),
            models.UniqueConstraint(
                fields=["mission", "seq"], name="passports_register_issued_event"
            ),
            models.CheckConstraint(
                condition=models.Q(document_index__regex=r"^[0-9a-f]{64}$"),
                name="passports_register_issued_index_hex",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=TravelDocumentKind.values),
                name="passports_register_issued_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(seq__gt=0) & ~models.Q(mission=""),
                name="passports_register_issued_source",
            ),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True, revoked_seq__isnull=True)
                | models.Q(revoked_at__isnull=False, revoked_seq__gt=models.F("seq")),
                name="passports_register_issued_revocation",
            ),
        ]
        indexes = [
            models.Index(fields=["mission", "-issued_at"], name="passports_reg_issued_mission"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.document_index[:12]}… ({self.mission} #{self.seq})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
