"""Down sets: per-mission data HQ writes and a mission node keeps a copy of (`sync.registry`;
docs/sync.md, "A mission on its own node").

With each push over HTTPS the node reports the hash of its copy of each set
(`down_hashes_local`, header `X-Consulate-Down-Hashes`); HQ builds each set for the mission,
and where its hash differs puts the set in its answer as a `down` frame signed by HQ's key
(`down_frames`); the node checks the signature and applies it (`down_apply`). A copy that
drifted at the node (edited by hand, restored from an old backup) is put right the same way.

Pushes inside HQ's database skip this (the mission's copy is HQ's own tables), and a file for
the bag never carries a down set: they hold password hashes and second-factor seeds.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.utils import timezone

from . import keys
from .bundle import FORMAT, SignedBundle, bundle_sign, canonical, sha256_hex
from .models import KeyPurpose
from .registry import down_sets

logger = logging.getLogger(__name__)

DOWN_HASHES_HEADER = "X-Consulate-Down-Hashes"
MAX_HEADER_BYTES = 4096


def _hash(content: dict[str, Any]) -> str:
    return sha256_hex(canonical(content))


def down_hashes_local(*, code: str) -> dict[str, str]:
    """At a node: the hash of its copy of each set, as HQ would build it from the same rows."""
    return {down_set.name: _hash(down_set.build(code)) for down_set in down_sets()}


def down_hashes_parse(text: str) -> dict[str, str] | None:
    """The header's value, or None if it is absent or unreadable (then HQ sends no set)."""
    if not text or len(text) > MAX_HEADER_BYTES:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return None
    return value


def down_frames(*, mission: str, reported: dict[str, str]) -> list[SignedBundle]:
    """At HQ (public schema): a signed frame for each set whose hash differs from `reported`."""
    frames = []
    key = keys.hq_key_ensure(KeyPurpose.SIGN)
    for down_set in down_sets():
        content = down_set.build(mission)
        digest = _hash(content)
        if reported.get(down_set.name) == digest:
            continue
        header = {
            "format": FORMAT,
            "kind": "down",
            "name": down_set.name,
            "mission": mission,
            "hash": digest,
            "created_at": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "key_id": key.key_id,
        }
        frames.append(bundle_sign({"header": header, "content": content}, keys.hq_key_private(key)))
    return frames


def down_apply(frame: SignedBundle, *, code: str) -> bool:
    """At a node: apply a `down` frame HQ signed for this mission; False (and nothing changed)
    for one that is tampered, signed by a key the mission does not trust, for another mission,
    or of a set this code does not know."""
    header = frame.header
    trusted = keys.trusted_key(purpose=KeyPurpose.SIGN, key_id=header.get("key_id"))
    if trusted is None or not frame.verify(bytes(trusted.public_key)):
        logger.warning("down set refused: not signed by HQ's key")
        return False
    sets = {down_set.name: down_set for down_set in down_sets()}
    down_set = sets.get(header.get("name", ""))
    content = frame.content.get("content")
    if (
        header.get("mission") != code
        or down_set is None
        or not isinstance(content, dict)
        or _hash(content) != header.get("hash")
    ):
        logger.warning("down set refused: %s for %s", header.get("name"), header.get("mission"))
        return False
    down_set.apply(code, content)
    return True
