"""Down sets: per-mission data HQ writes and a mission node keeps a copy of (`sync.registry`;
docs/sync.md, "A mission on its own node").

With each push over HTTPS the node reports the hash of its copy of each set
(`down_hashes_local`, header `X-Consulate-Down-Hashes`); HQ builds each set for the mission,
and where its hash differs puts the set in its answer as a `down` frame signed by HQ's key
(`down_frames`); the node checks the signature and applies it (`down_apply`). A copy that
drifted at the node (edited by hand, restored from an old backup) is put right the same way.

Pushes inside HQ's database skip this (the mission's copy is HQ's own tables), and a file for
the bag never carries a down set: they hold password hashes and second-factor seeds.

A down set goes only to a mission that (a) HQ's own row says runs on a node (`node_url` set
at HQ) and (b) proved it holds its key just now: the node puts a `hello` frame, signed at
the push, first in every push over HTTPS (`hello_sign`); HQ accepts it (`hello_handle`) only
if its `created_at` is within `SYNC_HELLO_MAX_AGE_SECONDS` of HQ's clock and newer than the
last hello it accepted from the mission. An old authentic frame replayed (a sealed file from
a lost USB stick) therefore brings no set (`down_frames_for`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_tenant_model

from . import keys
from .bundle import FORMAT, SignedBundle, bundle_sign, canonical, sha256_hex
from .models import KeyPurpose
from .registry import down_sets

logger = logging.getLogger(__name__)

DOWN_HASHES_HEADER = "X-Consulate-Down-Hashes"
MAX_HEADER_BYTES = 4096
HELLO_KIND = "hello"
HELLO_MAX_AGE_SECONDS = 600  # default of settings.SYNC_HELLO_MAX_AGE_SECONDS
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the wire's (sync.export.TIME_FORMAT)


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
            "created_at": timezone.now().strftime(TIME_FORMAT),
            "key_id": key.key_id,
        }
        frames.append(bundle_sign({"header": header, "content": content}, keys.hq_key_private(key)))
    return frames


def node_url_of(code: str) -> str:
    """The address of the node serving the mission `code`, as this database's row of it says
    (read through the tenant model: sync never imports missions); "" when it is served here.
    At HQ a moved mission's row names its node; at the node itself the row's is empty."""
    value = get_tenant_model().objects.filter(code=code).values_list("node_url", flat=True).first()
    return str(value or "")


# --- The node's proof that it holds its key now -----------------------------------------------


def hello_sign(*, code: str) -> SignedBundle:
    """At a node, at each push: a `hello` frame signed now with the mission's active key."""
    active = keys.signing_key_active(code=code)
    header = {
        "format": FORMAT,
        "kind": HELLO_KIND,
        "mission": code,
        "created_at": timezone.now().astimezone(UTC).strftime(TIME_FORMAT),
        "key_id": active.key_id,
    }
    return bundle_sign({"header": header}, active.private_seed)


def _hello_max_age() -> timedelta:
    return timedelta(
        seconds=int(getattr(settings, "SYNC_HELLO_MAX_AGE_SECONDS", HELLO_MAX_AGE_SECONDS))
    )


def hello_handle(frame: SignedBundle, mission_key: Any) -> dict[str, Any]:
    """At HQ (`sync.hq.apply` calls it after the mission, key and signature checks): accept the
    hello if its `created_at` is within `SYNC_HELLO_MAX_AGE_SECONDS` of HQ's clock and newer
    than the last hello accepted from the mission (`MissionLink.last_hello_at`). One that is
    not (a replay, a node whose clock is off) is no refusal: the push's events are applied as
    ever; only no down set is sent (`down_frames_for`)."""
    from .hq.models import MissionLink

    mission = mission_key.mission
    result: dict[str, Any] = {"mission": mission, "kind": HELLO_KIND, "refused": None,
                              "hello_accepted": False}  # fmt: skip
    try:  # the wire's UTC time (apply checked its pattern)
        text = str(frame.header.get("created_at"))
        created = datetime.strptime(text.removesuffix("Z") + "+0000", "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        result["detail"] = "hello: created_at unreadable"
        return result
    now = timezone.now()
    with transaction.atomic():
        link = MissionLink.objects.select_for_update().filter(mission=mission).first()
        result["acked_seq"] = link.last_seq if link else 0
        if abs(now - created) > _hello_max_age():
            result["detail"] = f"hello: created_at {created:%Y-%m-%d %H:%M:%S} is off HQ's clock"
        elif link is None:
            result["detail"] = "hello: HQ has no link with the mission yet"
        elif link.last_hello_at is not None and created <= link.last_hello_at:
            result["detail"] = "hello: not newer than the last one (a replay)"
        else:
            link.last_hello_at = created
            link.save(update_fields=["last_hello_at"])
            result["hello_accepted"] = True
            result["detail"] = "hello"
    if not result["hello_accepted"]:
        logger.warning("%s: %s", mission, result["detail"])
    return result


def hello_handler_register() -> None:
    """Let HQ's apply receive `hello` frames; call from `SyncHqConfig.ready()`."""
    from .hq import apply

    apply.kind_handler_register(HELLO_KIND, hello_handle)


def down_frames_for(
    results: list[dict[str, Any]], reported: dict[str, str] | None
) -> list[SignedBundle]:
    """At HQ, for the answer to a push over HTTPS (`reported`: the node's hashes; None: no
    set): the down frames of each mission whose fresh hello HQ accepted in this push
    (`hello_handle`) and whose row at HQ names a node. An authentic frame replayed, a
    duplicate, or a push without a fresh hello brings none."""
    if reported is None:
        return []
    missions = sorted(
        {
            str(result["mission"])
            for result in results
            if result.get("kind") == HELLO_KIND
            and result.get("hello_accepted") is True
            and not result.get("refused")
            and result.get("mission")
        }
    )
    frames: list[SignedBundle] = []
    for mission in missions:
        if node_url_of(mission):
            frames += down_frames(mission=mission, reported=reported)
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
