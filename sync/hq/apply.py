"""HQ applies what missions send: verify each bundle whole, then apply it once, in chain order
(docs/sync.md, "Applying at HQ").

Entry points: `bundle_receive` (one signed frame) and `frames_receive` (a pushed body or a file
carried by hand). Neither raises on bad input: a bundle that fails a check is refused whole,
the refusal is logged in `RefusedBundle` and returned as the answer.

Checks, in this order (the first that fails names the refusal, `BundleRefusal`):

1. malformed: the body is not JSON, holds a number with a fraction, NaN or an infinity (no
   event carries one: refused as it is parsed), a header field is missing or of the wrong
   type, an unknown format or kind.
2. unknown mission: HQ has neither a link nor a key for the code.
3. unknown key: the mission has no key with that id. A bundle signed with another mission's
   key is this: keys are looked up by (mission, key_id), never by the key alone.
4. revoked key: revoked at or before *now*. The bundle's own `created_at` is not trusted: it is
   written by whoever holds the key, and a thief holding a stolen key would simply backdate
   it. The honest cost is that bundles signed before the revocation but not yet delivered
   are refused too; the mission signs them again with its new key.
5. bad signature: one byte flipped anywhere in the body or the signature. Then, on verified
   bytes only (RFC 8785 costs CPU), malformed again: the body is not canonical JSON (one byte
   sequence per value, so the signed bytes mean one thing), or holds a NUL character
   (PostgreSQL cannot store one).
6. inconsistent: the header and the events disagree (count, first and last seq, a gap or a
   repeat in the seqs), or an event lacks a field or has one of the wrong type.
7. chain broken: at application time, `prev_hash` is not the hash of the bundle HQ applied
   last, or the number does not follow it.

Applying (`events` bundles) runs in one transaction holding the mission's `MissionLink` row
FOR UPDATE, so two deliveries of one bundle (two HTTP retries, a file and a push) queue and
the second finds it applied. Against the link:

- wholly at or below `last_seq`: a duplicate. Nothing changes (but the contact time), unless
  its events differ from those HQ holds: then HQ keeps its own and logs a conflict.
- the next one in the chain: its events go into `CentralEvent` in one INSERT, the projectors
  (`sync.registry`) get the new ones, the link advances, and held bundles that now follow are
  applied in turn.
- beyond the next one: a gap. The bundle is held (`HeldBundle`, once), and the answer asks
  for what is missing (`want`); nothing is ever skipped.

A refusal found inside the transaction rolls it back; the refusal is then logged in a
transaction of its own, so it survives (inside a caller's transaction it is a savepoint: the
transport calls HQ outside the mission's transaction for that reason).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from django.db import DatabaseError, DataError, connection, transaction
from django.utils import timezone

from sync import keys, registry
from sync.bundle import (
    FORMAT,
    MAX_FRAMES,
    BundleError,
    SignedBundle,
    canonical,
    file_unpack,
    frames_read,
    sha256_hex,
)
from sync.error_codes import BundleRefusal
from sync.events import SyncTopic

from .models import (
    MISSION_CODE_LENGTH,
    CentralEvent,
    HeldBundle,
    MissionKey,
    MissionLink,
    RefusedBundle,
)

Result = dict[str, Any]
KindHandler = Callable[[SignedBundle, MissionKey], Result]

EVENTS_KIND = "events"
EVENT_FIELDS = frozenset(
    {"seq", "topic", "aggregate_type", "aggregate_id", "payload", "version", "actor_id",
     "occurred_at"}
)  # fmt: skip
TIME_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")
MAX_INT32 = 2**31 - 1
MAX_SMALLINT = 2**15 - 1
# how many differing events a conflict's detail names
CONFLICT_SAMPLE = 5
# bundles held per mission, waiting for the ones before them; beyond, refused (and the gap asked)
MAX_HELD = 1000
# refusals of frames that did not verify logged per request (the rest counted in the last one)
UNVERIFIED_LOGGED = 10

_kind_handlers: dict[str, KindHandler] = {}


def kind_handler_register(kind: str, fn: KindHandler) -> None:
    """Route signed frames of `kind` (other than `events`) to `fn(bundle, mission_key)`, called
    after the mission, key, revocation and signature checks. `fn` runs its own transactions and
    returns the answer; it may raise `BundleError` to refuse the bundle (logged like any other
    refusal). Registering a kind again replaces its handler."""
    if kind == EVENTS_KIND:
        raise ValueError("events bundles are applied by sync.hq.apply itself")
    _kind_handlers[kind] = fn


class _Refused(Exception):
    """`verified`: the mission's key did sign the frame. `answered`: what the sender is told,
    when it differs from what is logged (code, detail)."""

    def __init__(
        self,
        code: BundleRefusal,
        detail: str,
        *,
        verified: bool = False,
        answered: tuple[BundleRefusal, str] | None = None,
    ) -> None:
        super().__init__(f"{code.value}: {detail}")
        self.code = code
        self.detail = detail
        self.verified = verified
        self.answered = answered


@dataclass(frozen=True)
class _Claim:
    """What a bundle says about itself before anything is verified (for the refusal log)."""

    mission: str = ""
    number: int | None = None


@dataclass(frozen=True)
class _Checked:
    """A verified events bundle."""

    bundle: SignedBundle
    mission: str
    number: int
    first_seq: int
    last_seq: int
    prev_hash: str
    created_at: datetime
    events: list[dict[str, Any]]


# --- Entry points -----------------------------------------------------------------------------


def frames_receive(data: bytes, *, source: str = "file") -> list[Result]:
    """Receive a body of frames: a file (`sync.bundle.file_pack`, plain or sealed for HQ) or a
    single frame. Each frame is received in turn (its own transaction); the answers come back
    in order. A body that cannot be read at all (not a file, truncated, sealed for another key,
    tampered with after sealing) is one refusal."""
    data = bytes(data)
    budget = _Budget()
    try:
        if data[:4] == b"CSB1":
            frames = frames_read(data, max_frames=MAX_FRAMES)
        else:
            frames = file_unpack(
                data, private_key_for=keys.hq_encryption_private_key, max_frames=MAX_FRAMES
            )
    except BundleError as error:
        code = _refusal_code(error.code)
        return [_refusal_log(data, _Claim(), code, error.detail, source=source)]
    results = [bundle_receive(frame, source=source, budget=budget) for frame in frames]
    budget.close()
    return results


class _Budget:
    """How many refusals of frames that did not verify one request may log: a body of forged
    frames costs HQ at most `UNVERIFIED_LOGGED` rows, the rest counted in the last one."""

    def __init__(self) -> None:
        self.logged: list[int] = []
        self.unlogged = 0

    def allows(self) -> bool:
        if len(self.logged) < UNVERIFIED_LOGGED:
            return True
        self.unlogged += 1
        return False

    def close(self) -> None:
        if not self.unlogged or not self.logged:
            return
        row = RefusedBundle.objects.get(pk=self.logged[-1])
        more = f" (and {self.unlogged} more unverified frame(s) of this request, not logged)"
        row.detail = row.detail[: 500 - len(more)] + more
        row.save(update_fields=["detail"])


def bundle_receive(
    bundle: SignedBundle, *, source: str = "http", budget: _Budget | None = None
) -> Result:
    """Verify and apply one signed frame; never raises on what the frame holds.

    For `events`: `{"mission", "acked_seq", "want", "refused", "detail", "held", "applied"}`
    (`refused` a `BundleRefusal` value or None; `want` the seq ranges HQ lacks below the held
    bundles; `applied` the events new to HQ, those of held bundles it released included).
    Other kinds: the registered handler's answer. Runs its own transactions."""
    claim, verified = _Claim(), False
    try:
        content = _content(bundle)
        header = content["header"]
        claim = _claim(header)
        _key_fields_check(header)
        key = _key_check(header)
        _signature_check(bundle, key)
        # the mission's key signed it: what follows is logged under the mission
        verified = True
        _revoked_check(key)
        kind = header.get("kind")
        if kind == EVENTS_KIND:
            _events_header_check(header, content)
        else:
            _common_header_check(header)
            if kind not in _kind_handlers:
                raise _Refused(BundleRefusal.MALFORMED, f"HQ receives no {kind!r} bundles")
    except _Refused as refusal:
        refusal.verified = refusal.verified or verified
        return _refusal_log(
            bundle.body, claim, refusal.code, refusal.detail, source=source,
            verified=refusal.verified, budget=budget, answered=refusal.answered,
        )  # fmt: skip
    try:
        _canonical_check(bundle, content)  # on verified bytes only: RFC 8785 costs CPU
    except _Refused as refusal:
        return _refusal_log(
            bundle.body, claim, refusal.code, refusal.detail, source=source, authentic=True
        )
    if kind != EVENTS_KIND:
        return _kind_receive(bundle, header, key, claim, source=source)
    try:
        checked = _events_check(bundle, content, key)
    except _Refused as refusal:
        return _refusal_log(
            bundle.body, claim, refusal.code, refusal.detail, source=source, authentic=True
        )
    return _events_receive(checked, source=source)


