"""The mission's seal key, for the services that issue sealed documents (run in its schema)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from consulate.kernel.tenancy import in_public_schema
from passports.models import DocumentSigner
from passports.register.error_codes import SealKeyError


def document_signer_active() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The key this mission signs new documents' seals with, and its certificate from HQ's root
    (pass both to `consulate.kernel.seal.seal_issue`). `ApplicationError` NO_SIGNER when HQ has
    issued it none, or its key has expired or was revoked: no document is sealed with a key
    verifiers would not accept."""
    if in_public_schema():
        raise RuntimeError("a mission's seal key is read in its schema")
    row = DocumentSigner.objects.filter(is_active=True).first()
    if row is None or row.not_after <= timezone.now():
        raise ApplicationError(
            SealKeyError.NO_SIGNER,
            _(
                "This mission has no valid key to seal documents with. HQ issues one: ask HQ's"
                " administrators."
            ),
        )
    key = serialization.load_pem_private_key(row.private_key.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):  # pragma: no cover - written by HQ
        raise TypeError(f"document signer {row.serial} is not an ECDSA key")
    return key, x509.load_pem_x509_certificate(row.certificate.encode())
