"""The bundle: what travels between a mission and HQ, in both directions (docs/sync.md).

A bundle is a JSON object `{"header": {...}, ...}` serialised as canonical JSON (RFC 8785, the
`rfc8785` package: one byte sequence per value, so a signature over it means one thing) and
signed with Ed25519 (RFC 8032, pycryptodome). On the wire it is a frame::

    b"CSB1" | body length (4 bytes, big-endian) | body (canonical JSON) | signature (64 bytes)

The signature covers the body's exact bytes: a flipped byte anywhere in the body or the
signature fails verification. A bundle's hash is SHA-256 of the body (which names its key in
`header.key_id`), and the next bundle's `prev_hash` is that hash: bundles form a chain.

Headers by kind:

- `events` (mission to HQ): `mission` (code), `number` (1, 2, ... per mission), `first_seq`,
  `last_seq`, `event_count`, `prev_hash` (the previous bundle's hash, "" for number 1),
  `created_at` (UTC, ISO 8601), `key_id`; the body's `events` are outbox rows in `seq` order.
- `reference` (HQ to missions): `version`, `created_at`, `key_id`, `sets` (names); the body's
  `data` maps each reference set to its rows.
- `ack` (HQ's answer to a push): `mission`, `acked_seq`, `want` (ranges of seq to send again),
  `created_at`, `key_id`, and `refused` (a refusal code) when a bundle was refused.
- `digests` / `repair` (reconciliation; `sync.reconcile`).

A file carried by hand holds frames, optionally encrypted for HQ (X25519 + AES-256-GCM):
`file_pack` / `file_unpack`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import rfc8785
from Crypto.Hash import SHA256
from Crypto.Protocol.DH import (
    import_x25519_private_key,
    import_x25519_public_key,
    key_agreement,
)
from Crypto.Protocol.KDF import HKDF
from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from consulate.kernel.crypto.keys import gcm_open, gcm_seal

FORMAT = "consulate-sync/1"
MAGIC = b"CSB1"
FILE_MAGIC = b"CSF1"  # a plain file of frames
SEALED_MAGIC = b"CSE1"  # a file of frames encrypted for HQ
SIGNATURE_BYTES = 64
_LENGTH = struct.Struct(">I")
# a bundle of 10,000 events is about 3 MB; anything much bigger is refused before parsing
MAX_BODY_BYTES = 64 * 1024 * 1024
# frames in one file or pushed body: a push sends a few dozen; beyond this it is refused whole
MAX_FRAMES = 1000


class BundleError(Exception):
    """A frame or file that cannot be read: `code` is a `BundleRefusal` value."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


_SAFE_INTEGER = 2**53 - 1


def _plain(value: Any) -> bool:
    """True when `json.dumps(sort_keys, compact, ensure_ascii=False)` writes `value` exactly as
    RFC 8785 does: no float (ECMAScript's number format differs from Python's), integers within
    +-2^53-1 (RFC 8785 refuses others), keys without characters beyond U+FFFF (RFC 8785 sorts by
    UTF-16 code units, Python by code points; below U+10000 the two orders agree). Strings are
    escaped the same way by both (the short escapes, \\u00xx for other control characters)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if -_SAFE_INTEGER <= item <= _SAFE_INTEGER:
                continue
            return False
        if kind is dict:
            for key in item:
                if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
                    return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        else:
            return False
    return True


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON of `value` (dicts, lists, str, int, bool, None).

    Through the standard library's C encoder when that provably writes the same bytes
    (`_plain`), else through `rfc8785`, which is pure Python and about ten times slower (it was
    the slowest step of building and of checking a bundle of 10,000 events). Event payloads
    (identifiers, money in minor units, text) take the fast path; floats, huge integers and
    keys beyond U+FFFF take the slow one. tests/sync/test_bundle.py holds the two to the same
    bytes on generated values. Raises ValueError (or RecursionError) for what RFC 8785 cannot
    write: NaN, integers beyond 2^53, lone surrogates."""
    if _plain(value):
        try:
            return json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 says why
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SignedBundle:
    body: bytes
    signature: bytes

    @cached_property
    def content(self) -> dict[str, Any]:
        """The parsed body. Raises BundleError if it is not a JSON object with a header."""
        try:
            value = json.loads(self.body)
        except (ValueError, RecursionError) as error:
            raise BundleError("sync.bundle.malformed", f"body is not JSON: {error}") from error
        if not isinstance(value, dict) or not isinstance(value.get("header"), dict):
            raise BundleError("sync.bundle.malformed", "body has no header")
        return value

    @property
    def header(self) -> dict[str, Any]:
        return self.content["header"]  # type: ignore[no-any-return]

    @cached_property
    def hash(self) -> str:
        return sha256_hex(self.body)

    def to_bytes(self) -> bytes:
        return MAGIC + _LENGTH.pack(len(self.body)) + self.body + self.signature

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedBundle:
        bundle, rest = cls.read(data)
        if rest:
            raise BundleError("sync.bundle.malformed", "bytes after the frame")
        return bundle

    @classmethod
    def read(cls, data: bytes) -> tuple[SignedBundle, bytes]:
        """One frame from the front of `data`, and what follows it (a copy: to read many frames,
        `read_at`)."""
        bundle, end = cls.read_at(data, 0)
        return bundle, bytes(data[end:])

    @classmethod
    def read_at(cls, data: bytes | memoryview, offset: int) -> tuple[SignedBundle, int]:
        """The frame at `offset` of `data`, and the offset that follows it. Copies only the
        frame's own bytes, so reading n frames is linear in the data, not quadratic."""
        view = memoryview(data)
        if bytes(view[offset : offset + 4]) != MAGIC or len(view) - offset < 8:
            raise BundleError("sync.bundle.malformed", "not a bundle frame")
        (length,) = _LENGTH.unpack_from(view, offset + 4)
        if length > MAX_BODY_BYTES:
            raise BundleError("sync.bundle.too_large", f"body of {length} bytes")
        start = offset + 8
        end = start + length + SIGNATURE_BYTES
        if len(view) < end:
            raise BundleError("sync.bundle.malformed", "frame is truncated")
        body, signature = bytes(view[start : start + length]), bytes(view[start + length : end])
        return cls(body=body, signature=signature), end

    def verify(self, public_key: bytes) -> bool:
        """True if the signature is the holder of `public_key`'s over exactly this body."""
        return signature_verify(self.body, self.signature, public_key)


