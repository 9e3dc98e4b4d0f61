"""HQ's services for the keys behind the visible digital seals (DESIGN.md, "Documents anyone can
verify"; the library is `consulate.kernel.seal`).

HQ holds one root (`seal_root_ensure`); each mission holds a document-signing key in its own
schema (`passports.models.DocumentSigner`), made and certified here by an HQ admin
(`document_signer_issue`; a second call rotates) and revoked here (`document_signer_revoke`).
HQ's register of signers (`SealSigner`) is what verifiers trust: `seal_trust_current` makes the
bundle (root, every signer's certificate, the root's CRL of the revoked ones) that HQ's verify
page uses and `manage.py seal export-trust` writes for offline checks.

The mission's key is written into its schema from HQ's process, as `mission_keys_set_up` does
for sync's keys: a mission running as its own node gets its key when HQ's database is its
database's origin (docs/sync.md, "Keys").
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from consulate.kernel.seal import (
    SealTrust,
    seal_revocation_list,
    seal_root_create,
    seal_signer_certify,
)
from missions.models import Mission, MissionKind, MissionStatus
from missions.permissions import Action, permission_require
from passports.models import DocumentSigner

from .error_codes import SealKeyError
from .seals import SealRoot, SealSigner, SealSignerCode

ROOT_NAME = "Consular seal root"
ROOT_VALID_YEARS = 15  # outlives every signer it certifies: three-year signers, rotated
SIGNER_VALID = dt.timedelta(days=3 * 365 + 1)
REASON_MAX_LENGTH = 300
_CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def issuing_state() -> str:
    """The Doc 9303-3 code of the state whose seals these are (`CONSULATE_ISSUING_STATE`)."""
    return str(settings.CONSULATE_ISSUING_STATE)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),  # the column is encrypted under a data key instead
    ).decode()


def _certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _key_load(pem: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("a seal key is an ECDSA key")
    return key


def _advisory_lock(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])


# --- HQ's root -----------------------------------------------------------------------------------


def seal_root_ensure() -> SealRoot:
    """HQ's active seal root, made the first time (for `CONSULATE_ISSUING_STATE`). Safe to
    call from two processes at once: the second finds the first's."""
    root = SealRoot.objects.filter(is_active=True).first()
    if root is not None:
        return root
    with transaction.atomic():
        _advisory_lock("passports:seal-root")
        root = SealRoot.objects.filter(is_active=True).first()
        if root is not None:
            return root
        country = issuing_state()
        key, certificate = seal_root_create(
            country=country, name=ROOT_NAME, valid_years=ROOT_VALID_YEARS
        )
        return SealRoot.objects.create(
            country=country, private_key=_key_pem(key), certificate=_certificate_pem(certificate)
        )


def _root_active() -> SealRoot:
    root = SealRoot.objects.filter(is_active=True).first()
    if root is None:
        raise ApplicationError(
            SealKeyError.NO_ROOT,
            _("Seals cannot be checked yet: HQ has no seal root. Issue a mission's key first."),
        )
    return root


# --- The missions' signers -----------------------------------------------------------------------


def _signer_code_of(mission: str) -> str:
    """The two characters that name `mission` in its seals' headers, given once for good: the
    first two letters or digits of its code when free ("berlin": "BE"), else the first free
    pair. Run inside the caller's transaction."""
    known = SealSignerCode.objects.filter(mission=mission).values_list("code", flat=True).first()
    if known is not None:
        return known
    _advisory_lock("passports:seal-signer-code")
    taken = set(SealSignerCode.objects.values_list("code", flat=True))
    letters = [char for char in mission.upper() if char in _CODE_CHARS]
    preferred = [f"{letters[0]}{other}" for other in letters[1:]] if letters else []
    every = [f"{first}{second}" for first in _CODE_CHARS for second in _CODE_CHARS]
    code = next((code for code in [*preferred, *every] if code not in taken), None)
    if code is None:
        raise ApplicationError(
            SealKeyError.CODES_EXHAUSTED, _("Every signer code is taken: no seal key was issued.")
        )
    SealSignerCode.objects.create(mission=mission, code=code)
    return code


