"""Field-level encryption with a mission's data key (AES-256-GCM).

Blob format, version 1 (33 bytes of header, then the ciphertext)::

    version (1) | key id (4, big-endian) | nonce (12) | tag (16) | ciphertext

The associated data binds the version, the key id, the mission schema and a context naming where
the value lives ("app_label.Model.field"), so a ciphertext copied to another field, another model
or another mission fails authentication instead of decrypting into the wrong place. The key id in
each blob is what lets reads carry on during a key rotation: every old key stays decryptable.

Key caching: unwrapped data keys are cached per process by (schema, key id), which is safe only
for keys that are committed, because key ids are numbered per schema and a rolled-back rotation
would hand its id to the next one. So a key row younger than SETTLED_AFTER that is loaded inside
a transaction is cached only when that transaction commits; an older one (committed long ago:
rotations are short) is cached at once. The active key id is cached for ACTIVE_KEY_TTL
seconds; another process may keep encrypting under the previous key for that long after a
rotation, which is harmless (the old key still decrypts) and is why `mission_reencrypt` can
be run again to sweep up.
"""

from __future__ import annotations

import datetime as dt
import secrets
import struct
import threading
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .keys import NONCE_BYTES, TAG_BYTES, gcm_open, gcm_seal, unwrap
from .models import DataKey

VERSION = 1
ACTIVE_KEY_TTL = 30.0
_PREFIX = struct.Struct(">BI")  # version, key id
HEADER_BYTES = _PREFIX.size + NONCE_BYTES + TAG_BYTES


class EncryptionError(Exception):
    """Encryption cannot run here: no schema, a mission's field on the public schema, or a
    schema without an active data key."""


class DecryptionError(Exception):
    """A blob that does not authenticate: tampered, truncated, copied from elsewhere, or its key
    cannot be unwrapped (wrong master key)."""


_lock = threading.Lock()
_data_keys: dict[tuple[str, int], bytes] = {}
_active_key_ids: dict[str, tuple[int, float]] = {}


def clear_key_cache(schema_name: str | None = None) -> None:
    """Forget cached keys (all, or one schema's). Needed after a rotation or a master-key change."""
    with _lock:
        if schema_name is None:
            _data_keys.clear()
            _active_key_ids.clear()
            return
        _active_key_ids.pop(schema_name, None)
        for cached in [cached for cached in _data_keys if cached[0] == schema_name]:
            del _data_keys[cached]


# A key row older than this was committed long ago (rotations are short transactions), so it
# can be cached at once; a younger one may belong to a rotation that still rolls back.
SETTLED_AFTER = dt.timedelta(minutes=5)


def _remember(created_at: dt.datetime, callback: Callable[[], None]) -> None:
    """Cache now if the key row is settled; else only if the current transaction commits.

    Without the first case every request transaction paid a query per encrypted value
    (keys read inside a transaction were never cached until it committed)."""
    if created_at < timezone.now() - SETTLED_AFTER:
        callback()
    else:
        # Outside a transaction Django runs the callback at once; inside, only if it commits.
        transaction.on_commit(callback)


def _check_schema(schema_name: str) -> None:
    # Which schema's key a value needs is the field's choice (`fields.EncryptedField`): a
    # mission's own, or the public schema's for the shared tables that live there (accounts).
    if not schema_name:
        raise EncryptionError("personal data is encrypted with a schema's key; no schema given")


def active_key_id(schema_name: str) -> int:
    return _active_key(schema_name)[0]


def _active_key(schema_name: str) -> tuple[int, bytes]:
    _check_schema(schema_name)
    cached = _active_key_ids.get(schema_name)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0], _data_key(schema_name, cached[0])
    # One query for both the id and the key: inside a transaction nothing is cached yet.
    row = (
        DataKey.objects.filter(schema_name=schema_name, is_active=True)
        .values_list("key_id", "wrapped_key", "created_at")
        .first()
    )
    if row is None:
        raise EncryptionError(f"schema {schema_name!r} has no active data key")
    key_id, wrapped, created_at = row
    key = _unwrap(schema_name, key_id, bytes(wrapped), created_at)
    expires = time.monotonic() + ACTIVE_KEY_TTL

    def remember() -> None:
        with _lock:
            _active_key_ids[schema_name] = (key_id, expires)

    _remember(created_at, remember)
    return key_id, key


def _data_key(schema_name: str, key_id: int) -> bytes:
    cached = _data_keys.get((schema_name, key_id))
    if cached is not None:
        return cached
    row = (
        DataKey.objects.filter(schema_name=schema_name, key_id=key_id)
        .values_list("wrapped_key", "created_at")
        .first()
    )
    if row is None:
        raise DecryptionError(f"schema {schema_name!r} has no data key {key_id}")
    return _unwrap(schema_name, key_id, bytes(row[0]), row[1])


def _unwrap(schema_name: str, key_id: int, wrapped: bytes, created_at: dt.datetime) -> bytes:
    try:
        key = unwrap(wrapped, schema_name=schema_name, key_id=key_id)
    except ValueError as error:
        raise DecryptionError(
            f"data key {key_id} of {schema_name!r} does not unwrap: wrong master key?"
        ) from error

    def remember() -> None:
        with _lock:
            _data_keys[(schema_name, key_id)] = key

    _remember(created_at, remember)
    return key


def _associated_data(prefix: bytes, schema_name: str, context: str) -> bytes:
    # Length-prefixed so that no schema/context pair can be re-split into another.
    schema, ctx = schema_name.encode(), context.encode()
    return b"consulate-field" + prefix + struct.pack(">H", len(schema)) + schema + ctx


def encrypt(plaintext: str, *, schema_name: str, context: str) -> bytes:
    """Encrypt `plaintext` under the mission's active data key, bound to `context`."""
    key_id, key = _active_key(schema_name)
    prefix = _PREFIX.pack(VERSION, key_id)
    nonce = secrets.token_bytes(NONCE_BYTES)
    tag, ciphertext = gcm_seal(
        key, nonce=nonce, plaintext=plaintext.encode(),
        associated=_associated_data(prefix, schema_name, context),
    )  # fmt: skip
    return prefix + nonce + tag + ciphertext


def key_id_of(blob: bytes) -> int:
    """The data key id a blob was written with (no decryption, no authentication)."""
    if len(blob) < HEADER_BYTES:
        raise DecryptionError("blob too short")
    version, key_id = _PREFIX.unpack_from(blob)
    if version != VERSION:
        raise DecryptionError(f"unknown blob version {version}")
    return int(key_id)


def decrypt(blob: bytes, *, schema_name: str, context: str) -> str:
    """Decrypt a blob written by `encrypt` for the same schema and context; raise
    DecryptionError otherwise."""
    _check_schema(schema_name)
    blob = bytes(blob)
    key_id = key_id_of(blob)
    prefix = blob[: _PREFIX.size]
    nonce = blob[_PREFIX.size : _PREFIX.size + NONCE_BYTES]
    tag = blob[_PREFIX.size + NONCE_BYTES : HEADER_BYTES]
    try:
        plaintext = gcm_open(
            _data_key(schema_name, key_id), nonce=nonce, tag=tag, ciphertext=blob[HEADER_BYTES:],
            associated=_associated_data(prefix, schema_name, context),
        )  # fmt: skip
    except ValueError as error:
        raise DecryptionError(
            f"ciphertext does not authenticate for {schema_name!r} / {context!r}"
        ) from error
    return plaintext.decode()
