"""The seal's bytes: the published specimen seals read as Part 13 lays them out, our own round
trip, and every way a seal can be cut, padded, stretched or changed answering one SealError
(or, for a change the parser cannot see, a signature that no longer matches)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from consulate.kernel.seal import (
    SealError,
    SealErrorCode,
    SealFeature,
    SealHeader,
    c40_decode,
    c40_encode,
    date_decode,
    date_encode,
    seal_decode,
    seal_encode,
    seal_signature_verify,
)
from consulate.kernel.seal.vds import MAX_SEAL_BYTES

# Specimen seals from the tests of vdstools (BSI's reference library for TR-03137 and Part 13),
# signed by the fictitious "UTTS" and "DETS" signers of "Utopia".
SPECIMEN_ETD = bytes.fromhex(
    "DC03D9C5D9CAC8A73A990F71347D4E375E0302308A0D62B9D917A4CCA93CA4D0EDFC133C133C133C133C133C"
    "3FEF3A2938EE43F1593D1AE52DBB26751FE64B7C133C136BFF4022F8BD19ECCBA4EF24F204787796DD914FEC"
    "61F605B153B22A6EF307D3869938A4E7E908F0A63B8379880B395C7FDBAC720D7F2836D08E1DA62611614A0012"
    "0B"
)
SPECIMEN_VISA = bytes.fromhex(
    "DC03D9C56D32C8A72CB10F71347D00175D01022CDD52134A74DA1347C6FED95CB89F9FCE133C133C133C133C"
    "203833734AAF47F0C32F1A1E20EB2625393AFE310403A00000050633BE1FED20C6FF389FD029C66FB2E4BF36"
    "1CDBFFD8F5931B6259F645B077702C617F453D0B898A55E6E7870974FFE7B3AC416ACDE6B03B3C3A8CB5A22B"
    "456816"
)

KEY = ec.generate_private_key(ec.SECP256R1())
HEADER = SealHeader(
    country="TUR",
    signer_identifier="TRB1",
    certificate_reference="1A2B",
    issue_date=dt.date(2026, 12, 1),
    signature_date=dt.date(2026, 12, 2),
    feature_definition_reference=0x5E,
    document_type_category=0x03,
)
FEATURES = (SealFeature(tag=0x02, value=bytes(48)), SealFeature(tag=0x07, value=b"\xff" * 200))


@pytest.fixture(scope="module")
def sealed() -> bytes:
    return seal_encode(header=HEADER, features=FEATURES, private_key=KEY)


def test_the_specimen_emergency_travel_document_reads_as_part_13_lays_it_out():
    # given the specimen ETD seal
    # when it is decoded
    seal = seal_decode(SPECIMEN_ETD)
    # then its header, its one MRZ feature and its 64-byte signature are where Part 13 says
    assert seal.header == SealHeader(
        version=0x03,
        country="UTO",
        signer_identifier="UTTS",
        certificate_reference="5B",
        issue_date=dt.date(2020, 1, 1),
        signature_date=dt.date(2023, 8, 21),
        feature_definition_reference=0x5E,
        document_type_category=0x03,
    )
    assert [feature.tag for feature in seal.features] == [0x02]
    mrz = c40_decode(seal.features[0].value).replace(" ", "<")
    assert mrz == ("I<GBRSUPAMANN<<MARY<<<<<<<<<<<<<<<<<6525845096USA7008038M2201018<<<<<<06")
    assert len(seal.signature) == 64
    assert seal.signed == SPECIMEN_ETD[: -2 - 64]


def test_the_specimen_visa_reads_with_its_three_features():
    seal = seal_decode(SPECIMEN_VISA)
    assert seal.header.signer_identifier == "DETS"
    assert seal.header.certificate_reference == "32"
    assert (seal.header.feature_definition_reference, seal.header.document_type_category) == (
        0x5D,
        0x01,
    )
    assert [(feature.tag, len(feature.value)) for feature in seal.features] == [
        (0x02, 44),
        (0x04, 3),
        (0x05, 6),
    ]
    assert c40_decode(seal.feature(0x05).value) == "47110815P"
    assert len(seal.signature) == 56  # a 224-bit curve: decoded, though we sign with P-256


@pytest.mark.parametrize(
    ("date", "encoded"),
    [(dt.date(1979, 10, 9), "99fdcb"), (dt.date(2024, 9, 27), "8d7ad8"),
     (dt.date(9999, 12, 31), "bbfcff"), (dt.date(1, 1, 1), "0f6951")],
)  # fmt: skip
def test_dates_are_mmddyyyy_as_one_number_in_three_bytes(date, encoded):
    assert date_encode(date).hex() == encoded
    assert date_decode(bytes.fromhex(encoded)) == date


@pytest.mark.parametrize("encoded", ["000000", "ffffff", "232047", "234754"])
def test_dates_that_do_not_exist_are_refused(encoded):
    # 0, 16777215 (month 16), 02302023 (30 February), 02312020 (31 February)
    with pytest.raises(SealError) as caught:
        date_decode(bytes.fromhex(encoded))
    assert caught.value.code is SealErrorCode.BAD_DATE


def test_a_seal_survives_a_round_trip(sealed):
    # given a header and features, one of them long enough for a two-byte DER length
    # when they are sealed and the bytes decoded
    seal = seal_decode(sealed)
    # then the same header and features come back, with the signature over the rest
    assert seal.header == HEADER
    assert seal.features == FEATURES
    assert sealed[seal.signed.__len__() : seal.signed.__len__() + 2] == b"\xff\x40"
    assert seal_signature_verify(seal=seal, public_key=KEY.public_key())
    other = ec.generate_private_key(ec.SECP256R1())
    assert not seal_signature_verify(seal=seal, public_key=other.public_key())


def test_every_truncation_is_refused(sealed):
    for length in range(len(sealed)):
        with pytest.raises(SealError):
            seal_decode(sealed[:length])


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(lambda s: s + b"\x00", id="a byte after the signature"),
        pytest.param(lambda s: s + s, id="two seals"),
        pytest.param(lambda s: b"\x00" * len(s), id="NUL bytes"),
        pytest.param(lambda s: b"\xdc" * 10 * 1024 * 1024, id="10 MB"),
        pytest.param(lambda s: b"\xdc" * (MAX_SEAL_BYTES + 1), id="one byte too many"),
        pytest.param(lambda s: s[:1] + b"\x01" + s[2:], id="header version 2"),
        pytest.param(lambda s: s[:1] + b"\x04" + s[2:], id="header version 5"),
        pytest.param(lambda s: b"\xdd" + s[1:], id="not the magic constant"),
        pytest.param(lambda s: s[:-66] + b"\xff\x00", id="an empty signature"),
        pytest.param(lambda s: s[:-66] + b"\xff\x81\x40" + s[-64:], id="a non-DER length"),
        pytest.param(lambda s: s[:-66] + b"\xff\x80" + s[-64:], id="an indefinite length"),
        pytest.param(lambda s: s[:-66] + b"\xff\x83\x00\x00\x40" + s[-64:], id="3-byte length"),
        pytest.param(lambda s: s[:-66] + b"\xff\x41" + s[-64:], id="length past the end"),
        pytest.param(lambda s: s[:-66], id="no signature"),
        pytest.param(lambda s: "a string", id="not bytes"),
    ],
)
def test_malformed_input_answers_one_seal_error(sealed, data):
    with pytest.raises(SealError):
        seal_decode(data(sealed))


def test_a_seal_without_features_is_refused(sealed):
    # given the header (20 bytes here: magic, version, country 2, signer and reference 8,
    # dates 6, feature reference and category 2) followed directly by the signature
    with pytest.raises(SealError):
        seal_decode(sealed[:20] + sealed[-66:])
    with pytest.raises(SealError):
        seal_encode(header=HEADER, features=[], private_key=KEY)


# starts that get the parser past the magic, the version, the country and the signer
STARTS = [b"", b"\xdc", b"\xdc\x03", b"\xdc\x02", b"\xdc\x03\xd3\xb0", b"\xdc\x02\xd3\xb0"]
STARTS += [b"\xdc\x03\xd3\xb0" + c40_encode(signer) for signer in ("TRB101", "TRB102", "TRB1")]
STARTS += [b"\xdc\x03\xd3\xb0" + c40_encode("TRB1011") + date_encode(dt.date(2026, 1, 1)) * 2]


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(STARTS))
def test_any_bytes_decode_or_answer_a_seal_error(tail, start):
    # given any bytes, some starting like a seal
    # when they are decoded
    data = start + tail
    try:
        seal = seal_decode(data)
    except SealError:
        return
    # then what decodes is the signed part, the marker, and the signature, nothing else
    assert data.startswith(seal.signed + b"\xff")
    assert data.endswith(seal.signature)


@pytest.mark.parametrize(
    "change",
    [
        {"country": "TURK"},
        {"country": "T1"},
        {"signer_identifier": "TRB"},
        {"signer_identifier": "TR-1"},
        {"certificate_reference": ""},
        {"certificate_reference": "1" * 256},
        {"feature_definition_reference": 256},
        {"document_type_category": -1},
        {"version": 0x02},
    ],
    ids=str,
)
def test_a_header_that_cannot_be_written_is_refused(change):
    header = SealHeader(**{**HEADER.__dict__, **change})
    with pytest.raises(SealError):
        seal_encode(header=header, features=FEATURES, private_key=KEY)


def test_only_a_p256_key_signs():
    with pytest.raises(SealError) as caught:
        seal_encode(
            header=HEADER, features=FEATURES, private_key=ec.generate_private_key(ec.SECP384R1())
        )
    assert caught.value.code is SealErrorCode.BAD_KEY


def test_a_seal_too_large_for_a_data_matrix_is_refused():
    with pytest.raises(SealError) as caught:
        seal_encode(
            header=HEADER, features=[SealFeature(tag=1, value=bytes(1500))], private_key=KEY
        )
    assert caught.value.code is SealErrorCode.TOO_LARGE


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"\xdc\x03" + c40_encode("TU"), id="a two-letter country with its pad"),
        pytest.param(b"\xdc\x03" + c40_encode("T"), id="a one-letter country, unlatched"),
        pytest.param(b"\xdc\x03\xd3\xb0" + c40_encode("TRB1"), id="signer without length"),
        pytest.param(b"\xdc\x03\xd3\xb0" + c40_encode("TRB10"), id="half a length"),
        pytest.param(b"\xdc\x03\xd3\xb0" + c40_encode("TRB10G1"), id="a length not in hex"),
        pytest.param(b"\xdc\x02\xd3\xb0" + c40_encode("TRB1001"), id="version 3, short"),
    ],
)
def test_header_fields_shorter_than_their_place_are_refused(sealed, header):
    # given a header whose C40 parts decode to fewer characters than the field holds
    data = header + date_encode(dt.date(2026, 1, 1)) * 2 + b"\x5e\x03" + sealed[20:]
    with pytest.raises(SealError):
        seal_decode(data)