# --- Ed25519 --------------------------------------------------------------------------------


def signing_key_generate() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair: (private seed, 32 bytes; public key, 32 bytes)."""
    key = ECC.generate(curve="ed25519")
    return bytes(key.seed), key.public_key().export_key(format="raw")


def sign(body: bytes, private_seed: bytes) -> bytes:
    key = eddsa.import_private_key(private_seed)
    return bytes(eddsa.new(key, "rfc8032").sign(body))


def signature_verify(body: bytes, signature: bytes, public_key: bytes) -> bool:
    try:
        key = eddsa.import_public_key(bytes(public_key))
        eddsa.new(key, "rfc8032").verify(body, signature)
    except ValueError:
        return False
    return True


def bundle_sign(content: dict[str, Any], private_seed: bytes) -> SignedBundle:
    """Serialise `content` canonically and sign it."""
    body = canonical(content)
    return SignedBundle(body=body, signature=sign(body, private_seed))


# --- Files carried by hand -------------------------------------------------------------------


def agreement_key_generate() -> tuple[bytes, bytes]:
    """A new X25519 key pair: (private, 32 bytes; public, 32 bytes)."""
    key = ECC.generate(curve="X25519")
    return bytes(key.seed), key.public_key().export_key(format="raw")


def _shared_key(
    private: bytes, public: bytes, salt: bytes, context: bytes = b"consulate-sync-file"
) -> bytes:
    return bytes(
        key_agreement(
            static_priv=import_x25519_private_key(private),
            static_pub=import_x25519_public_key(public),
            kdf=lambda z: HKDF(z, 32, salt, SHA256, context=context),
        )
    )


_SEALED_VALUE_CONTEXT = b"consulate-sealed-value"


def value_seal(
    plain: bytes, *, recipient_key: bytes, recipient_key_id: int, bound_to: bytes
) -> dict[str, Any]:
    """`plain` encrypted for the holder of `recipient_key` (HQ's X25519 public key), bound to
    `bound_to` (authenticated, not stored: the opener must name the same), as JSON-ready hex."""
    ephemeral_private, ephemeral_public = agreement_key_generate()
    key = _shared_key(
        ephemeral_private, recipient_key, salt=ephemeral_public, context=_SEALED_VALUE_CONTEXT
    )
    nonce = secrets.token_bytes(12)
    associated = struct.pack(">I", recipient_key_id) + ephemeral_public + bound_to
    tag, ciphertext = gcm_seal(key, nonce=nonce, plaintext=plain, associated=associated)
    return {
        "key_id": recipient_key_id,
        "ephemeral": ephemeral_public.hex(),
        "nonce": nonce.hex(),
        "tag": tag.hex(),
        "ciphertext": ciphertext.hex(),
    }


def value_open(
    sealed: Any, *, private_key_for: Callable[[int], bytes | None], bound_to: bytes
) -> bytes:
    """The bytes `value_seal` sealed; BundleError for anything that does not open (wrong key,
    another binding, a changed byte, a value of the wrong shape)."""
    try:
        key_id = sealed["key_id"]
        ephemeral_public = bytes.fromhex(sealed["ephemeral"])
        nonce = bytes.fromhex(sealed["nonce"])
        tag = bytes.fromhex(sealed["tag"])
        ciphertext = bytes.fromhex(sealed["ciphertext"])
    except (KeyError, TypeError, ValueError) as error:
        raise BundleError("sync.bundle.malformed", "not a sealed value") from error
    if not isinstance(key_id, int) or isinstance(key_id, bool) or not 0 <= key_id < 2**31:
        raise BundleError("sync.bundle.malformed", "not a sealed value")
    private = private_key_for(key_id)
    if private is None:
        raise BundleError("sync.bundle.unknown_key", f"no HQ encryption key {key_id}")
    try:
        key = _shared_key(
            private, ephemeral_public, salt=ephemeral_public, context=_SEALED_VALUE_CONTEXT
        )
        return gcm_open(
            key,
            nonce=nonce,
            tag=tag,
            ciphertext=ciphertext,
            associated=struct.pack(">I", key_id) + ephemeral_public + bound_to,
        )
    except ValueError as error:
        raise BundleError("sync.bundle.bad_signature", "the value does not open") from error


_SEALED_HEADER = struct.Struct(">I32s12s16s")  # recipient key id, ephemeral public, nonce, tag


def file_pack(
    bundles: Iterable[SignedBundle],
    *,
    recipient_key: bytes | None = None,
    recipient_key_id: int = 0,
) -> bytes:
    """A file of frames; sealed for the holder of `recipient_key` (HQ's X25519 public key) if
    given. Sealing uses a fresh ephemeral key, so two files never share a key or nonce; the
    header (magic, key id, ephemeral key) is authenticated as associated data."""
    plain = FILE_MAGIC + b"".join(bundle.to_bytes() for bundle in bundles)
    if recipient_key is None:
        return plain
    ephemeral_private, ephemeral_public = agreement_key_generate()
    key = _shared_key(ephemeral_private, recipient_key, salt=ephemeral_public)
    nonce = secrets.token_bytes(12)
    associated = SEALED_MAGIC + struct.pack(">I", recipient_key_id) + ephemeral_public
    tag, ciphertext = gcm_seal(key, nonce=nonce, plaintext=plain, associated=associated)
    header = _SEALED_HEADER.pack(recipient_key_id, ephemeral_public, nonce, tag)
    return SEALED_MAGIC + header + ciphertext


def file_is_sealed(data: bytes) -> bool:
    return bytes(data[:4]) == SEALED_MAGIC


def file_unpack(
    data: bytes,
    *,
    private_key_for: Callable[[int], bytes | None] | None = None,
    max_frames: int | None = None,
) -> list[SignedBundle]:
    """The frames in a file. A sealed file needs `private_key_for(key_id)` (HQ's X25519 private
    key with that id, or None); a file that does not decrypt, or holds more than `max_frames`
    frames, is refused whole."""
    data = bytes(data)
    if data[:4] == SEALED_MAGIC:
        if private_key_for is None:
            raise BundleError("sync.bundle.malformed", "the file is encrypted")
        header_end = 4 + _SEALED_HEADER.size
        if len(data) < header_end:
            raise BundleError("sync.bundle.malformed", "encrypted file is truncated")
        key_id, ephemeral_public, nonce, tag = _SEALED_HEADER.unpack_from(data, 4)
        private = private_key_for(key_id)
        if private is None:
            raise BundleError("sync.bundle.unknown_key", f"no HQ encryption key {key_id}")
        try:
            key = _shared_key(private, ephemeral_public, salt=ephemeral_public)
        except ValueError as error:
            raise BundleError("sync.bundle.malformed", "bad ephemeral key") from error
        associated = SEALED_MAGIC + struct.pack(">I", key_id) + ephemeral_public
        try:
            data = gcm_open(
                key, nonce=nonce, tag=tag, ciphertext=data[header_end:], associated=associated
            )
        except ValueError as error:
            raise BundleError("sync.bundle.bad_signature", "the file does not decrypt") from error
    if data[:4] != FILE_MAGIC:
        raise BundleError("sync.bundle.malformed", "not a bundle file")
    return frames_read(data, 4, max_frames=max_frames)


def frames_read(
    data: bytes, offset: int = 0, *, max_frames: int | None = None
) -> list[SignedBundle]:
    """The frames from `offset` to the end of `data`, read by offset (linear in the data); more
    than `max_frames` of them refuses the whole (TOO_LARGE)."""
    bundles: list[SignedBundle] = []
    while offset < len(data):
        if max_frames is not None and len(bundles) >= max_frames:
            raise BundleError("sync.bundle.too_large", f"more than {max_frames} frames")
        bundle, offset = SignedBundle.read_at(data, offset)
        bundles.append(bundle)
    return bundles
