"""The visible digital seal's bytes after ICAO Doc 9303 Part 13: header, message zone, signature.

    header     0xDC  magic constant
               0x03  header version (0x03 is "version 4", variable certificate reference;
                     0x02, "version 3", a fixed five-character one, is read but not written)
               2 B   issuing country, C40 (three characters, "D<<" style codes padded)
               C40   signer identifier (4) + certificate reference length (2 hex digits)
                     + certificate reference (that many characters); version 3: 4 + 5
               3 B   document issue date       } MMDDYYYY as one decimal number,
               3 B   signature creation date   } three bytes, most significant first
               1 B   document feature definition reference
               1 B   document type category
    message    tag (1 B, not 0xFF), DER length, value; one or more
    signature  0xFF, DER length, r||s (for ECDSA P-256, 64 bytes)

The signature covers the header and the message zone as they stand in the bytes. Lengths
must be DER's shortest form, so one seal has one encoding: a changed byte cannot leave the
signed data the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from django.utils.translation import gettext_lazy as _

from consulate.kernel.seal.c40 import c40_decode, c40_encode, c40_length
from consulate.kernel.seal.errors import SealError, SealErrorCode

MAGIC = 0xDC
VERSION_3 = 0x02
VERSION_4 = 0x03
SIGNATURE_TAG = 0xFF
# The largest Data Matrix (144×144) holds 1,556 bytes; nothing longer can be a printed seal,
# and refusing it first keeps a 10 MB upload from being parsed at all.
MAX_SEAL_BYTES = 1556
P256_SIGNATURE_BYTES = 64
_COORDINATE_BYTES = 32


@dataclass(frozen=True, kw_only=True)
class SealHeader:
    country: str  # issuing state, Doc 9303-3 code ("TUR", "D"), without "<" fillers
    signer_identifier: str  # four characters: ISO 3166-1 alpha-2 + two of the signer's
    certificate_reference: str  # the signer certificate's serial number in hex
    issue_date: dt.date
    signature_date: dt.date
    feature_definition_reference: int
    document_type_category: int
    version: int = VERSION_4  # the raw byte: 0x03 is Part 13's "version 4"


@dataclass(frozen=True, kw_only=True)
class SealFeature:
    tag: int
    value: bytes


@dataclass(frozen=True, kw_only=True)
class Seal:
    header: SealHeader
    features: tuple[SealFeature, ...]
    signed: bytes  # header and message zone, the bytes the signature covers
    signature: bytes  # r||s

    def feature(self, tag: int) -> SealFeature | None:
        return next((feature for feature in self.features if feature.tag == tag), None)


def seal_encode(*, header: SealHeader, features: Sequence[SealFeature], private_key: Any) -> bytes:
    """The seal's bytes: `header` and `features` signed with `private_key` (ECDSA P-256,
    SHA-256). `SealError` when a value cannot be written or the result would not fit a
    Data Matrix."""
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise SealError(SealErrorCode.BAD_KEY, _("A seal is signed with an ECDSA P-256 key."))
    signed = _header_bytes(header) + _message_bytes(features)
    r, s = decode_dss_signature(private_key.sign(signed, ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
    data = signed + bytes((SIGNATURE_TAG,)) + der_length(len(signature)) + signature
    if len(data) > MAX_SEAL_BYTES:
        raise _too_large()
    return data


def seal_decode(data: bytes) -> Seal:
    """The seal in `data`; `SealError` (and nothing else) for anything that is not exactly one
    well-formed seal: wrong magic or version, truncation, bad lengths, bytes after the
    signature, invalid text or dates."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _malformed()
    data = bytes(data)
    if len(data) > MAX_SEAL_BYTES:
        raise _too_large()
    reader = _Reader(data)
    if reader.byte() != MAGIC:
        raise SealError(SealErrorCode.NOT_A_SEAL, _("This is not a visible digital seal."))
    header = _header_read(reader)
    features: list[SealFeature] = []
    while True:
        tag = reader.byte()
        length = reader.der_length()
        if tag == SIGNATURE_TAG:
            signed = data[: reader.position - 1 - len(der_length(length))]
            signature = reader.take(length)
            break
        features.append(SealFeature(tag=tag, value=reader.take(length)))
    if not features or not signature or reader.position != len(data):
        raise _malformed()
    return Seal(header=header, features=tuple(features), signed=signed, signature=signature)