def _mission_checked(mission: Mission) -> None:
    if (
        mission.kind == MissionKind.HEADQUARTERS
        or mission.schema_name == settings.PUBLIC_SCHEMA_NAME
    ):
        raise ApplicationError(CommonError.INVALID, _("HQ signs no documents: choose a mission."))


def document_signer_issue(*, mission: Mission, acting_user: Any) -> SealSigner:
    """A new document-signing key for `mission`, made in its schema (the private key encrypted
    under its data key), certified by HQ's root for three years and recorded in HQ's register
    of signers; it becomes the mission's active key. The one before stays valid for the
    documents it signed: its certificate stays in the trust bundle until it expires or is
    revoked. One transaction over HQ's tables and the mission's."""
    permission_require(user=acting_user, mission=mission, action=Action.SEAL_KEYS_MANAGE)
    _mission_checked(mission)
    root = seal_root_ensure()
    root_key, root_certificate = _key_load(root.private_key), _certificate_load(root.certificate)
    country = str(root_certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value)
    key = ec.generate_private_key(ec.SECP256R1())
    now = timezone.now().replace(microsecond=0)
    # 159 random bits: never a leading zero in hex, and no guessing the next serial
    serial = f"{x509.random_serial_number():X}"
    with transaction.atomic():
        code = _signer_code_of(mission.code)
        certificate = seal_signer_certify(
            root_key=root_key,
            root_certificate=root_certificate,
            public_key=key.public_key(),
            signer_identifier=f"{country}{code}",
            certificate_reference=serial,
            not_before=now,
            not_after=now + SIGNER_VALID,
        )
        signer = SealSigner(
            mission=mission.code,
            serial=serial,
            root=root,
            certificate=_certificate_pem(certificate),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
        )
        set_acting_user(signer, acting_user)
        signer.save()
        with schema_context(mission.schema_name):
            # locked first: two rotations at once queue here instead of tripping the
            # one-active constraint
            for retired in DocumentSigner.objects.select_for_update().filter(is_active=True):
                _document_signer_retire(retired, acting_user)
            document_signer = DocumentSigner(
                serial=serial,
                private_key=_key_pem(key),
                certificate=signer.certificate,
                not_after=signer.not_after,
            )
            set_acting_user(document_signer, acting_user)
            document_signer.save()
    return signer


def document_signer_revoke(
    *, mission: Mission, serial: str, reason: str, acting_user: Any
) -> SealSigner:
    """Revoke one of `mission`'s signing certificates (a key that may have leaked): from now on
    the trust bundle's CRL names it and every seal it made answers REVOKED, whatever date the
    seal claims (a stolen key can write any date). At the mission the key stops signing; the
    mission needs a new one (`document_signer_issue`)."""
    permission_require(user=acting_user, mission=mission, action=Action.SEAL_KEYS_MANAGE)
    _mission_checked(mission)
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX_LENGTH or "\x00" in reason:
        raise ApplicationError(
            SealKeyError.REASON_REQUIRED,
            _("Say why the key is revoked, in at most 300 characters."),
            field="reason",
        )
    with transaction.atomic():
        signer = (
            SealSigner.objects.select_for_update()
            .filter(mission=mission.code, serial=serial.strip().upper())
            .first()
        )
        if signer is None:
            raise ApplicationError(
                SealKeyError.SIGNER_UNKNOWN, _("This mission has no seal key with that serial.")
            )
        if signer.revoked_at is not None:
            raise ApplicationError(
                SealKeyError.ALREADY_REVOKED, _("This seal key was revoked already.")
            )
        signer.revoked_at = timezone.now()
        signer.revocation_reason = reason
        set_acting_user(signer, acting_user)
        signer.save(update_fields=["revoked_at", "revocation_reason"])
        with schema_context(mission.schema_name):
            for retired in DocumentSigner.objects.select_for_update().filter(
                serial=signer.serial, is_active=True
            ):
                _document_signer_retire(retired, acting_user)
    return signer