# --- Checks -----------------------------------------------------------------------------------


def _claim(header: Any) -> _Claim:
    if not isinstance(header, dict):
        return _Claim()
    mission, number = header.get("mission"), header.get("number")
    return _Claim(
        mission=_clean(mission, MISSION_CODE_LENGTH) if isinstance(mission, str) else "",
        number=number if _is_int(number) and 0 <= number <= MAX_INT32 else None,
    )


def _no_fraction(text: str) -> Any:
    raise ValueError(f"{text[:20]} is not an integer")


def _content(bundle: SignedBundle) -> dict[str, Any]:
    """The parsed body. No event payload carries a fraction (docs/events.md: money in minor
    units), so a number with a fraction or exponent, NaN or Infinity is refused as it is parsed:
    RFC 8785's number format, the expensive part of the canonical check, is never needed."""
    try:
        value = json.loads(bundle.body, parse_float=_no_fraction, parse_constant=_no_fraction)
    except (ValueError, RecursionError) as error:
        raise _Refused(BundleRefusal.MALFORMED, f"body is not JSON: {error}") from error
    if not isinstance(value, dict) or not isinstance(value.get("header"), dict):
        raise _Refused(BundleRefusal.MALFORMED, "body has no header")
    return value


def _canonical_check(bundle: SignedBundle, value: dict[str, Any]) -> None:
    """Refuses a body that is not exactly its canonical JSON (RFC 8785, through
    `sync.bundle.canonical`, which takes the standard library's fast encoder where that writes
    the same bytes). Run on verified bytes only."""
    body = bundle.body
    try:
        again = canonical(value)
    except (ValueError, RecursionError, TypeError) as error:
        # numbers beyond 2**53, lone surrogates: nothing a mission's outbox can hold
        raise _Refused(BundleRefusal.MALFORMED, f"not canonical JSON: {error}") from error
    if again != body:
        raise _Refused(BundleRefusal.MALFORMED, "the body is not canonical JSON (RFC 8785)")
    # RFC 8785 writes U+0000 as \u0000; a body without that sequence holds no NUL at all
    if b"\\u0000" in body and _holds_nul(value):
        raise _Refused(BundleRefusal.MALFORMED, "a NUL character (HQ's database stores none)")


