"""The seal's trust: HQ's root certifies each mission's signer; a verifier with the trust bundle
alone says valid, revoked, expired or invalid, and no changed byte, foreign root or borrowed
identity ever comes out valid."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from consulate.kernel.seal import (
    SealError,
    SealErrorCode,
    SealHeader,
    SealStatus,
    SealTrust,
    StayDuration,
    country_alpha2,
    etd_content,
    seal_decode,
    seal_encode,
    seal_issue,
    seal_revocation_list,
    seal_root_create,
    seal_signer_certify,
    seal_trust_dump,
    seal_trust_load,
    seal_verify,
    visa_content,
)

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@dataclass
class Hq:
    """A root and its missions' signers: `missions["TRB1"]` is (key, certificate)."""

    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    missions: dict[str, tuple[ec.EllipticCurvePrivateKey, x509.Certificate]] = field(
        default_factory=dict
    )

    def trust(self, *, revoked: tuple[str, ...] = ()) -> SealTrust:
        crl = seal_revocation_list(
            root_key=self.root_key,
            root_certificate=self.root,
            revoked=[(self.missions[code][1].serial_number, NOW) for code in revoked],
        )
        signers = tuple(certificate for _key, certificate in self.missions.values())
        return SealTrust(root=self.root, signers=signers, revocations=crl)


def hq_create(*, country: str = "TUR", missions: dict[str, str] | None = None) -> Hq:
    """HQ with a signer for each mission (signer identifier → certificate reference), valid
    from a month before NOW to a year after."""
    root_key, root = seal_root_create(country=country, name="Seal root", valid_years=10)
    hq = Hq(root_key=root_key, root=root)
    for identifier, reference in (missions or {"TRB1": "1B1", "TRP2": "1B2"}).items():
        hq.missions[identifier] = signer_certify(hq, identifier, reference)
    return hq


