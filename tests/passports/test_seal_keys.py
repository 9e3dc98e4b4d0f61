"""The keys behind the seals: HQ's root, each mission's document signer made in its schema and
certified by the root, rotated and revoked by HQ admins only; the trust bundle HQ verifies
with. Each test tries to get a VALID out of a seal that should not give one, or a key out of
the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from consulate.kernel.seal import (
    SealStatus,
    etd_content,
    seal_decode,
    seal_encode,
    seal_issue,
    seal_root_create,
    seal_signer_certify,
    seal_trust_dump,
    seal_verify,
)
from passports.models import DocumentSigner
from passports.register.seal_keys import (
    document_signer_issue,
    document_signer_revoke,
    missions_without_signer,
    seal_root_ensure,
    seal_trust_current,
)
from passports.register.seals import SealRoot, SealSigner, SealSignerCode
from passports.services.signer import document_signer_active
from tests.conftest import make_staff
from tests.factories import UserFactory
from tests.passports.seals import etd_mrz, etd_seal, hq_admin, signer_issue

pytestmark = pytest.mark.django_db


def verdict_of(data: bytes):
    return seal_verify(seal=seal_decode(data), trust=seal_trust_current(), at=timezone.now())


def active_serials(mission) -> list[str]:
    with schema_context(mission.schema_name):
        return list(DocumentSigner.objects.filter(is_active=True).values_list("serial", flat=True))


def test_a_signer_is_made_in_the_missions_schema_and_certified_by_hqs_root(mission_a):
    # when an HQ admin issues mission A its first signer
    signer = signer_issue(mission_a)
    # then the mission holds the key and HQ the certificate, both under HQ's one root
    root = SealRoot.objects.get(is_active=True)
    assert root.country == "TUR"
    assert signer.root == root
    assert active_serials(mission_a) == [signer.serial]
    with schema_context(mission_a.schema_name):
        key, certificate = document_signer_active()
    assert f"{certificate.serial_number:X}" == signer.serial
    certificate.verify_directly_issued_by(seal_trust_current().root)
    assert certificate.public_key() == key.public_key()
    # valid for three years from now
    assert signer.not_after - signer.not_before == dt.timedelta(days=3 * 365 + 1)
    # and a seal it makes verifies
    assert verdict_of(etd_seal(mission_a)).status is SealStatus.VALID


def test_the_root_is_made_once_and_reused(mission_a, mission_b):
    first = seal_root_ensure()
    signer_issue(mission_a)
    signer_issue(mission_b)
    assert seal_root_ensure() == first
    assert SealRoot.objects.count() == 1
    assert set(SealSigner.objects.values_list("root", flat=True)) == {first.pk}


def test_the_issuing_state_comes_from_the_setting(mission_a, settings):
    settings.CONSULATE_ISSUING_STATE = "D"
    signer_issue(mission_a)
    assert SealRoot.objects.get().country == "D"
    assert "C=DE" in seal_trust_current().root.subject.rfc4514_string()


def test_rotation_keeps_the_old_documents_valid_and_signs_with_the_new_key(mission_a):
    # given a document sealed with mission A's first key
    first = signer_issue(mission_a)
    old_document = etd_seal(mission_a, "E0000001")
    # when HQ rotates the key
    second = signer_issue(mission_a)
    # then the old document is still valid, the new key is the one that signs, alone active
    assert verdict_of(old_document).status is SealStatus.VALID
    new_document = etd_seal(mission_a, "E0000002")
    assert seal_decode(new_document).header.certificate_reference == second.serial
    assert verdict_of(new_document).status is SealStatus.VALID
    assert active_serials(mission_a) == [second.serial]
    with schema_context(mission_a.schema_name):
        assert DocumentSigner.objects.filter(serial=first.serial, is_active=False).exists()
    # the mission keeps its two characters in the header across rotations
    assert seal_decode(old_document).header.signer_identifier == (
        seal_decode(new_document).header.signer_identifier
    )


def test_revocation_makes_every_seal_of_the_key_revoked_and_stops_it_signing(mission_a):
    # given a document sealed by mission A's key, checked valid (the trust is cached)
    signer = signer_issue(mission_a)
    document = etd_seal(mission_a)
    assert verdict_of(document).status is SealStatus.VALID
    # when HQ revokes the key
    admin = hq_admin()
    document_signer_revoke(
        mission=mission_a, serial=signer.serial.lower(), reason="Laptop stolen", acting_user=admin
    )
    # then the document answers REVOKED, the CRL names it, and the mission cannot sign
    assert verdict_of(document).status is SealStatus.REVOKED
    crl = seal_trust_current().revocations
    assert crl.get_revoked_certificate_by_serial_number(int(signer.serial, 16)) is not None
    # and the history says who, at HQ and at the mission
    assert (
        SealSigner.history.filter(serial=signer.serial).latest("history_date").history_user_id
        == admin.pk
    )
    with schema_context(mission_a.schema_name):
        retired = DocumentSigner.history.filter(serial=signer.serial).latest("history_date")
        assert (retired.is_active, retired.history_user_id) == (False, admin.pk)
        assert not hasattr(retired, "private_key")
    with schema_context(mission_a.schema_name), pytest.raises(ApplicationError) as refused:
        document_signer_active()
    assert refused.value.code.value == "passports.seal.no_signer"
    # and revoking it again, or a serial of another mission, is refused
    with pytest.raises(ApplicationError, match="already"):
        document_signer_revoke(
            mission=mission_a, serial=signer.serial, reason="again", acting_user=hq_admin()
        )


def test_a_revocation_needs_a_reason_and_the_missions_own_serial(mission_a, mission_b):
    signer = signer_issue(mission_a)
    with pytest.raises(ApplicationError) as no_reason:
        document_signer_revoke(
            mission=mission_a, serial=signer.serial, reason="  ", acting_user=hq_admin()
        )
    assert no_reason.value.field == "reason"
    with pytest.raises(ApplicationError) as elsewhere:
        document_signer_revoke(
            mission=mission_b, serial=signer.serial, reason="Leaked", acting_user=hq_admin()
        )
    assert elsewhere.value.code.value == "passports.seal.signer_unknown"
    assert SealSigner.objects.get(serial=signer.serial).revoked_at is None


def test_a_seal_of_mission_as_key_claiming_mission_b_is_invalid(mission_a, mission_b):
    # given both missions' signers, and a seal mission A's key makes with B's name in its header
    signer_a, signer_b = signer_issue(mission_a), signer_issue(mission_b)
    genuine = seal_decode(etd_seal(mission_a))
    identifier_b = seal_decode(etd_seal(mission_b)).header.signer_identifier
    assert identifier_b != genuine.header.signer_identifier
    with schema_context(mission_a.schema_name):
        key_a, _certificate = document_signer_active()
    for identifier, reference in (
        (identifier_b, signer_a.serial),  # B's name, A's certificate
        (identifier_b, signer_b.serial),  # B's name and certificate, A's key
        (genuine.header.signer_identifier, signer_b.serial),  # A's name, B's certificate
    ):
        header = dataclasses.replace(
            genuine.header, signer_identifier=identifier, certificate_reference=reference
        )
        forged = seal_encode(header=header, features=genuine.features, private_key=key_a)
        # then it is never valid
        assert verdict_of(forged).status is SealStatus.INVALID


def test_a_seal_certified_by_another_root_is_invalid(mission_a):
    # given mission A's genuine signer, and a foreign root certifying a key under A's very name
    # and serial
    signer = signer_issue(mission_a)
    genuine = seal_decode(etd_seal(mission_a))
    other_key, other_root = seal_root_create(
        country="TUR", name="Consular seal root", valid_years=5
    )
    key = ec.generate_private_key(ec.SECP256R1())
    now = timezone.now()
    certificate = seal_signer_certify(
        root_key=other_key, root_certificate=other_root, public_key=key.public_key(),
        signer_identifier=genuine.header.signer_identifier, certificate_reference=signer.serial,
        not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=365),
    )  # fmt: skip
    today = now.date()
    forged = seal_issue(
        content=etd_content(mrz=etd_mrz()), country="TUR", signer_key=key,
        signer_certificate=certificate, issue_date=today, signature_date=today,
    )  # fmt: skip
    # then HQ's trust says invalid
    assert verdict_of(forged).status is SealStatus.INVALID


def test_no_single_changed_byte_verifies(mission_a):
    signer_issue(mission_a)
    data = etd_seal(mission_a)
    assert verdict_of(data).status is SealStatus.VALID
    for position in range(len(data)):
        for flip in (0x01, 0x80):
            changed = bytearray(data)
            changed[position] ^= flip
            try:
                seal = seal_decode(bytes(changed))
            except ApplicationError:
                continue  # no longer a seal: refused before any verdict
            verdict = seal_verify(seal=seal, trust=seal_trust_current(), at=timezone.now())
            assert verdict.status is not SealStatus.VALID, (position, flip)


def test_private_keys_are_not_in_clear_in_the_database(mission_a):
    # given the root and mission A's signer
    signer_issue(mission_a)
    root_key = serialization.load_pem_private_key(
        SealRoot.objects.get().private_key.encode(), password=None
    )
    with schema_context(mission_a.schema_name):
        mission_key, _certificate = document_signer_active()
    secrets = [
        key.private_numbers().private_value.to_bytes(32, "big")
        for key in (root_key, mission_key)
        if isinstance(key, ec.EllipticCurvePrivateKey)
    ]
    assert len(secrets) == 2
    # when the tables are read as a dump would read them
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key FROM public.passports_register_sealroot")
        blobs = [bytes(row[0]) for row in cursor.fetchall()]
        cursor.execute(
            f'SELECT private_key FROM "{mission_a.schema_name}".passports_documentsigner'
        )
        blobs += [bytes(row[0]) for row in cursor.fetchall()]
    # then neither key is there, in PEM, DER or as its raw number
    assert len(blobs) == 2
    for blob in blobs:
        assert b"PRIVATE KEY" not in blob
        for secret in secrets:
            assert secret not in blob
            assert secret.hex().encode() not in blob


def test_one_active_signer_per_mission_is_the_databases_rule_too(mission_a):
    signer_issue(mission_a)
    with schema_context(mission_a.schema_name):
        current = DocumentSigner.objects.get(is_active=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            DocumentSigner.objects.create(
                serial="ABC", private_key="x", certificate=current.certificate,
                not_after=current.not_after,
            )  # fmt: skip


def test_each_mission_has_its_own_signer_code_for_good(mission_a, mission_b):
    signer_issue(mission_a)
    signer_issue(mission_b)
    signer_issue(mission_a)
    codes = dict(SealSignerCode.objects.values_list("mission", "code"))
    assert set(codes) == {"alpha", "beta"}
    assert codes["alpha"] != codes["beta"]
    assert codes["alpha"] == "AL"


def test_a_mission_without_a_signer_cannot_seal(mission_b):
    with schema_context(mission_b.schema_name), pytest.raises(ApplicationError) as refused:
        document_signer_active()
    assert refused.value.code.value == "passports.seal.no_signer"
    assert "HQ" in str(refused.value.message)
    with pytest.raises(RuntimeError):
        document_signer_active()  # HQ signs nothing


def test_an_expired_signer_cannot_seal(mission_a):
    signer_issue(mission_a)
    with schema_context(mission_a.schema_name):
        DocumentSigner.objects.update(not_after=timezone.now() - dt.timedelta(seconds=1))
        with pytest.raises(ApplicationError):
            document_signer_active()


@pytest.mark.parametrize("role", ["officer", "consul", "mission_admin"])
def test_only_hq_admins_manage_seal_keys(mission_a, role):
    staff = make_staff(mission_a, role)
    with pytest.raises(ApplicationError) as refused:
        document_signer_issue(mission=mission_a, acting_user=staff)
    assert refused.value.code.name == "NOT_ALLOWED"
    for actor in (UserFactory(hq_role="analyst"), UserFactory(), None):
        with pytest.raises(ApplicationError):
            document_signer_issue(mission=mission_a, acting_user=actor)
    assert not SealSigner.objects.exists()
    assert active_serials(mission_a) == []


def test_hq_itself_gets_no_signer(db):
    from missions.selectors import mission_hq

    with pytest.raises(ApplicationError):
        document_signer_issue(mission=mission_hq(), acting_user=SYSTEM)


def test_the_exported_bundle_verifies_offline(mission_a, tmp_path):
    # given a valid seal and one of a revoked key
    signer_issue(mission_a)
    valid = etd_seal(mission_a, "E0000001")
    revoked_signer = signer_issue(mission_a)
    revoked = etd_seal(mission_a, "E0000002")
    document_signer_revoke(
        mission=mission_a, serial=revoked_signer.serial, reason="Leaked", acting_user=hq_admin()
    )
    # when HQ exports its trust and the offline command checks both
    bundle = tmp_path / "trust.pem"
    call_command("seal", "export-trust", str(bundle), stdout=io.StringIO())
    assert bundle.read_bytes() == seal_trust_dump(seal_trust_current())
    (tmp_path / "valid.bin").write_bytes(valid)
    (tmp_path / "revoked.bin").write_bytes(revoked)
    out = io.StringIO()
    call_command("seal", "verify", str(tmp_path / "valid.bin"), "--trust", str(bundle), stdout=out)
    # then the first is valid and the second revoked
    assert "VALID" in out.getvalue()
    with pytest.raises(CommandError, match="REVOKED"):
        call_command(
            "seal", "verify", str(tmp_path / "revoked.bin"), "--trust", str(bundle),
            stdout=io.StringIO(),
        )  # fmt: skip


def test_export_without_a_root_says_why(db, tmp_path):
    with pytest.raises(CommandError, match="no seal root"):
        call_command("seal", "export-trust", str(tmp_path / "t.pem"), stdout=io.StringIO())


def test_issue_signers_gives_each_active_mission_one_once(mission_a, mission_b):
    # given mission A with a signer and B without
    signer_issue(mission_a)
    assert missions_without_signer() == [mission_b]
    # when the command runs twice
    out = io.StringIO()
    call_command("seal", "issue-signers", stdout=out)
    call_command("seal", "issue-signers", stdout=out)
    # then B got one, once, and A kept its own
    assert out.getvalue().count("beta:") == 1
    assert "alpha:" not in out.getvalue()
    assert len(active_serials(mission_b)) == 1
    assert missions_without_signer() == []


def test_the_set_up_is_a_demo_seeder(mission_a, mission_b):
    # seed_demo calls each seeder by its dotted path with `stdout=`
    from django.utils.module_loading import import_string

    out = io.StringIO()
    import_string("passports.register.seal_keys.seal_keys_set_up")(stdout=out)
    assert sorted(line.split(":")[0] for line in out.getvalue().splitlines()) == ["alpha", "beta"]
    assert all(active_serials(mission) for mission in (mission_a, mission_b))