def seal_signature_verify(*, seal: Seal, public_key: Any) -> bool:
    """Whether `seal`'s signature is `public_key`'s (ECDSA P-256, SHA-256) over its data."""
    if (
        not isinstance(public_key, ec.EllipticCurvePublicKey)
        or not isinstance(public_key.curve, ec.SECP256R1)
        or len(seal.signature) != P256_SIGNATURE_BYTES
    ):
        return False
    r = int.from_bytes(seal.signature[:_COORDINATE_BYTES], "big")
    s = int.from_bytes(seal.signature[_COORDINATE_BYTES:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), seal.signed, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def date_encode(value: dt.date) -> bytes:
    """Part 13's three-byte date: MMDDYYYY read as one decimal number."""
    return int(f"{value.month:02d}{value.day:02d}{value.year:04d}").to_bytes(3, "big")


def date_decode(data: bytes) -> dt.date:
    number = int.from_bytes(data, "big")
    month, rest = divmod(number, 1_000_000)
    day, year = divmod(rest, 10_000)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise SealError(
            SealErrorCode.BAD_DATE, _("The seal holds a date that does not exist.")
        ) from None


def der_length(length: int) -> bytes:
    """A DER length in its shortest form (up to 65,535, more than any seal holds)."""
    if length < 0x80:
        return bytes((length,))
    if length <= 0xFF:
        return bytes((0x81, length))
    if length <= 0xFFFF:
        return bytes((0x82,)) + length.to_bytes(2, "big")
    raise _too_large()


def _header_bytes(header: SealHeader) -> bytes:
    if header.version != VERSION_4:
        raise SealError(
            SealErrorCode.UNSUPPORTED_VERSION, _("Seals are written in header version 4 only.")
        )
    reference = header.certificate_reference
    if not (
        1 <= len(header.country) <= 3
        and header.country.isalpha()
        and len(header.signer_identifier) == 4
        and header.signer_identifier.isalnum()
        and 1 <= len(reference) <= 0xFF
        and reference.isalnum()
    ):
        raise _unencodable()
    signer = f"{header.signer_identifier}{len(reference):02X}{reference}"
    dates = date_encode(header.issue_date) + date_encode(header.signature_date)
    if not (
        0 <= header.feature_definition_reference <= 0xFF
        and 0 <= header.document_type_category <= 0xFF
    ):
        raise _unencodable()
    return (
        bytes((MAGIC, header.version))
        + c40_encode(header.country.ljust(3))
        + c40_encode(signer)
        + dates
        + bytes((header.feature_definition_reference, header.document_type_category))
    )


def _message_bytes(features: Sequence[SealFeature]) -> bytes:
    if not features:
        raise _unencodable()
    out = bytearray()
    for feature in features:
        if not 0 <= feature.tag < SIGNATURE_TAG:
            raise _unencodable()
        out += bytes((feature.tag,)) + der_length(len(feature.value)) + feature.value
    return bytes(out)


def _header_read(reader: _Reader) -> SealHeader:
    version = reader.byte()
    if version not in (VERSION_3, VERSION_4):
        raise SealError(
            SealErrorCode.UNSUPPORTED_VERSION,
            _("This seal's header version is not one this system reads."),
        )
    # two bytes could also hold one or two characters (a shorter tail); the header's fields
    # are always whole triples, so anything else is not a header this system wrote or reads
    country = c40_decode(reader.take(2))
    if len(country) != 3 or not country.rstrip(" ").isalpha():
        raise _malformed()  # a code is letters, its "<" fillers (spaces) only at the end
    if version == VERSION_4:
        start = c40_decode(reader.take(4))
        signer, length_hex = start[:4], start[4:]
        if len(start) != 6 or any(char not in "0123456789ABCDEF" for char in length_hex):
            raise _malformed()
        length = int(length_hex, 16)
        reference = c40_decode(reader.take(c40_length(length)))
        if len(reference) != length:
            raise _malformed()
    else:
        signer_and_reference = c40_decode(reader.take(6))
        signer, reference = signer_and_reference[:4], signer_and_reference[4:]
        if len(signer_and_reference) != 9:
            raise _malformed()
    if not (signer.isalnum() and reference.isalnum()):
        raise _malformed()
    issue_date = date_decode(reader.take(3))
    signature_date = date_decode(reader.take(3))
    return SealHeader(
        version=version,
        country=country.rstrip(" "),
        signer_identifier=signer,
        certificate_reference=reference,
        issue_date=issue_date,
        signature_date=signature_date,
        feature_definition_reference=reader.byte(),
        document_type_category=reader.byte(),
    )


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def take(self, count: int) -> bytes:
        if self.position + count > len(self.data):
            raise _malformed()
        chunk = self.data[self.position : self.position + count]
        self.position += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def der_length(self) -> int:
        first = self.byte()
        if first < 0x80:
            return first
        if first == 0x81:
            length = self.byte()
            shortest = 0x80
        elif first == 0x82:
            length = int.from_bytes(self.take(2), "big")
            shortest = 0x100
        else:
            raise _malformed()
        if length < shortest:
            raise _malformed()  # not DER's shortest form
        return length


def _malformed() -> SealError:
    return SealError(
        SealErrorCode.MALFORMED,
        _("The seal is damaged or incomplete: its parts do not add up."),
    )


def _too_large() -> SealError:
    return SealError(SealErrorCode.TOO_LARGE, _("This is far too long to be a seal."))


def _unencodable() -> SealError:
    return SealError(
        SealErrorCode.UNENCODABLE, _("These values cannot be written in a seal's header.")
    )
