"""Keyed blind index: exact-match lookups over encrypted values without decrypting.

HMAC-SHA256 under a key derived from CONSULATE_BLIND_INDEX_KEY (never the data key) for each
(schema, purpose), so equal values give different indexes in different missions and for different
purposes: an index column copied elsewhere, or compared across missions, tells nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from .keys import blind_index_key

INDEX_LENGTH = 64  # hex of SHA-256
_DROPPED = frozenset("-‐‑‒–—−")  # ASCII and Unicode hyphens and dashes


def normalise(value: str) -> str:
    """Upper-case, without spaces or hyphens: "u 123-456" and "U123456" are the same number."""
    folded = unicodedata.normalize("NFKC", value).upper()
    return "".join(char for char in folded if not char.isspace() and char not in _DROPPED)


def _derived_key(schema_name: str, purpose: str) -> bytes:
    label = f"consulate-blind-index|{len(schema_name)}|{schema_name}|{purpose}".encode()
    return hmac.new(blind_index_key(), label, hashlib.sha256).digest()


def blind_index(value: str, *, schema_name: str, purpose: str) -> str:
    if not schema_name or not purpose:
        raise ValueError("a blind index needs a schema and a purpose")
    key = _derived_key(schema_name, purpose)
    return hmac.new(key, normalise(value).encode(), hashlib.sha256).hexdigest()
