"""Reconciliation, HQ's side (the mission's side and the exchange: `sync.reconcile`).

Two handlers for HQ's apply (`sync.hq.apply.kind_handler_register`), each called after the
frame's signature has been checked against the mission's key, `fn(bundle, mission_key) -> dict`:

- `digests_handle`: HQ's per-day digests of the mission's central events up to the frame's
  `upto_seq` (never beyond HQ's own acknowledged mark), compared with the mission's; answers the
  days that differ and records `MissionLink.last_reconciled_at` / `reconcile_differences`.
- `repair_handle`: inserts the events HQ lacks (`ON CONFLICT (mission, seq) DO NOTHING`) and
  hands only those to the projectors; an event HQ holds with other content is a conflict: HQ's
  row stays, the mission's version is logged (`RefusedBundle`, reason `sync.bundle.conflict`,
  and the `sync.reconcile` logger), and the day keeps differing until a person decides.

A malformed frame raises `BundleError`, which apply logs and answers as a refusal. Each handler
returns, under "answer", a frame signed by HQ's `sign` key that the transport's answer carries
back to the mission (`answer_frames`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from sync import registry
from sync.bundle import FORMAT, BundleError, SignedBundle, bundle_sign
from sync.error_codes import BundleRefusal
from sync.keys import hq_key_ensure, hq_key_private
from sync.models import KeyPurpose
from sync.reconcile import (
    DayDigest,
    content_hashes,
    day_digests,
    digests_differ,
    held_encode,
    wire_time,
)

from .models import MissionKey, MissionLink, RefusedBundle

logger = logging.getLogger("sync.reconcile")

# A digests frame lists at most this many days (about 270 years).
MAX_DAYS = 100_000
# A digests answer lists the events HQ holds on differing days, up to this many in all (16 hex
# digits each: 4 MB), so that the mission re-sends only what is missing; of further days it
# sends every event.
HELD_MAX = 250_000
DAY_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HASH_PATTERN = re.compile(r"^([0-9a-f]{64})?$")
TIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
EVENT_FIELDS = {
    "seq": int,
    "topic": str,
    "aggregate_type": str,
    "aggregate_id": str,
    "payload": dict,
    "version": int,
    "occurred_at": str,
}
# the columns' limits (sync.hq.models.CentralEvent)
TEXT_LIMITS = {"topic": 100, "aggregate_type": 50, "aggregate_id": 100}
MAX_VERSION = 2**15 - 1
# what a repaired event's bundle_number says: it came by reconciliation, in no events bundle
REPAIRED_BUNDLE_NUMBER = 0


def _malformed(detail: str) -> BundleError:
    return BundleError(BundleRefusal.MALFORMED.value, detail)


def central_digests(
    *, mission: str, upto_seq: int, days: list[str] | None = None
) -> dict[str, DayDigest]:
    """HQ's digests of `mission`'s central events up to `upto_seq` (public schema)."""
    return day_digests(
        table="sync_hq_centralevent",
        where="mission = %s AND seq <= %s",
        params=[mission, upto_seq],
        days=days,
    )


def _answer(kind: str, *, request: SignedBundle, mission: str, **body: Any) -> SignedBundle:
    key = hq_key_ensure(KeyPurpose.SIGN)
    header = {
        "format": FORMAT,
        "kind": kind,
        "mission": mission,
        "created_at": wire_time(timezone.now()),
        "key_id": key.key_id,
        "in_reply_to": request.hash,
    }
    return bundle_sign({"header": header, **body}, hq_key_private(key))


def _int(value: Any, name: str, *, low: int = 0) -> int:
    # bool is an int in Python, not in the contract
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise _malformed(f"{name} must be an integer of at least {low}")
    return value


def _day(value: Any) -> str:
    if not isinstance(value, str) or not DAY_PATTERN.match(value):
        raise _malformed(f"{value!r} is not a day (YYYY-MM-DD)")
    try:
        dt.date.fromisoformat(value)
    except ValueError as error:
        raise _malformed(f"{value!r} is not a day") from error
    return value


def _mission_of(bundle: SignedBundle, mission_key: MissionKey, kind: str) -> str:
    header = bundle.header
    if header.get("format") != FORMAT or header.get("kind") != kind:
        raise _malformed(f"not a {kind} frame")
    if header.get("mission") != mission_key.mission:
        raise BundleError(BundleRefusal.UNKNOWN_KEY.value, "signed with another mission's key")
    return mission_key.mission


def _acked_seq(mission: str, *, lock: bool = False) -> tuple[MissionLink, int]:
    links = MissionLink.objects.select_for_update() if lock else MissionLink.objects
    link, _ = links.get_or_create(mission=mission)
    return link, link.last_seq


# --- digests ----------------------------------------------------------------------------------


def _digests_read(bundle: SignedBundle) -> dict[str, DayDigest]:
    days = bundle.content.get("days")
    if not isinstance(days, list) or len(days) > MAX_DAYS:
        raise _malformed(f"days must be a list of at most {MAX_DAYS}")
    digests: dict[str, DayDigest] = {}
    for entry in days:
        if not isinstance(entry, dict):
            raise _malformed("a day's digest is not an object")
        day = _day(entry.get("day"))
        count = _int(entry.get("count"), "count")
        digest = entry.get("hash")
        if not isinstance(digest, str) or not HASH_PATTERN.match(digest):
            raise _malformed(f"{day}: the hash is not SHA-256 hex")
        if day in digests:
            raise _malformed(f"{day} is listed twice")
        digests[day] = DayDigest(day=day, count=count, hash=digest)
    return digests


def digests_handle(bundle: SignedBundle, mission_key: MissionKey) -> dict[str, Any]:
    """Compare a mission's digests with HQ's; answer the days that differ."""
    mission = _mission_of(bundle, mission_key, "digests")
    header = bundle.header
    upto = _int(header.get("upto_seq"), "upto_seq")
    complete = header.get("complete", True)
    if not isinstance(complete, bool):
        raise _malformed("complete must be true or false")
    theirs = _digests_read(bundle)
    # no lock: the mark only grows, and the events up to it do not change while bundles apply
    link, acked = _acked_seq(mission)
    if upto > acked:
        # the mission counts events HQ has not acknowledged: they are not differences yet
        raise BundleError(
            BundleRefusal.INCONSISTENT.value, f"HQ has acknowledged up to #{acked}, not #{upto}"
        )
    ours = central_digests(mission=mission, upto_seq=upto, days=None if complete else list(theirs))
    differ = digests_differ(theirs, ours, complete=complete)
    MissionLink.objects.filter(pk=link.pk).update(
        last_reconciled_at=timezone.now(), reconcile_differences=len(differ)
    )
    empty = DayDigest(day="", count=0, hash="")
    listed, total = [], 0
    for day in differ:
        total += ours.get(day, empty).count
        if total > HELD_MAX:
            break
        listed.append(day)
    held = (
        content_hashes(
            table="sync_hq_centralevent",
            where="mission = %s AND seq <= %s",
            params=[mission, upto],
            days=listed,
        )
        if listed
        else {}
    )
    answer = _answer(
        "digests_answer",
        request=bundle,
        mission=mission,
        upto_seq=upto,
        days_compared=len(set(theirs) | set(ours)) if complete else len(theirs),
        differ=[
            {"day": day, "count": ours.get(day, empty).count, "hash": ours.get(day, empty).hash}
            for day in differ
        ],
        held={day: held_encode(held[day]) for day in listed},
    )
    return {
        "mission": mission,
        "kind": "digests",
        "acked_seq": acked,
        "refused": None,
        "detail": f"{len(differ)} of the days differ",
        "differ": differ,
        "answer": answer,
    }


# --- repair -----------------------------------------------------------------------------------


def _events_read(bundle: SignedBundle, *, acked: int) -> list[dict[str, Any]]:
    header, events = bundle.header, bundle.content.get("events")
    days = header.get("days")
    if not isinstance(days, list):
        raise _malformed("days must be a list")
    days = {_day(day) for day in days}
    if not isinstance(events, list) or header.get("event_count") != len(events):
        raise BundleError(BundleRefusal.INCONSISTENT.value, "event_count is not the events'")
    seen: set[int] = set()
    for event in events:
        if not isinstance(event, dict):
            raise _malformed("an event is not an object")
        for name, kind in EVENT_FIELDS.items():
            value = event.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise _malformed(f"an event's {name} is not a {kind.__name__}")
        actor = event.get("actor_id")
        if actor is not None:
            _int(actor, "actor_id")
        for name, limit in TEXT_LIMITS.items():
            if not 0 < len(event[name]) <= limit or "\x00" in event[name]:
                raise _malformed(f"#{event['seq']}: {name} is empty, too long or holds a NUL")
        if not 0 < event["version"] <= MAX_VERSION:  # the column is a smallint, the rule >= 1
            raise _malformed(f"#{event['seq']}: version is not from 1 to {MAX_VERSION}")
        if "\\u0000" in json.dumps(event["payload"]):
            raise _malformed(f"#{event['seq']}: the payload holds a NUL (jsonb refuses it)")
        seq = _int(event["seq"], "seq", low=1)
        if seq > acked:
            raise BundleError(
                BundleRefusal.INCONSISTENT.value,
                f"#{seq} is beyond what HQ acknowledged (#{acked}): send it in an events bundle",
            )
        if seq in seen:
            raise _malformed(f"#{seq} twice")
        seen.add(seq)
        if not TIME_PATTERN.match(event["occurred_at"]) or event["occurred_at"][:10] not in days:
            raise BundleError(
                BundleRefusal.INCONSISTENT.value, f"#{seq} is not of the days in the header"
            )
        try:
            dt.datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        except ValueError as error:
            raise _malformed(f"#{seq}: occurred_at is not a time") from error
    return sorted(events, key=lambda event: event["seq"])


# The repair's events as rows; the mission's content hash computed by the same function as HQ's.
INCOMING = """
WITH incoming AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb) AS e(
        seq bigint, topic text, aggregate_type text, aggregate_id text, payload jsonb,
        version integer, actor_id bigint, occurred_at timestamptz)
)
"""
INSERT_MISSING = (
    INCOMING
    + """
