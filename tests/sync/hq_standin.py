"""A minimal stand-in for `sync.hq.apply` (written by another branch), for the transport tests
only: installed by `hq_apply_installed()` when the real module is missing, so these tests run
against the real one once both branches are merged. It follows the spec's contract (verify,
chain, hold a gap and want it, duplicates change nothing) in as few lines as possible; it is
not HQ's apply and is never imported by the application."""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sync import keys
from sync.bundle import BundleError, SignedBundle, file_unpack
from sync.hq.models import CentralEvent, HeldBundle, MissionKey, MissionLink, RefusedBundle


def _result(mission: str = "", *, acked: int = 0, want=None, refused=None, detail="", held=False,
            applied=0) -> dict[str, Any]:  # fmt: skip
    return {"mission": mission, "acked_seq": acked, "want": want or [], "refused": refused,
            "detail": detail, "held": held, "applied": applied}  # fmt: skip


def _refuse(bundle: SignedBundle | None, mission: str, reason: str, detail: str, source: str):
    body = bundle.to_bytes() if bundle else b""
    with transaction.atomic():
        RefusedBundle.objects.create(
            received_at=timezone.now(), mission=mission[:30], reason=reason, detail=detail[:500],
            sha256=bundle.hash if bundle else "", size=len(body), source=source,
        )  # fmt: skip
    link = MissionLink.objects.filter(mission=mission).first()
    return _result(mission, acked=link.last_seq if link else 0, refused=reason, detail=detail)


def _apply(link: MissionLink, bundle: SignedBundle) -> int:
    header, now = bundle.header, timezone.now()
    rows = [
        CentralEvent(
            mission=link.mission,
            seq=e["seq"],
            topic=e["topic"],
            aggregate_type=e["aggregate_type"],
            aggregate_id=e["aggregate_id"],
            payload=e["payload"],
            version=e["version"],
            actor_id=e["actor_id"],
            occurred_at=parse_datetime(e["occurred_at"]),
            bundle_number=header["number"],
            applied_at=now,
        )
        for e in bundle.content["events"]
    ]
    CentralEvent.objects.bulk_create(rows, ignore_conflicts=True)
    link.last_bundle_number, link.last_bundle_hash = header["number"], bundle.hash
    link.last_seq = header["last_seq"]
    return len(rows)


def bundle_receive(bundle: SignedBundle, *, source: str = "http") -> dict[str, Any]:
    try:
        header = bundle.header
        mission, key_id, number = str(header["mission"]), int(header["key_id"]), header["number"]
    except (BundleError, KeyError, TypeError, ValueError) as error:
        return _refuse(bundle, "", "sync.bundle.malformed", str(error), source)
    key = MissionKey.objects.filter(mission=mission, key_id=key_id).first()
    if key is None:
        return _refuse(bundle, mission, "sync.bundle.unknown_key", f"key {key_id}", source)
    if key.revoked_at is not None:
        return _refuse(bundle, mission, "sync.bundle.revoked_key", f"key {key_id}", source)
    if not bundle.verify(bytes(key.public_key)):
        return _refuse(bundle, mission, "sync.bundle.bad_signature", "signature", source)
    with transaction.atomic():
        link, _ = MissionLink.objects.select_for_update().get_or_create(mission=mission)
        link.last_contact_at = timezone.now()
        applied, held = 0, False
        if number == link.last_bundle_number + 1:
            if header["prev_hash"] != link.last_bundle_hash:
                link.save()
                return _refuse(bundle, mission, "sync.bundle.chain_broken", "prev_hash", source)
            applied = _apply(link, bundle)
            for waiting in HeldBundle.objects.filter(mission=mission).order_by("number"):
                if waiting.number != link.last_bundle_number + 1:
                    break
                applied += _apply(link, SignedBundle.from_bytes(bytes(waiting.data)))
                waiting.delete()
        elif number > link.last_bundle_number + 1:
            held = True
            HeldBundle.objects.get_or_create(
                mission=mission, number=number,
                defaults={"first_seq": header["first_seq"], "last_seq": header["last_seq"],
                          "data": bundle.to_bytes(), "received_at": timezone.now()},
            )  # fmt: skip
        link.save()
        first_held = HeldBundle.objects.filter(mission=mission).order_by("number").first()
        want = [[link.last_seq + 1, first_held.first_seq - 1]] if first_held else []
    return _result(mission, acked=link.last_seq, want=want, held=held, applied=applied)


def frames_receive(data: bytes, *, source: str) -> list[dict[str, Any]]:
    try:
        frames = file_unpack(data, private_key_for=keys.hq_encryption_private_key)
    except BundleError as error:
        return [_refuse(None, "", error.code, error.detail, source)]
    return [bundle_receive(frame, source=source) for frame in frames]


def hq_apply_installed() -> bool:
    """Install this stand-in as `sync.hq.apply` unless the real one exists; True if it did."""
    try:
        importlib.import_module("sync.hq.apply")
        return False
    except ImportError:
        module = types.ModuleType("sync.hq.apply")
        module.frames_receive = frames_receive  # type: ignore[attr-defined]
        module.bundle_receive = bundle_receive  # type: ignore[attr-defined]
        sys.modules["sync.hq.apply"] = module
        return True
