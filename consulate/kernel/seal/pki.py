"""The seal's public key infrastructure, on X.509 as Doc 9303 Part 12 has it for documents.

HQ holds one root (the country signing CA of the seals); each mission holds a document-signer
key, certified by the root. Part 13 ties a seal to its signer through the header: the signer
identifier is the certificate subject's country (C, ISO 3166-1 alpha-2) followed by its common
name (CN, two characters), and the certificate reference is the certificate's serial number in
hex. A verifier holds a trust bundle (root, signer certificates, the root's revocation list) and
needs nothing online.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from babel.core import get_global
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils.translation import gettext_lazy as _

from consulate.kernel.seal.errors import SealError, SealErrorCode
from consulate.kernel.seal.profiles import SealContent, seal_content
from consulate.kernel.seal.vds import Seal, SealHeader, seal_encode, seal_signature_verify
from consulate.kernel.validity import document_expired

# A trust bundle is a root, a few hundred signer certificates and a CRL: well under this.
MAX_TRUST_BYTES = 5 * 1024 * 1024
# The next CRL is due within this; verifying does not refuse an older one (the command runs
# offline, on the bundle it was given) but the date is in the list for whoever reads it.
CRL_DAYS = 31
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_SIGNER_CODE = re.compile(r"[A-Z0-9]{2}")
_REFERENCE = re.compile(r"[1-9A-F][0-9A-F]{0,39}")


class SealStatus(enum.Enum):
    VALID = "valid"  # genuine, from a trusted signer, the document within its validity
    REVOKED = "revoked"  # genuine, but the signer's certificate is on the root's CRL
    EXPIRED = "expired"  # genuine, but the document or the signer's certificate had expired
    INVALID = "invalid"  # not genuine, or not from a signer this trust bundle knows
    # A register's answer, never a seal's: a typed number HQ's register holds no record of
    # (perhaps not recorded yet), which says nothing against the document.
    NOT_FOUND = "not_found"


@dataclass(frozen=True, kw_only=True)
class SealTrust:
    root: x509.Certificate
    signers: tuple[x509.Certificate, ...]
    revocations: x509.CertificateRevocationList


@dataclass(frozen=True, kw_only=True)
class SealVerdict:
    status: SealStatus
    reason: Any  # a lazy translation, for the person checking the seal
    seal: Seal
    content: SealContent | None  # the document's data, when the profile could read it
    signer: x509.Certificate | None

    @property
    def is_valid(self) -> bool:
        return self.status is SealStatus.VALID


def country_alpha2(code: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for a Doc 9303-3 issuing state code ("TUR" → "TR"), from
    CLDR's alias table (Babel); None for codes with no single country (UN, stateless...)."""
    if code == "D":  # Doc 9303-3 writes Germany as "D", not "DEU"
        return "DE"
    if len(code) != 3 or not code.isalpha():
        return None
    aliases = get_global("territory_aliases").get(code.upper(), [])
    if len(aliases) == 1 and len(aliases[0]) == 2 and aliases[0].isalpha():
        return str(aliases[0])
    return None


def seal_root_create(
    *, country: str, name: str, valid_years: int
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new root: an ECDSA P-256 key and its self-signed CA certificate for `country` (a
    Doc 9303-3 code, "TUR"), named `name`, valid from now for `valid_years`."""
    alpha2 = _alpha2_or_refuse(country)
    if not name.strip() or not 1 <= valid_years <= 50:
        raise _bad_certificate()
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, alpha2),
         x509.NameAttribute(NameOID.COMMON_NAME, name)]
    )  # fmt: skip
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365 * valid_years + valid_years // 4))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def seal_signer_certify(
    *,
    root_key: ec.EllipticCurvePrivateKey,
    root_certificate: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey,
    signer_identifier: str,
    certificate_reference: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    """A document-signer certificate for `public_key` (ECDSA P-256), issued by the root.

    `signer_identifier` is four characters, the root's country (alpha-2) and two of the
    signer's own ("TRB1"); `certificate_reference` (hex, no leading zeros) becomes the serial
    number, which seals name in their header. The key may only sign (digitalSignature)."""
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise SealError(SealErrorCode.BAD_KEY, _("A seal is signed with an ECDSA P-256 key."))
    root_country = _subject_value(root_certificate, NameOID.COUNTRY_NAME)
    if (
        len(signer_identifier) != 4
        or signer_identifier[:2] != root_country
        or not _SIGNER_CODE.fullmatch(signer_identifier[2:])
        or not _REFERENCE.fullmatch(certificate_reference)
        or not_before.tzinfo is None
        or not_after.tzinfo is None
        or not_after <= not_before
    ):
        raise _bad_certificate()
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, root_country),
         x509.NameAttribute(NameOID.COMMON_NAME, signer_identifier[2:])]
    )  # fmt: skip
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_certificate.subject)
        .public_key(public_key)
        .serial_number(int(certificate_reference, 16))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(root_key, hashes.SHA256())
    )


def seal_revocation_list(
    *,
    root_key: ec.EllipticCurvePrivateKey,
    root_certificate: x509.Certificate,
    revoked: Sequence[tuple[int, dt.datetime]],
) -> x509.CertificateRevocationList:
    """The root's CRL naming `revoked` (serial number, when), signed by the root now."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root_certificate.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=CRL_DAYS))
    )
    for serial, revoked_at in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(revoked_at)
            .build()
        )
    return builder.sign(root_key, hashes.SHA256())