def signer_certify(
    hq: Hq,
    identifier: str,
    reference: str,
    *,
    not_before: dt.datetime = NOW - dt.timedelta(days=30),
    not_after: dt.datetime = NOW + dt.timedelta(days=365),
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = seal_signer_certify(
        root_key=hq.root_key,
        root_certificate=hq.root,
        public_key=key.public_key(),
        signer_identifier=identifier,
        certificate_reference=reference,
        not_before=not_before,
        not_after=not_after,
    )
    return key, certificate


def etd_mrz(*, expiry: str = "271231") -> str:
    return "I<TURERDEM<<AYSE".ljust(36, "<") + f"U12345678<TUR9001014F{expiry}0<<<<<<<4"


def etd_sealed(
    hq: Hq, mission: str = "TRB1", *, expiry: str = "271231", signed_on: dt.date = TODAY
) -> bytes:
    key, certificate = hq.missions[mission]
    return seal_issue(
        content=etd_content(mrz=etd_mrz(expiry=expiry)),
        country="TUR",
        signer_key=key,
        signer_certificate=certificate,
        issue_date=signed_on,
        signature_date=signed_on,
    )


@pytest.fixture(scope="module")
def hq() -> Hq:
    return hq_create()


def verify(data: bytes, trust: SealTrust, at: dt.datetime = NOW):
    return seal_verify(seal=seal_decode(data), trust=trust, at=at)


def test_a_missions_etd_seal_is_valid(hq):
    # given an ETD sealed by the Berlin mission's signer
    data = etd_sealed(hq)
    # when it is verified against HQ's trust
    verdict = verify(data, hq.trust())
    # then it is valid, names its signer and shows the document's data
    assert verdict.status is SealStatus.VALID
    assert verdict.is_valid
    assert verdict.signer == hq.missions["TRB1"][1]
    assert verdict.content.mrz == etd_mrz()
    assert verdict.seal.header.signer_identifier == "TRB1"
    assert verdict.seal.header.certificate_reference == "1B1"


def test_a_visa_seal_is_valid(hq):
    key, certificate = hq.missions["TRP2"]
    content = visa_content(
        mrz="V<TURSMITH<<JOHN".ljust(44, "<") + "P1234567<0GBR8001014M2706305".ljust(44, "<"),
        passport_number="P1234567",
        entries=1,
        duration_of_stay=StayDuration(days=30),
    )
    data = seal_issue(
        content=content, country="TUR", signer_key=key, signer_certificate=certificate,
        issue_date=TODAY, signature_date=TODAY,
    )  # fmt: skip
    verdict = verify(data, hq.trust())
    assert verdict.status is SealStatus.VALID
    assert verdict.content == content


def test_a_seal_by_a_revoked_signer_is_revoked_whatever_its_date(hq):
    # given Berlin's certificate on HQ's CRL, and seals it made before and after
    trust = hq.trust(revoked=("TRB1",))
    for signed_on in (TODAY - dt.timedelta(days=20), TODAY):
        # when one is verified
        verdict = verify(etd_sealed(hq, signed_on=signed_on), trust)
        # then it is revoked (a stolen key writes any date), with its data still shown
        assert verdict.status is SealStatus.REVOKED
        assert verdict.content is not None
    # and the other mission's seals are unaffected
    assert verify(etd_sealed(hq, "TRP2"), trust).status is SealStatus.VALID


def test_a_signer_certified_by_another_root_is_invalid(hq):
    # given another root (same country, same signer identifier and reference) and its signer
    impostor = hq_create(missions={"TRB1": "1B1"})
    data = etd_sealed(impostor)
    # when its seal is checked against our trust, with or without its certificate in the list
    ours = hq.trust()
    with_theirs = SealTrust(
        root=ours.root, signers=(impostor.missions["TRB1"][1],), revocations=ours.revocations
    )
    # then it is invalid either way
    assert verify(data, ours).status is SealStatus.INVALID
    verdict = verify(data, with_theirs)
    assert verdict.status is SealStatus.INVALID
    assert "trusted root" in str(verdict.reason)


def test_another_missions_key_claiming_this_mission_is_invalid(hq):
    # given Paris's key, writing a header that claims Berlin's signer identifier
    paris_key, paris = hq.missions["TRP2"]
    berlin = hq.missions["TRB1"][1]
    claims = [
        ("TRB1", f"{paris.serial_number:X}", "TUR"),  # Berlin's name, Paris's certificate
        ("TRB1", f"{berlin.serial_number:X}", "TUR"),  # Berlin's name and certificate
        ("TRP2", f"{paris.serial_number:X}", "DEU"),  # Paris, but claiming another country
    ]
    for identifier, reference, country in claims:
        header = SealHeader(
            country=country,
            signer_identifier=identifier,
            certificate_reference=reference,
            issue_date=TODAY,
            signature_date=TODAY,
            feature_definition_reference=0x5E,
            document_type_category=0x03,
        )
        content = etd_content(mrz=etd_mrz())
        data = seal_encode(header=header, features=content.features(), private_key=paris_key)
        # when it is verified
        # then it is invalid: the name does not match the certificate, or the key the name
        assert verify(data, hq.trust()).status is SealStatus.INVALID, (identifier, country)


def test_a_seal_naming_an_unknown_certificate_is_invalid(hq):
    other_hq = hq_create(missions={"TRB1": "FFFF"})
    verdict = verify(etd_sealed(other_hq), hq.trust())
    assert verdict.status is SealStatus.INVALID
    assert verdict.signer is None


def test_an_expired_etd_is_expired_and_valid_through_its_last_day(hq):
    # given an ETD that expires on 3 December 2026
    data = etd_sealed(hq, expiry="261203", signed_on=TODAY - dt.timedelta(days=10))
    # when it is verified on 4 December, and on the 3rd
    late = verify(data, hq.trust())
    in_time = verify(data, hq.trust(), at=NOW - dt.timedelta(days=1))
    # then it has expired on the 4th, and was valid on the 3rd
    assert late.status is SealStatus.EXPIRED
    assert "2026-12-03" in str(late.reason)
    assert in_time.status is SealStatus.VALID


@pytest.mark.parametrize("days", [-31, 366], ids=["before the certificate", "after it"])
def test_a_seal_signed_outside_its_certificates_validity_is_expired(hq, days):
    data = etd_sealed(hq, signed_on=TODAY + dt.timedelta(days=days))
    assert verify(data, hq.trust(), at=NOW + dt.timedelta(days=days)).status is (SealStatus.EXPIRED)


def test_a_certificate_that_may_not_sign_is_invalid(hq):
    # given a certificate from our root for a signer, without digitalSignature
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TR"),
            x509.NameAttribute(NameOID.COMMON_NAME, "X9"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(hq.root.subject)
        .public_key(key.public_key())
        .serial_number(0xABC)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(hq.root_key, hashes.SHA256())
    )
    trust = hq.trust()
    trust = SealTrust(root=trust.root, signers=(certificate,), revocations=trust.revocations)
    data = seal_issue(
        content=etd_content(mrz=etd_mrz()), country="TUR", signer_key=key,
        signer_certificate=certificate, issue_date=TODAY, signature_date=TODAY,
    )  # fmt: skip
    assert verify(data, trust).status is SealStatus.INVALID


@pytest.fixture(scope="module")
def sealed(hq) -> tuple[bytes, SealTrust]:
    return etd_sealed(hq), hq.trust()


def test_every_changed_byte_is_refused_or_invalid(sealed):
    # given a valid seal
    data, trust = sealed
    assert verify(data, trust).is_valid
    # when any one byte of it is changed (here: its lowest bit, at every position)
    for position in range(len(data)):
        changed = bytearray(data)
        changed[position] ^= 0x01
        # then it is refused, or it reads but is invalid
        assert _refused_or_invalid(bytes(changed), trust), position


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_change_to_any_byte_is_refused_or_invalid(sealed, position, flip):
    data, trust = sealed
    changed = bytearray(data)
    changed[position % len(data)] ^= flip
    assert _refused_or_invalid(bytes(changed), trust)


def _refused_or_invalid(data: bytes, trust: SealTrust) -> bool:
    try:
        seal = seal_decode(data)
    except SealError:
        return True
    return seal_verify(seal=seal, trust=trust, at=NOW).status is SealStatus.INVALID


def test_the_trust_bundle_survives_a_round_trip(hq):
    # given HQ's trust with one revocation
    trust = hq.trust(revoked=("TRP2",))
    # when it is written as one PEM file and read back
    loaded = seal_trust_load(seal_trust_dump(trust))
    # then the same root, signers and CRL come back, and verify the same
    assert loaded.root == trust.root
    assert loaded.signers == trust.signers
    assert loaded.revocations == trust.revocations
    assert verify(etd_sealed(hq, "TRP2"), loaded).status is SealStatus.REVOKED
    assert seal_trust_dump(trust).count(b"-----BEGIN CERTIFICATE-----") == 3


def _pem(value) -> bytes:
    return value.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    "bundle",
    [
        pytest.param(lambda hq, other: b"", id="empty"),
        pytest.param(lambda hq, other: b"garbage\x00" * 100, id="garbage"),
        pytest.param(lambda hq, other: b"-" * (6 * 1024 * 1024), id="6 MB"),
        pytest.param(lambda hq, other: _pem(hq.root), id="no CRL"),
        pytest.param(lambda hq, other: _pem(hq.trust().revocations), id="no root"),
        pytest.param(
            lambda hq, other: _pem(hq.root) + _pem(other.trust().revocations),
            id="a CRL by another root",
        ),
        pytest.param(
            lambda hq, other: _pem(hq.root) + _pem(other.root) + _pem(hq.trust().revocations),
            id="two roots",
        ),
        pytest.param(
            lambda hq, other: (
                _pem(hq.root)
                + hq.root_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                + _pem(hq.trust().revocations)
            ),
            id="a private key",
        ),
        pytest.param(
            lambda hq, other: _pem(hq.root).replace(b"MII", b"MIJ") + _pem(hq.trust().revocations),
            id="a damaged certificate",
        ),
    ],
)
def test_a_bundle_that_is_not_one_is_refused(hq, bundle):
    other = hq_create(missions={})
    with pytest.raises(SealError) as caught:
        seal_trust_load(bundle(hq, other))
    assert caught.value.code is SealErrorCode.BAD_TRUST