def _document_signer_retire(document_signer: DocumentSigner, acting_user: Any) -> None:
    """The mission stops signing with this key (run in its schema)."""
    document_signer.is_active = False
    set_acting_user(document_signer, acting_user)
    document_signer.save(update_fields=["is_active", "updated_at"])


def document_signer_list(*, mission: str) -> list[SealSigner]:
    """HQ's register of `mission`'s (code) signers, newest first."""
    return list(SealSigner.objects.filter(mission=mission).order_by("-created_at"))


def missions_without_signer() -> list[Mission]:
    """Active missions that HQ has issued no seal key yet, or whose keys are all revoked or
    expired (`manage.py seal issue-signers`)."""
    now = timezone.now()
    covered = SealSigner.objects.filter(revoked_at__isnull=True, not_after__gt=now).values(
        "mission"
    )
    return list(
        Mission.objects.exclude(kind=MissionKind.HEADQUARTERS)
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .filter(status=MissionStatus.ACTIVE)
        .exclude(code__in=covered)
        .order_by("code")
    )


def seal_keys_set_up(*, stdout: Any = None) -> list[SealSigner]:
    """A document signer for every active mission that has no valid one (`missions_without_
    signer`), as the platform (`SYSTEM`); idempotent. Run by `manage.py seal issue-signers`, and
    shaped as a demo seeder (`seed_demo`'s `DEMO_SEEDERS` calls it with `stdout=`), so demo
    missions can seal. Writes one line per mission to `stdout` when given."""
    issued = []
    for mission in missions_without_signer():
        signer = document_signer_issue(mission=mission, acting_user=SYSTEM)
        issued.append(signer)
        if stdout is not None:
            stdout.write(f"{mission.code}: {signer.serial}\n")
    return issued


# --- The trust bundle ----------------------------------------------------------------------------

_trust_lock = threading.Lock()
_trust_cache: dict[str, tuple[tuple[Any, ...], SealTrust]] = {}


def _certificate_load(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def seal_trust_current() -> SealTrust:
    """What a verifier trusts now: HQ's active root, every signer certificate it issued (old
    ones too: a rotated key's documents stay valid), and a CRL signed now naming the revoked
    ones. Kept per process until a signer is issued or revoked (one aggregate query tells):
    a bundle is a few hundred certificates to parse and a CRL to sign."""
    root = _root_active()
    signers = SealSigner.objects.filter(root=root)
    state = signers.aggregate(
        count=Count("pk"), issued=Max("created_at"), revoked=Max("revoked_at")
    )
    # the day too: the CRL is signed again daily, well within its next update (`CRL_DAYS`)
    version = (root.pk, state["count"], state["issued"], state["revoked"], timezone.now().date())
    with _trust_lock:
        kept = _trust_cache.get(connection.settings_dict["NAME"])
    if kept is not None and kept[0] == version:
        return kept[1]
    rows = list(signers.order_by("created_at").values_list("certificate", "serial", "revoked_at"))
    root_certificate = _certificate_load(root.certificate)
    trust = SealTrust(
        root=root_certificate,
        signers=tuple(_certificate_load(pem) for pem, _serial, _revoked in rows),
        revocations=seal_revocation_list(
            root_key=_key_load(root.private_key),
            root_certificate=root_certificate,
            revoked=[(int(serial, 16), revoked) for _pem, serial, revoked in rows if revoked],
        ),
    )
    with _trust_lock:
        _trust_cache[connection.settings_dict["NAME"]] = (version, trust)
    return trust


def signer_mission_of(*, certificate: x509.Certificate) -> str | None:
    """The code of the mission HQ issued `certificate` to, or None."""
    serial = f"{certificate.serial_number:X}"
    return SealSigner.objects.filter(serial=serial).values_list("mission", flat=True).first()
