"""The emergency travel document and visa profiles of Part 13: each survives a round trip
through the seal's bytes, and a seal whose features do not follow its profile is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from consulate.kernel.seal import (
    ETD_PROFILE,
    VISA_PROFILE,
    EmergencyTravelDocumentContent,
    MrvFormat,
    SealError,
    SealErrorCode,
    SealFeature,
    SealHeader,
    StayDuration,
    VisaContent,
    c40_encode,
    etd_content,
    seal_content,
    seal_decode,
    seal_encode,
    visa_content,
)

KEY = ec.generate_private_key(ec.SECP256R1())


def etd_mrz(*, expiry: str = "271231") -> str:
    """A TD2-shaped MRZ (2 × 36) as an ETD prints it; the check digits are not computed here,
    the seal neither needs nor checks them."""
    line_1 = "I<TURERDEM<<AYSE".ljust(36, "<")
    line_2 = f"U12345678<TUR9001014F{expiry}0<<<<<<<4"
    return f"{line_1}\n{line_2}"


def mrv_mrz(*, line: int, expiry: str = "270630") -> str:
    line_1 = "V<TURSMITH<<JOHN<PETER".ljust(line, "<")
    line_2 = f"P1234567<0GBR8001014M{expiry}5".ljust(line, "X")  # optional data: not sealed
    return line_1 + line_2


def header_for(profile) -> SealHeader:
    return SealHeader(
        country="TUR",
        signer_identifier="TRB1",
        certificate_reference="1A2B",
        issue_date=dt.date(2026, 12, 1),
        signature_date=dt.date(2026, 12, 1),
        feature_definition_reference=profile.feature_definition_reference,
        document_type_category=profile.document_type_category,
    )


def through_a_seal(content) -> object:
    data = seal_encode(
        header=header_for(content.profile), features=content.features(), private_key=KEY
    )
    return seal_content(seal=seal_decode(data))


def test_an_emergency_travel_document_survives_a_round_trip():
    # given an ETD's MRZ, two lines of 36
    content = etd_content(mrz=etd_mrz())
    # when it is sealed and read back
    read = through_a_seal(content)
    # then the whole MRZ comes back, "<" fillers and all, and its expiry is the validity
    assert read == content
    assert read.lines == tuple(etd_mrz().split("\n"))
    assert read.valid_until == dt.date(2027, 12, 31)
    # and the feature is Part 13's: tag 0x02, 48 bytes of C40
    assert [(f.tag, len(f.value)) for f in content.features()] == [(0x02, 48)]


@pytest.mark.parametrize(
    ("line", "mrz_format", "tag", "length"),
    [(44, MrvFormat.A, 0x01, 48), (36, MrvFormat.B, 0x02, 44)],
)
def test_a_visa_survives_a_round_trip(line, mrz_format, tag, length):
    # given a visa with every feature Part 13 defines
    content = visa_content(
        mrz=mrv_mrz(line=line),
        passport_number="P1234567",
        entries=2,
        duration_of_stay=StayDuration(days=90),
        visa_type=b"\x01\x02",
        additional_features=b"\x00\xff" * 10,
    )
    # when it is sealed and read back
    read = through_a_seal(content)
    # then all of it comes back; the MRZ as the seal keeps it: line 1 and 28 of line 2
    assert read == content
    assert read.mrz_format is mrz_format
    assert read.lines == (mrv_mrz(line=line)[:line], mrv_mrz(line=line)[line : line + 28])
    assert read.valid_until == dt.date(2027, 6, 30)
    assert [(f.tag, len(f.value)) for f in content.features()] == [
        (tag, length), (0x03, 1), (0x04, 3), (0x05, 6), (0x06, 2), (0x07, 20),
    ]  # fmt: skip
    # the passport number is nine characters, "<" filled, in six bytes
    assert content.features()[3].value == c40_encode("P1234567 ")
    assert content.features()[2].value == bytes((90, 0, 0))


def test_a_visa_without_the_optional_features_survives_a_round_trip():
    content = visa_content(
        mrz=mrv_mrz(line=36),
        passport_number="U1",
        entries=0,
        duration_of_stay=StayDuration(days=1, months=2, years=3),
    )
    read = through_a_seal(content)
    assert read == content
    assert (read.visa_type, read.additional_features, read.entries) == (None, None, 0)


@pytest.mark.parametrize(
    "mrz",
    [
        etd_mrz()[:-1],  # 71 characters
        etd_mrz() + "<",
        etd_mrz().lower(),
        etd_mrz(expiry="271331"),  # month 13
        etd_mrz(expiry="27AB31"),
    ],
)
def test_an_etd_mrz_that_is_not_one_is_refused(mrz):
    with pytest.raises(SealError) as caught:
        etd_content(mrz=mrz)
    assert caught.value.code is SealErrorCode.BAD_CONTENT


@pytest.mark.parametrize(
    "change",
    [
        {"mrz": "V<TUR" * 5},
        {"passport_number": "P12345678X"},
        {"passport_number": ""},
        {"passport_number": "p1"},
        {"entries": 256},
        {"duration_of_stay": StayDuration(days=256)},
        {"visa_type": b""},
        {"visa_type": b"12345"},
        {"additional_features": bytes(255)},
    ],
    ids=str,
)
def test_visa_values_that_do_not_fit_are_refused(change):
    values = {
        "mrz": mrv_mrz(line=44),
        "passport_number": "P1234567",
        "entries": 1,
        "duration_of_stay": StayDuration(days=30),
    }
    with pytest.raises(SealError):
        visa_content(**(values | change))


def _sealed(profile, features) -> object:
    return seal_decode(seal_encode(header=header_for(profile), features=features, private_key=KEY))


ETD_MRZ = EmergencyTravelDocumentContent(mrz=etd_mrz().replace("\n", "")).features()[0]
VISA = visa_content(
    mrz=mrv_mrz(line=44), passport_number="P1", entries=1, duration_of_stay=StayDuration(days=9)
).features()


@pytest.mark.parametrize(
    ("profile", "features"),
    [
        pytest.param(ETD_PROFILE, [ETD_MRZ, ETD_MRZ], id="etd: the MRZ twice"),
        pytest.param(ETD_PROFILE, [ETD_MRZ, SealFeature(tag=3, value=b"x")], id="etd: extra tag"),
        pytest.param(ETD_PROFILE, [SealFeature(tag=2, value=ETD_MRZ.value[:-2])], id="etd: short"),
        pytest.param(VISA_PROFILE, VISA[1:], id="visa: no MRZ"),
        pytest.param(VISA_PROFILE, [*VISA, SealFeature(tag=2, value=bytes(44))], id="visa: A+B"),
        pytest.param(VISA_PROFILE, [f for f in VISA if f.tag != 5], id="visa: no passport"),
        pytest.param(VISA_PROFILE, [f for f in VISA if f.tag != 4], id="visa: no duration"),
        pytest.param(VISA_PROFILE, [*VISA, SealFeature(tag=8, value=b"")], id="visa: tag 8"),
        pytest.param(
            VISA_PROFILE,
            [*VISA[:2], SealFeature(tag=4, value=b"\x01\x02"), VISA[3]],
            id="visa: duration of two bytes",
        ),
        pytest.param(ETD_PROFILE, list(VISA), id="a visa's features under the ETD's header"),
    ],
)
def test_features_that_do_not_follow_the_profile_are_refused(profile, features):
    with pytest.raises(SealError) as caught:
        seal_content(seal=_sealed(profile, features))
    assert caught.value.code is SealErrorCode.BAD_CONTENT


def test_an_unknown_document_type_is_refused():
    header = SealHeader(**{**header_for(ETD_PROFILE).__dict__, "document_type_category": 0x05})
    seal = seal_decode(seal_encode(header=header, features=[ETD_MRZ], private_key=KEY))
    with pytest.raises(SealError) as caught:
        seal_content(seal=seal)
    assert caught.value.code is SealErrorCode.BAD_CONTENT


def test_display_rows_name_every_value():
    content = visa_content(
        mrz=mrv_mrz(line=36),
        passport_number="P1",
        entries=0,
        duration_of_stay=StayDuration(days=15, months=1),
        visa_type=b"\x0a",
    )
    rows = {str(label): value for label, value in content.display()}
    assert rows["Passport number"] == "P1"
    assert rows["Number of entries"] == "unlimited"
    assert rows["Duration of stay"] == "1 month, 15 days"
    assert rows["Visa type"] == "0A"
    assert rows["Valid until"] == "2027-06-30"
    assert isinstance(content, VisaContent)