def test_the_root_is_a_ca_for_its_country():
    key, root = seal_root_create(country="DEU", name="Test root", valid_years=5)
    assert root.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "DE"
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.key_cert_sign, usage.crl_sign, usage.digital_signature) == (True, True, False)
    assert isinstance(key.curve, ec.SECP256R1)


def test_a_signer_certificate_may_only_sign(hq):
    certificate = hq.missions["TRB1"][1]
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.digital_signature, usage.key_cert_sign, usage.crl_sign) == (True, False, False)
    assert certificate.serial_number == 0x1B1
    assert certificate.issuer == hq.root.subject


@pytest.mark.parametrize(
    ("country", "alpha2"),
    [("TUR", "TR"), ("DEU", "DE"), ("D", "DE"), ("XXA", None), ("UTO", None), ("ANT", None),
     ("TR", None), ("", None)],
)  # fmt: skip
def test_doc_9303_codes_map_to_the_certificates_country(country, alpha2):
    assert country_alpha2(country) == alpha2


def test_a_root_for_no_single_country_is_refused():
    with pytest.raises(SealError):
        seal_root_create(country="XXA", name="Stateless", valid_years=5)


@pytest.mark.parametrize(
    "change",
    [
        {"signer_identifier": "DEB1"},  # not the root's country
        {"signer_identifier": "TRB"},
        {"signer_identifier": "TRb1"},
        {"certificate_reference": "01B1"},  # leading zero: the header would not match
        {"certificate_reference": "1G"},
        {"certificate_reference": "1" * 41},
        {"not_before": dt.datetime(2026, 1, 1)},  # noqa: DTZ001 - naive on purpose
        {"not_after": NOW - dt.timedelta(days=60)},
        {"public_key": ec.generate_private_key(ec.SECP384R1()).public_key()},
    ],
    ids=str,
)
def test_a_signer_certificate_with_bad_values_is_refused(hq, change):
    values = {
        "root_key": hq.root_key,
        "root_certificate": hq.root,
        "public_key": ec.generate_private_key(ec.SECP256R1()).public_key(),
        "signer_identifier": "TRZ9",
        "certificate_reference": "1F",
        "not_before": NOW - dt.timedelta(days=1),
        "not_after": NOW + dt.timedelta(days=1),
    }
    with pytest.raises(SealError):
        seal_signer_certify(**(values | change))