def _holds_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _key_fields_check(header: dict[str, Any]) -> None:
    """What the key is looked up by (the rest of the header is checked once it verified)."""
    mission, key_id = header.get("mission"), header.get("key_id")
    if not isinstance(mission, str) or not 0 < len(mission) <= MISSION_CODE_LENGTH:
        raise _Refused(BundleRefusal.MALFORMED, "header field mission missing or invalid")
    if not _is_int(key_id) or not 0 < key_id <= MAX_INT32:
        raise _Refused(BundleRefusal.MALFORMED, "header field key_id missing or invalid")


def _common_header_check(header: dict[str, Any]) -> None:
    if header.get("format") != FORMAT:
        raise _Refused(BundleRefusal.MALFORMED, f"format is not {FORMAT}")
    for name, valid in (
        ("kind", lambda v: isinstance(v, str)),
        ("mission", lambda v: isinstance(v, str) and 0 < len(v) <= MISSION_CODE_LENGTH),
        ("key_id", lambda v: _is_int(v) and 0 < v <= MAX_INT32),
        ("created_at", lambda v: _time(v) is not None),
    ):
        if name not in header or not valid(header[name]):
            raise _Refused(BundleRefusal.MALFORMED, f"header field {name} missing or invalid")


def _events_header_check(header: dict[str, Any], content: dict[str, Any]) -> None:
    _common_header_check(header)
    for name in ("number", "first_seq", "last_seq", "event_count"):
        value = header.get(name)
        if not _is_int(value) or not 0 < value <= (MAX_INT32 if name == "number" else 2**53):
            raise _Refused(BundleRefusal.MALFORMED, f"header field {name} missing or invalid")
    prev_hash = header.get("prev_hash")
    if not isinstance(prev_hash, str) or not (prev_hash == "" or HASH_PATTERN.fullmatch(prev_hash)):
        raise _Refused(BundleRefusal.MALFORMED, "header field prev_hash missing or invalid")
    if set(content) != {"header", "events"} or not isinstance(content["events"], list):
        raise _Refused(BundleRefusal.MALFORMED, "an events bundle holds a header and events")