def seal_issue(
    *,
    content: SealContent,
    country: str,
    signer_key: ec.EllipticCurvePrivateKey,
    signer_certificate: x509.Certificate,
    issue_date: dt.date,
    signature_date: dt.date,
) -> bytes:
    """`content` sealed by a mission: the header's signer identifier and certificate reference
    taken from `signer_certificate`, so they cannot disagree with it; `country` (Doc 9303-3)
    must be the certificate's."""
    signer_country = _subject_value(signer_certificate, NameOID.COUNTRY_NAME)
    if _alpha2_or_refuse(country) != signer_country:
        raise _bad_certificate()
    header = SealHeader(
        country=country,
        signer_identifier=_signer_identifier(signer_certificate),
        certificate_reference=f"{signer_certificate.serial_number:X}",
        issue_date=issue_date,
        signature_date=signature_date,
        feature_definition_reference=content.profile.feature_definition_reference,
        document_type_category=content.profile.document_type_category,
    )
    return seal_encode(header=header, features=content.features(), private_key=signer_key)


def seal_verify(*, seal: Seal, trust: SealTrust, at: dt.datetime) -> SealVerdict:
    """Whether `seal` is genuine and its document in force at `at`, by `trust` alone.

    INVALID (not genuine, or not ours) comes before REVOKED, which comes before EXPIRED: a
    forged seal for an expired document is forged. A revoked signer's seals answer REVOKED
    whatever their signature date: a stolen key can write any date."""
    if at.tzinfo is None:
        raise ValueError("at must be an aware datetime")
    header = seal.header

    def verdict(
        status: SealStatus,
        reason: Any,
        signer: x509.Certificate | None = None,
        content: SealContent | None = None,
    ) -> SealVerdict:
        return SealVerdict(status=status, reason=reason, seal=seal, content=content, signer=signer)

    signer = _signer_find(trust, header.certificate_reference)
    if signer is None:
        return verdict(SealStatus.INVALID, _("The seal's signer is not one this system trusts."))
    root_country = _subject_value(trust.root, NameOID.COUNTRY_NAME)
    if (
        _signer_identifier(signer) != header.signer_identifier
        or country_alpha2(header.country) != _subject_value(signer, NameOID.COUNTRY_NAME)
        or root_country != _subject_value(signer, NameOID.COUNTRY_NAME)
    ):
        return verdict(
            SealStatus.INVALID,
            _("The seal names a signer or country that its certificate does not."),
            signer,
        )
    if not _issued_by(signer, trust.root) or not _may_sign(signer):
        return verdict(
            SealStatus.INVALID,
            _("The signer's certificate was not issued for seals by the trusted root."),
            signer,
        )
    if not seal_signature_verify(seal=seal, public_key=signer.public_key()):
        return verdict(
            SealStatus.INVALID, _("The seal's signature does not match its data."), signer
        )
    try:
        content = seal_content(seal=seal)
    except SealError as error:
        return verdict(SealStatus.INVALID, error.message, signer)
    if trust.revocations.get_revoked_certificate_by_serial_number(signer.serial_number):
        return verdict(
            SealStatus.REVOKED, _("The signer's certificate has been revoked."), signer, content
        )
    if not (
        signer.not_valid_before_utc.date()
        <= header.signature_date
        <= signer.not_valid_after_utc.date()
    ):
        return verdict(
            SealStatus.EXPIRED,
            _("The seal was signed when its signer's certificate was not in force."),
            signer,
            content,
        )
    if document_expired(valid_until=content.valid_until, at=at):
        return verdict(
            SealStatus.EXPIRED,
            _("The document expired on %(date)s.") % {"date": content.valid_until.isoformat()},
            signer,
            content,
        )
    return verdict(
        SealStatus.VALID, _("The seal is genuine and the document is valid."), signer, content
    )