def test_a_mission_cannot_issue_for_another_country(hq):
    key, certificate = hq.missions["TRB1"]
    with pytest.raises(SealError):
        seal_issue(
            content=etd_content(mrz=etd_mrz()), country="DEU", signer_key=key,
            signer_certificate=certificate, issue_date=TODAY, signature_date=TODAY,
        )  # fmt: skip


def test_a_naive_moment_is_refused(hq):
    with pytest.raises(ValueError, match="aware"):
        verify(etd_sealed(hq), hq.trust(), at=dt.datetime(2026, 12, 4))  # noqa: DTZ001


@pytest.fixture(scope="module")
def bundle(hq) -> bytes:
    return seal_trust_dump(hq.trust(revoked=("TRP2",)))


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.sampled_from(b"AQZaz09+/=-\n\x00"))
def test_a_damaged_bundle_loads_whole_or_answers_a_seal_error(bundle, hq, position, replacement):
    # given the bundle with one character replaced
    damaged = bytearray(bundle)
    damaged[position % len(damaged)] = replacement
    # when it is loaded
    try:
        trust = seal_trust_load(bytes(damaged))
    except SealError as error:
        refused = error.code
    else:
        refused = None
    # then it is refused as a bad bundle,
    if refused is not None:
        assert refused is SealErrorCode.BAD_TRUST
        return
    # or what loads still verifies without an error, and never better than the real thing
    verdict = verify(etd_sealed(hq), trust)
    assert verdict.status in (SealStatus.VALID, SealStatus.INVALID)
