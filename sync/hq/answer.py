"""HQ's answer to a push or a file: a signed acknowledgement per mission, and reference data.

An `ack` frame (signed by HQ's `sign` key, checked by the mission against its `TrustedKey`)::

    {"header": {"format", "kind": "ack", "mission", "acked_seq", "want": [[first, last], ...],
                "reference_version", "created_at", "key_id"},
     "refused": [{"reason", "detail"}, ...],
     "results": [{"applied", "held", "duplicate", "refused", "detail"}, ...]}

`acked_seq` is HQ's high-water mark for the mission (every event up to it is applied); `want`
the ranges HQ asks for again (a gap, a reconciliation difference). The mission moves its own
mark only forward, so a replayed old ack changes nothing.

Run in the public schema. The apply logic is `sync.hq.apply` (imported where it is used).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError

from .. import bundle, keys
from ..bundle import FORMAT, SignedBundle
from ..down import down_frames_for
from ..error_codes import SyncError
from ..models import KeyPurpose
from ..reference import reference_latest_after
from .models import HeldBundle, MissionLink, ReferenceVersion
from .reconcile import answer_frames


def _time_text() -> str:
    from ..export import time_text

    return time_text(timezone.now())


def _result_public(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "applied": int(result.get("applied") or 0),
        "held": bool(result.get("held")),
        "duplicate": not result.get("refused")
        and not result.get("held")
        and not result.get("applied"),
        "refused": result.get("refused"),
        "detail": str(result.get("detail") or "")[:500],
    }


def ack_sign(
    *, mission: str, results: list[dict[str, Any]], reference_version: int
) -> SignedBundle:
    """The signed `ack` for one mission, from HQ's state after `results` were applied."""
    mine = [result for result in results if result.get("mission") == mission]
    link = MissionLink.objects.filter(mission=mission).first()
    acked = link.last_seq if link else 0
    want: list[list[int]] = []
    for result in mine:
        acked = max(acked, int(result.get("acked_seq") or 0))
        want = [list(r) for r in result.get("want") or []]  # the latest state of HQ's wants
    if not mine:  # an answer on its own (a file for the bag): the gap before a held bundle
        held = HeldBundle.objects.filter(mission=mission).order_by("number").first()
        if held is not None and held.first_seq > acked + 1:
            want = [[acked + 1, held.first_seq - 1]]
    key = keys.hq_key_ensure(KeyPurpose.SIGN)
    content = {
        "header": {
            "format": FORMAT,
            "kind": "ack",
            "mission": mission,
            "acked_seq": acked,
            "want": want,
            "reference_version": reference_version,
            "created_at": _time_text(),
            "key_id": key.key_id,
        },
        "refused": [
            {"reason": result["refused"], "detail": str(result.get("detail") or "")[:500]}
            for result in mine
            if result.get("refused")
        ],
        "results": [_result_public(result) for result in mine],
    }
    return bundle.bundle_sign(content, keys.hq_key_private(key))


def answer_build(results: list[dict[str, Any]], *, mission: str, reference_version: int) -> bytes:
    """A plain file for `mission` (and any other mission named in `results`): one signed ack
    each, then the latest reference data if newer than `reference_version`."""
    missions = [mission] if mission else []
    for result in results:
        code = result.get("mission")
        if code and code not in missions:
            missions.append(code)
    frames = [
        ack_sign(mission=code, results=results, reference_version=reference_version)
        for code in missions
    ]
    frames += answer_frames(results)  # HQ's signed answers to digests and repair frames
    latest = reference_latest_after(reference_version)
    if latest is not None:
        frames.append(latest)
    return bundle.file_pack(frames)


def push_answer(
    body: bytes,
    *,
    reference_version: int,
    source: str = "http",
    down_hashes: dict[str, str] | None = None,
) -> bytes:
    """What HQ does with a push: apply the frames (`sync.hq.apply.frames_receive`), then answer
    (`answer_build`). A body in which no frame names a mission cannot be answered (nobody to
    sign an ack for): ApplicationError FILE_INVALID, with the refusals in `details`.

    The mission's own claim of its reference version is recorded only for a mission one of
    whose frames was accepted (signed by its key), and never beyond HQ's newest version."""
    from .apply import frames_receive

    results = frames_receive(body, source=source)
    missions = [r["mission"] for r in results if r.get("mission")]
    if not missions:
        raise ApplicationError(
            SyncError.FILE_INVALID,
            _("No bundle in this request could be read."),
            details={
                "refused": [
                    {"reason": r.get("refused"), "detail": str(r.get("detail") or "")[:500]}
                    for r in results
                ]
            },
        )
    trusted = {r["mission"] for r in results if r.get("mission") and not r.get("refused")}
    # the header is the sender's word: never beyond the newest version HQ published (a claim of
    # 2**31-1 would otherwise stop every later version from being offered)
    newest = ReferenceVersion.objects.aggregate(newest=Max("version"))["newest"] or 0
    acked = min(reference_version, newest)
    if trusted and acked > 0:
        with transaction.atomic():
            MissionLink.objects.filter(
                mission__in=trusted, reference_version_acked__lt=acked
            ).update(reference_version_acked=acked)
    answer = answer_build(results, mission=missions[0], reference_version=reference_version)
    if down_hashes is None or not trusted:
        return answer
    # a node's push over HTTPS: the down sets whose copy there differs (`sync.down`), for the
    # mission whose own key signed a frame of this push
    down = down_frames_for(results, down_hashes)
    return bundle.file_pack([*bundle.file_unpack(answer), *down]) if down else answer