def _key_check(header: dict[str, Any]) -> MissionKey:
    mission, key_id = header["mission"], header["key_id"]
    key = MissionKey.objects.filter(mission=mission, key_id=key_id).first()
    if key is None:
        known = (
            MissionLink.objects.filter(mission=mission).exists()
            or MissionKey.objects.filter(mission=mission).exists()
        )
        # the sender is told the same either way: which missions exist is nobody's business
        answered = (BundleRefusal.UNKNOWN_KEY, f"HQ has no key {key_id} of {mission}")
        if not known:
            raise _Refused(
                BundleRefusal.UNKNOWN_MISSION, f"no mission {mission}", answered=answered
            )
        raise _Refused(
            BundleRefusal.UNKNOWN_KEY, f"{mission} has no key {key_id}", answered=answered
        )
    return key


def _revoked_check(key: MissionKey) -> None:
    """After the signature: the frame is the key's (stolen, perhaps), so it shows on the
    mission's page."""
    if key.revoked_at is not None and key.revoked_at <= timezone.now():
        raise _Refused(
            BundleRefusal.REVOKED_KEY,
            f"{key.mission} key {key.key_id} revoked at {key.revoked_at}",
            verified=True,
        )


def _signature_check(bundle: SignedBundle, key: MissionKey) -> None:
    if not bundle.verify(bytes(key.public_key)):
        raise _Refused(
            BundleRefusal.BAD_SIGNATURE,
            f"not signed by {key.mission} key {key.key_id} (altered in transit?)",
        )