def seal_trust_dump(trust: SealTrust) -> bytes:
    """The trust bundle as one PEM file: the root, the signer certificates, the CRL."""
    pem = serialization.Encoding.PEM
    return b"".join(
        [
            trust.root.public_bytes(pem),
            *(signer.public_bytes(pem) for signer in trust.signers),
            trust.revocations.public_bytes(pem),
        ]
    )


def seal_trust_load(data: bytes) -> SealTrust:
    """The trust bundle in `data` (`seal_trust_dump`'s shape); `SealError` unless it holds
    exactly one self-signed root CA, one CRL signed by that root, and certificates only."""
    if not isinstance(data, bytes) or len(data) > MAX_TRUST_BYTES:
        raise _bad_trust()
    certificates: list[x509.Certificate] = []
    crls: list[x509.CertificateRevocationList] = []
    try:
        for block in _PEM_BLOCK.finditer(data):
            kind = block.group(1)
            if kind == b"CERTIFICATE":
                certificates.append(x509.load_pem_x509_certificate(block.group(0)))
            elif kind == b"X509 CRL":
                crls.append(x509.load_pem_x509_crl(block.group(0)))
            else:
                raise _bad_trust()
        for certificate in certificates:
            # cryptography parses a certificate's parts when first asked: ask for every part
            # verifying reads now, so that a damaged bundle is refused here and verifying never
            # meets a parse error (hypothesis found the issuer and the validity)
            certificate.extensions  # noqa: B018
            certificate.public_key()
            certificate.issuer  # noqa: B018
            certificate.subject  # noqa: B018
            certificate.serial_number  # noqa: B018
            certificate.not_valid_before_utc  # noqa: B018
            certificate.not_valid_after_utc  # noqa: B018
            certificate.signature_hash_algorithm  # noqa: B018
        for crl in crls:
            crl.extensions  # noqa: B018
            crl.issuer  # noqa: B018
            crl.last_update_utc  # noqa: B018
            for entry in crl:
                entry.extensions  # noqa: B018
                entry.serial_number  # noqa: B018
                entry.revocation_date_utc  # noqa: B018
        roots = [certificate for certificate in certificates if _is_root(certificate)]
        if len(roots) != 1 or len(crls) != 1:
            raise _bad_trust()
        root, crl = roots[0], crls[0]
        root_key = root.public_key()
        if (
            crl.issuer != root.subject
            or not isinstance(root_key, ec.EllipticCurvePublicKey)
            or not crl.is_signature_valid(root_key)
        ):
            raise _bad_trust()
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion):
        raise _bad_trust() from None
    signers = tuple(certificate for certificate in certificates if certificate is not root)
    return SealTrust(root=root, signers=signers, revocations=crl)


def _signer_find(trust: SealTrust, reference: str) -> x509.Certificate | None:
    # the header's reference is hex; version 3 headers pad it with zeros ("0001A")
    if not reference or any(char not in "0123456789ABCDEF" for char in reference):
        return None
    serial = int(reference, 16)
    matches = [signer for signer in trust.signers if signer.serial_number == serial]
    # serial numbers are unique per issuer: prefer the root's certificate when another
    # issuer's with the same number is in the bundle too
    ours = [signer for signer in matches if signer.issuer == trust.root.subject]
    return next(iter(ours or matches), None)


def _signer_identifier(certificate: x509.Certificate) -> str:
    country = _subject_value(certificate, NameOID.COUNTRY_NAME)
    return f"{country}{_subject_value(certificate, NameOID.COMMON_NAME)}"


def _subject_value(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = certificate.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if len(values) == 1 else ""


def _issued_by(certificate: x509.Certificate, root: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):  # another issuer's name, key or signature
        return False
    return True


def _may_sign(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return bool(usage.digital_signature)


def _is_root(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca and _issued_by(certificate, certificate)


def _key_usage(**granted: bool) -> x509.KeyUsage:
    usages = {
        name: False
        for name in (
            "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
            "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
        )
    }  # fmt: skip
    return x509.KeyUsage(**(usages | granted))


def _alpha2_or_refuse(country: str) -> str:
    alpha2 = country_alpha2(country)
    if alpha2 is None:
        raise SealError(
            SealErrorCode.BAD_CERTIFICATE,
            _("The issuing country must be a country's Doc 9303 code, such as TUR."),
        )
    return alpha2


def _bad_certificate() -> SealError:
    return SealError(
        SealErrorCode.BAD_CERTIFICATE,
        _("These values cannot make a seal certificate: check the signer and its dates."),
    )


def _bad_trust() -> SealError:
    return SealError(
        SealErrorCode.BAD_TRUST,
        _("The trust bundle is not a root certificate, signer certificates and a signed CRL."),
    )
