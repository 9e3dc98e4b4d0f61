"""Master key, data-key wrapping and the blind-index key."""

from __future__ import annotations

import base64
import secrets

from Crypto.Cipher import AES
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12
TAG_BYTES = 16


def _decode_key(name: str) -> bytes:
    value = getattr(settings, name, "")
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be base64") from error
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name} must be 32 bytes, base64-encoded")
    return key


def master_key() -> bytes:
    return _decode_key("CONSULATE_MASTER_KEY")


def blind_index_key() -> bytes:
    return _decode_key("CONSULATE_BLIND_INDEX_KEY")


def _wrap_context(schema_name: str, key_id: int) -> bytes:
    return f"consulate-datakey|{schema_name}|{key_id}".encode()


def wrap(data_key: bytes, *, schema_name: str, key_id: int) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    cipher = AES.new(master_key(), AES.MODE_GCM, nonce=nonce)
    cipher.update(_wrap_context(schema_name, key_id))
    ciphertext, tag = cipher.encrypt_and_digest(data_key)
    return nonce + tag + ciphertext


def unwrap(wrapped: bytes, *, schema_name: str, key_id: int) -> bytes:
    nonce, tag, ciphertext = (
        wrapped[:NONCE_BYTES],
        wrapped[NONCE_BYTES : NONCE_BYTES + TAG_BYTES],
        wrapped[NONCE_BYTES + TAG_BYTES :],
    )
    cipher = AES.new(master_key(), AES.MODE_GCM, nonce=nonce)
    cipher.update(_wrap_context(schema_name, key_id))
    return cipher.decrypt_and_verify(ciphertext, tag)