def _events_check(bundle: SignedBundle, content: dict[str, Any], key: MissionKey) -> _Checked:
    """The header against the events (the signature checked already)."""
    header = content["header"]
    events: list[Any] = content["events"]
    first_seq, last_seq = header["first_seq"], header["last_seq"]
    if not events or header["event_count"] != len(events):
        raise _Refused(
            BundleRefusal.INCONSISTENT,
            f"event_count {header['event_count']} but {len(events)} events",
        )
    if last_seq - first_seq + 1 != len(events):
        raise _Refused(
            BundleRefusal.INCONSISTENT, f"seq {first_seq}-{last_seq} but {len(events)} events"
        )
    for offset, event in enumerate(events):
        problem = _event_problem(event, first_seq + offset)
        if problem:
            raise _Refused(BundleRefusal.INCONSISTENT, f"event {offset + 1}: {problem}")
    created_at = _time(header["created_at"])
    if created_at is None:  # checked with the header already; for the type checker
        raise _Refused(BundleRefusal.MALFORMED, "header field created_at invalid")
    return _Checked(
        bundle=bundle,
        mission=header["mission"],
        number=header["number"],
        first_seq=first_seq,
        last_seq=last_seq,
        prev_hash=header["prev_hash"],
        created_at=created_at,
        events=events,
    )


def _event_problem(event: Any, seq: int) -> str:
    if not isinstance(event, dict) or set(event) != EVENT_FIELDS:
        return "not an event (fields missing or extra)"
    if not _is_int(event["seq"]) or event["seq"] != seq:
        return f"seq {event['seq']!r} where {seq} follows"
    for name, length in (("topic", 100), ("aggregate_type", 50), ("aggregate_id", 100)):
        if not isinstance(event[name], str) or not 0 < len(event[name]) <= length:
            return f"{name} is not a text of 1 to {length} characters"
    if not isinstance(event["payload"], dict):
        return "payload is not an object"
    if not _is_int(event["version"]) or not 0 < event["version"] <= MAX_SMALLINT:
        return "version is not a small positive integer"
    if event["actor_id"] is not None and not _is_int(event["actor_id"]):
        return "actor_id is neither an integer nor null"
    if _time(event["occurred_at"]) is None:
        return "occurred_at is not a UTC time (YYYY-MM-DDTHH:MM:SS.ffffffZ)"
    return ""


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not TIME_PATTERN.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# --- Applying events --------------------------------------------------------------------------


def _events_receive(checked: _Checked, *, source: str) -> Result:
    held_refusals: list[tuple[SignedBundle, _Claim, _Refused]] = []
    try:
        with transaction.atomic():
            link = _link_lock(checked.mission)
            held, applied = False, 0
            if checked.last_seq <= link.last_seq:
                _conflicts_refuse(checked)  # a duplicate: refused only if it differs
            elif checked.first_seq <= link.last_seq:
                _conflicts_refuse(checked)
                raise _Refused(
                    BundleRefusal.CHAIN_BROKEN,
                    f"seq {checked.first_seq}-{checked.last_seq} straddles the applied "
                    f"#{link.last_seq}",
                )
            elif checked.first_seq > link.last_seq + 1:
                _hold(checked)
                held = True
            else:
                applied = _chain_apply(link, checked)
                applied += _held_release(link, held_refusals)
            link.last_contact_at = timezone.now()
            link.save(update_fields=["last_contact_at"])
            result = _answer(link, applied=applied, held=held)
    except _Refused as refusal:
        claim = _Claim(mission=checked.mission, number=checked.number)
        return _refusal_log(
            checked.bundle.body, claim, refusal.code, refusal.detail, source=source,
            authentic=True,
        )  # fmt: skip
    for held_bundle, held_claim, held_refusal in held_refusals:
        _refusal_log(
            held_bundle.body, held_claim, held_refusal.code, held_refusal.detail, source="held",
            verified=True,  # it was verified when it was held
        )  # fmt: skip
    return result


def _link_lock(mission: str) -> MissionLink:
    """The mission's link row, locked until commit; created on first contact (a concurrent
    first contact inserts nothing and waits on the lock)."""
    link = MissionLink.objects.select_for_update().filter(mission=mission).first()
    if link is None:
        MissionLink.objects.bulk_create([MissionLink(mission=mission)], ignore_conflicts=True)
        link = MissionLink.objects.select_for_update().get(mission=mission)
    return link


