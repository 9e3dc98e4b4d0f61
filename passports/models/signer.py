"""The mission's document-signing keys for visible digital seals (ICAO Doc 9303 Part 13), in its
own schema. HQ makes each one (`passports.register.seal_keys.document_signer_issue`), certifies
it with its root and keeps the certificate in its register of signers (`SealSigner`); the
private key never leaves this schema and is kept encrypted under the mission's data key.

One is active: the one new documents are signed with. A rotation deactivates the one before,
whose documents stay valid: verifiers hold its certificate until it expires or is revoked."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.fields import EncryptedTextField
from consulate.kernel.history import history_records
from consulate.kernel.models import TimeStampedModel

SERIAL_LENGTH = 40  # hex of an X.509 serial number (at most 20 octets)


class DocumentSigner(TimeStampedModel):
    serial = models.CharField(_("certificate serial number"), max_length=SERIAL_LENGTH)
    private_key = EncryptedTextField(_("private key"))  # PKCS #8 PEM
    certificate = models.TextField(_("certificate"))  # PEM, issued by HQ's seal root
    not_after = models.DateTimeField(_("valid until"))
    is_active = models.BooleanField(_("active"), default=True)
    # who made and who retired each key; the key itself stays out of the copies
    history = history_records(excluded_fields=["private_key"])

    objects: ClassVar[models.Manager[DocumentSigner]]

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("document signer")
        verbose_name_plural = _("document signers")
        constraints = [
            models.UniqueConstraint(fields=["serial"], name="passports_signer_serial_once"),
            # new documents are signed by one key: two active would make "which one" a race
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="passports_signer_one_active",
            ),
            models.CheckConstraint(
                condition=models.Q(serial__regex=r"^[1-9A-F][0-9A-F]{0,39}$"),
                name="passports_signer_serial_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"document signer {self.serial}{' (active)' if self.is_active else ''}"