INSERT INTO sync_hq_centralevent (mission, seq, topic, aggregate_type, aggregate_id, payload,
                                  version, actor_id, occurred_at, bundle_number, applied_at)
SELECT %s, seq, topic, aggregate_type, aggregate_id, payload, version, actor_id, occurred_at,
       %s, %s
FROM incoming
ON CONFLICT (mission, seq) DO NOTHING
RETURNING seq
"""
)
CONFLICTING = (
    INCOMING
    + """
SELECT i.seq FROM incoming i
JOIN sync_hq_centralevent c ON c.mission = %s AND c.seq = i.seq
WHERE c.content_hash <> public.sync_event_hash(i.seq, i.topic, i.aggregate_type,
      i.aggregate_id, i.version, i.actor_id, i.occurred_at, i.payload)
ORDER BY i.seq
"""
)


def repair_handle(bundle: SignedBundle, mission_key: MissionKey) -> dict[str, Any]:
    """Insert the events of a repair that HQ lacks; log the ones it holds otherwise."""
    mission = _mission_of(bundle, mission_key, "repair")
    with transaction.atomic():
        # the link's lock: an events bundle of this mission applies before or after, not during
        _, acked = _acked_seq(mission, lock=True)
        events = _events_read(bundle, acked=acked)
        rows = json.dumps(events)
        with connection.cursor() as cursor:
            cursor.execute(INSERT_MISSING, [rows, mission, REPAIRED_BUNDLE_NUMBER, timezone.now()])
            inserted = sorted(seq for (seq,) in cursor.fetchall())
            cursor.execute(CONFLICTING, [rows, mission])
            conflicts = [seq for (seq,) in cursor.fetchall()]
        new = set(inserted)
        registry.events_project(
            mission=mission, events=[event for event in events if event["seq"] in new]
        )
        by_seq = {event["seq"]: event for event in events}
        for seq in conflicts:
            _conflict_log(bundle, mission=mission, event=by_seq[seq])
    answer = _answer(
        "repair_answer", request=bundle, mission=mission, inserted=inserted, conflicts=conflicts
    )
    return {
        "mission": mission,
        "kind": "repair",
        "acked_seq": acked,
        "refused": None,
        "detail": f"{len(inserted)} inserted, {len(conflicts)} conflicts",
        "applied": len(inserted),
        "conflicts": conflicts,
        "answer": answer,
    }


def _conflict_log(bundle: SignedBundle, *, mission: str, event: dict[str, Any]) -> None:
    """HQ keeps its row; the mission's version is kept here and in the log, for a person."""
    theirs = json.dumps(event, sort_keys=True, ensure_ascii=False)
    logger.warning(
        "reconcile conflict: %s #%s differs at HQ; HQ keeps its row; the mission's: %s",
        mission,
        event["seq"],
        theirs,
    )
    RefusedBundle.objects.create(
        received_at=timezone.now(),
        mission=mission,
        reason=BundleRefusal.CONFLICT.value,
        detail=f"#{event['seq']} differs; HQ keeps its own. Mission's: {theirs}"[:500],
        sha256=bundle.hash,
        size=len(bundle.body),
        source="reconcile",
    )


# --- Wiring -----------------------------------------------------------------------------------

HANDLERS = {"digests": digests_handle, "repair": repair_handle}


def handlers_register() -> None:
    """Register both kinds with HQ's apply; call from `SyncHqConfig.ready()`."""
    from sync.hq import apply  # type: ignore[attr-defined]

    for kind, handler in HANDLERS.items():
        apply.kind_handler_register(kind, handler)


def answer_frames(results: list[dict[str, Any]]) -> list[SignedBundle]:
    """The signed answers among `frames_receive`'s results, for the transport's answer file."""
    return [result["answer"] for result in results if result.get("answer") is not None]