def _chain_apply(link: MissionLink, checked: _Checked) -> int:
    """Apply the bundle that follows the link; returns how many events were new to HQ."""
    if checked.number != link.last_bundle_number + 1 or checked.prev_hash != link.last_bundle_hash:
        raise _Refused(
            BundleRefusal.CHAIN_BROKEN,
            f"bundle {checked.number} does not follow bundle {link.last_bundle_number} "
            f"(prev_hash {checked.prev_hash[:12] or '(none)'}…, HQ has "
            f"{link.last_bundle_hash[:12] or '(none)'}…)",
        )
    inserted = _events_insert(checked)
    if len(inserted) < len(checked.events):
        # some events came earlier (a repair): they must be the same ones
        _conflicts_refuse(checked)
    new_events = [event for event in checked.events if event["seq"] in inserted]
    if new_events:
        registry.events_project(mission=checked.mission, events=new_events)
        _rotations_register(checked.mission, new_events)
    link.last_seq = checked.last_seq
    link.last_bundle_number = checked.number
    link.last_bundle_hash = checked.bundle.hash
    link.last_bundle_created_at = checked.created_at
    link.save(update_fields=["last_seq", "last_bundle_number", "last_bundle_hash",
                             "last_bundle_created_at"])  # fmt: skip
    return len(new_events)


# The bundle's body is sent as it is and read by PostgreSQL: one statement per bundle, no
# per-row round trip and no re-serialisation in Python.
_RECORDSET = """jsonb_to_recordset((%s::jsonb) -> 'events') AS e(
    seq bigint, topic text, aggregate_type text, aggregate_id text, payload jsonb,
    version smallint, actor_id bigint, occurred_at timestamptz)"""

_INSERT = f"""
INSERT INTO {CentralEvent._meta.db_table}
    (mission, seq, topic, aggregate_type, aggregate_id, payload, version, actor_id,
     occurred_at, bundle_number, applied_at)
SELECT %s, e.seq, e.topic, e.aggregate_type, e.aggregate_id, e.payload, e.version,
       e.actor_id, e.occurred_at, %s, %s
FROM {_RECORDSET}
ORDER BY e.seq
ON CONFLICT (mission, seq) DO NOTHING
RETURNING seq
"""  # noqa: S608 (table names from the model, values as parameters)

# jsonb's text form keeps a number's scale (1.0 is not 1), so payloads compare exactly
_DIFFERING = f"""
SELECT e.seq FROM {_RECORDSET}
JOIN {CentralEvent._meta.db_table} c ON c.mission = %s AND c.seq = e.seq
WHERE (c.topic, c.aggregate_type, c.aggregate_id, c.payload::text, c.version, c.actor_id,
       c.occurred_at)
      IS DISTINCT FROM
      (e.topic, e.aggregate_type, e.aggregate_id, e.payload::text, e.version, e.actor_id,
       e.occurred_at)
ORDER BY e.seq
LIMIT {CONFLICT_SAMPLE}
"""  # noqa: S608


def _events_insert(checked: _Checked) -> set[int]:
    # The checks above leave PostgreSQL nothing to refuse; should a value still get past them,
    # the savepoint turns the database's refusal into the bundle's, not into a server error.
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _INSERT,
                [checked.mission, checked.number, timezone.now(), checked.bundle.body.decode()],
            )
            return {row[0] for row in cursor.fetchall()}
    except DataError as error:
        detail = f"the database refused an event: {error}"
        raise _Refused(BundleRefusal.INCONSISTENT, detail) from error


def _conflicts_refuse(checked: _Checked) -> None:
    """Refuse (CONFLICT) a bundle whose events differ from those HQ already holds: HQ keeps
    its own and never overwrites (the log is append-only anyway)."""
    with connection.cursor() as cursor:
        cursor.execute(_DIFFERING, [checked.bundle.body.decode(), checked.mission])
        differing = [row[0] for row in cursor.fetchall()]
    if differing:
        raise _Refused(
            BundleRefusal.CONFLICT,
            f"events {', '.join(f'#{seq}' for seq in differing)} differ from those HQ applied "
            f"before; HQ keeps its own",
        )


def _rotations_register(mission: str, events: list[dict[str, Any]]) -> None:
    """A new signing key announced by the mission, in a bundle signed by the key before it."""
    for event in events:
        if event["topic"] != SyncTopic.SIGNING_KEY_ROTATED.value:
            continue
        payload = event["payload"]
        key_id, public_hex = payload.get("key_id"), payload.get("public_key")
        if not (
            _is_int(key_id)
            and 0 < key_id <= MAX_INT32
            and isinstance(public_hex, str)
            and re.fullmatch(r"[0-9a-f]{64}", public_hex)
        ):
            raise _Refused(
                BundleRefusal.INCONSISTENT, f"event #{event['seq']}: a key rotation without a key"
            )
        try:
            keys.mission_key_register(
                mission=mission,
                key_id=key_id,
                public_key=bytes.fromhex(public_hex),
                created_at=_time(event["occurred_at"]),
            )
        except ValueError as error:
            raise _Refused(BundleRefusal.CONFLICT, f"event #{event['seq']}: {error}") from error


def _hold(checked: _Checked) -> None:
    held = HeldBundle.objects.filter(mission=checked.mission)
    if not held.filter(number=checked.number).exists() and held.count() >= MAX_HELD:
        raise _Refused(
            BundleRefusal.TOO_LARGE,
            f"HQ holds {MAX_HELD} bundles of {checked.mission} already; the ones before them first",
        )
    HeldBundle.objects.bulk_create(
        [
            HeldBundle(
                mission=checked.mission,
                number=checked.number,
                first_seq=checked.first_seq,
                last_seq=checked.last_seq,
                data=checked.bundle.to_bytes(),
                received_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,  # held already: once is enough
    )


def _held_release(link: MissionLink, refusals: list[tuple[SignedBundle, _Claim, _Refused]]) -> int:
    """Apply the held bundles that now follow the link, in order. Each is checked again as if
    it had just arrived (its key may have been revoked since); one that fails is dropped,
    logged, and asked for again through `want`."""
    applied = 0
    HeldBundle.objects.filter(mission=link.mission, last_seq__lte=link.last_seq).delete()
    while True:
        row = (
            HeldBundle.objects.filter(mission=link.mission, first_seq=link.last_seq + 1)
            .order_by("number")
            .first()
        )
        if row is None:
            return applied
        row.delete()
        try:
            try:
                bundle = SignedBundle.from_bytes(bytes(row.data))
            except BundleError as error:  # it was a frame when held: the row was altered
                bundle = SignedBundle(body=bytes(row.data), signature=b"")
                raise _Refused(BundleRefusal.MALFORMED, error.detail) from error
            content = _content(bundle)
            _events_header_check(content["header"], content)
            key = _key_check(content["header"])
            _signature_check(bundle, key)
            _revoked_check(key)
            _canonical_check(bundle, content)
            checked = _events_check(bundle, content, key)
            with transaction.atomic():  # a savepoint: a refused held bundle leaves the rest
                applied += _chain_apply(link, checked)
        except _Refused as refusal:
            link.refresh_from_db(fields=["last_seq", "last_bundle_number", "last_bundle_hash",
                                         "last_bundle_created_at"])  # fmt: skip
            refusals.append((bundle, _Claim(mission=row.mission, number=row.number), refusal))
            return applied
        HeldBundle.objects.filter(mission=link.mission, last_seq__lte=link.last_seq).delete()


def _want(mission: str, last_seq: int) -> list[list[int]]:
    """The ranges of seq HQ lacks below the bundles it holds."""
    want, reached = [], last_seq
    held = HeldBundle.objects.filter(mission=mission).order_by("first_seq")
    for first_seq, held_last in held.values_list("first_seq", "last_seq"):
        if first_seq > reached + 1:
            want.append([reached + 1, first_seq - 1])
        reached = max(reached, held_last)
    return want


def _answer(link: MissionLink, *, applied: int, held: bool) -> Result:
    return {
        "mission": link.mission,
        "acked_seq": link.last_seq,
        "want": _want(link.mission, link.last_seq),
        "refused": None,
        "detail": "",
        "held": held,
        "applied": applied,
    }


# --- Other kinds ------------------------------------------------------------------------------


def _kind_receive(
    bundle: SignedBundle, header: dict[str, Any], key: MissionKey, claim: _Claim, *, source: str
) -> Result:
    MissionLink.objects.filter(mission=key.mission).update(last_contact_at=timezone.now())
    try:
        return _kind_handlers[header["kind"]](bundle, key)
    except BundleError as error:
        return _refusal_log(
            bundle.body, claim, _refusal_code(error.code), error.detail, source=source,
            authentic=True,
        )  # fmt: skip
    except DatabaseError as error:  # a value the handler's checks let through: refused whole
        detail = f"the database refused: {type(error).__name__}"
        return _refusal_log(
            bundle.body, claim, BundleRefusal.INCONSISTENT, detail, source=source, authentic=True
        )


# --- Refusals ---------------------------------------------------------------------------------


def _refusal_code(code: str) -> BundleRefusal:
    try:
        return BundleRefusal(code)
    except ValueError:
        return BundleRefusal.MALFORMED


def _clean(text: str, length: int) -> str:
    return text.replace("\x00", "\\0")[:length]


def _refusal_log(
    body: bytes,
    claim: _Claim,
    code: BundleRefusal,
    detail: str,
    *,
    source: str,
    authentic: bool = False,
    verified: bool = False,
    budget: _Budget | None = None,
    answered: tuple[BundleRefusal, str] | None = None,
) -> Result:
    """Log a refusal in a transaction of its own and answer it. `authentic`: the signature
    checked out and the key is in force, so the mission did make contact (and may learn where
    HQ stands). `verified` (implied by `authentic`): the mission's key signed it, so it is
    logged under the mission; otherwise it is logged under no mission, the claim in its detail,
    so a forged frame never lands on a mission's page, at most `UNVERIFIED_LOGGED` such rows a
    request (`budget`). `answered`: what the sender is told, if not what is logged."""
    now = timezone.now()
    verified = verified or authentic
    logged_detail = detail
    if not verified and claim.mission:
        logged_detail = f"claims {claim.mission} bundle {claim.number}: {detail}"
    with transaction.atomic():
        if budget is None or verified or budget.allows():
            row = RefusedBundle.objects.create(
                received_at=now,
                mission=claim.mission if verified else "",
                number=claim.number,
                reason=code.value,
                detail=_clean(logged_detail, 500),
                sha256=sha256_hex(body),
                size=min(len(body), MAX_INT32),
                source=_clean(source, 20),
            )
            if budget is not None and not verified:
                budget.logged.append(row.pk)
        link = None
        if claim.mission and verified:
            if authentic:
                MissionLink.objects.filter(mission=claim.mission).update(last_contact_at=now)
            link = MissionLink.objects.filter(mission=claim.mission).first()
    if answered is not None:
        code, detail = answered
    return {
        # a frame that did not verify is nobody's: no mission is answered for it
        "mission": claim.mission if verified else "",
        "acked_seq": link.last_seq if link else 0,
        "want": _want(link.mission, link.last_seq) if link and authentic else [],
        "refused": code.value,
        "detail": _clean(detail, 500),
        "held": False,
        "applied": 0,
    }
