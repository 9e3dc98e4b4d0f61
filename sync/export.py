"""The mission's side of the link to HQ: bundles built from the outbox, pushed, acknowledged.

Run in the mission's schema (a task queued per mission, a command inside `schema_context`);
every function takes the mission's `code`, which names it in the bundles.

- `bundles_build` packs the outbox after `SyncLink.last_bundled_seq` into signed bundles that
  form a hash chain (`prev_hash`), kept as `SentBundle` rows so they can be sent again.
- `push` is one round trip to HQ (`sync.transport.exchange`): the bundles HQ has not
  acknowledged (and those it asked for again) up, a signed answer down (`answer_apply`).
  Failures are counted on `SyncLink` and the next try waits (backoff, `push_if_due`).
- `file_export` is the same bundles as a file for the diplomatic bag, sealed for HQ.

Nothing here holds a transaction across the network: building, sending and applying the answer
are separate steps, so a lost answer only means the bundles are sent again (HQ applies a bundle
once, whatever it is sent).
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.models import F, Func, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError

from . import bundle, keys
from .bundle import FORMAT, BundleError, SignedBundle
from .down import down_apply, down_hashes_local, hello_sign, node_url_of
from .error_codes import SyncError
from .events import SyncTopic
from .models import KeyPurpose, SentBundle, SigningKey, SyncLink
from .reference import reference_apply

logger = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# what one push sends at most (HQ's endpoint refuses bodies over SYNC_PUSH_MAX_BYTES)
PUSH_BUDGET_BYTES = 24 * 1024 * 1024
BACKOFF_CAP = timedelta(hours=6)

# The outbox as bundle events, in one query: the time formatted by PostgreSQL in UTC with six
# fraction digits (the wire format), the payload as its JSON text (parsed once, below).
_OUTBOX_SQL = """
    SELECT seq, topic, aggregate_type, aggregate_id, payload::text, version, actor_id,
           to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
      FROM sync_outboxevent
     WHERE seq > %s
     ORDER BY seq
     LIMIT %s
"""


def time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


# The fields of an event in a bundle (SYNC-SPEC, "Wire contracts"), in `_OUTBOX_SQL`'s order.
EVENT_FIELDS = (
    "seq",
    "topic",
    "aggregate_type",
    "aggregate_id",
    "payload",
    "version",
    "actor_id",
    "occurred_at",
)


class EventRow(Protocol):
    """An event as a row holds it: the mission's `OutboxEvent`, HQ's `CentralEvent`."""

    seq: int
    topic: str
    aggregate_type: str
    aggregate_id: str
    payload: Any
    version: int
    actor_id: int | None
    occurred_at: datetime


def event_wire(event: EventRow) -> dict[str, Any]:
    """One event as it travels in a bundle: `EVENT_FIELDS`, `occurred_at` as UTC text with six
    fraction digits. Bundles are built by `_events_after`, which has PostgreSQL format the same
    fields for a whole range in one query; this is the same form for rows already loaded (HQ
    rebuilding a register from its central log, tests)."""
    wire = {name: getattr(event, name) for name in EVENT_FIELDS}
    wire["occurred_at"] = time_text(event.occurred_at)
    return wire


def _events_after(seq: int, limit: int) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(_OUTBOX_SQL, [seq, limit])
        rows = cursor.fetchall()
    loads = json.loads
    return [{**dict(zip(EVENT_FIELDS, row, strict=True)), "payload": loads(row[4])} for row in rows]


def _signing_key_for(*, code: str, events: list[dict[str, Any]]) -> tuple[list[dict], int, bytes]:
    """The events this bundle carries and the key that signs them.

    A key rotation is an outbox event announcing the new key; HQ learns the key from it, so the
    bundle that carries it must be signed by the key before it, and it ends there: the events
    after it are signed by the new key, in the next bundle. Events before any rotation in the
    range are signed by the active key."""
    rotated = SyncTopic.SIGNING_KEY_ROTATED.value
    for index, event in enumerate(events):
        if event["topic"] == rotated:
            new_key_id = int(event["payload"]["key_id"])
            before = SigningKey.objects.filter(key_id__lt=new_key_id).order_by("-key_id").first()
            if before is not None:
                private = keys.signing_key_private(code=code, key=before)
                return events[: index + 1], before.key_id, private
            break  # the mission's first key: nobody signed before it
    try:
        active = keys.signing_key_active(code=code)
    except LookupError as error:
        raise ApplicationError(
            SyncError.NOT_CONFIGURED, _("This mission has no signing key for sync.")
        ) from error
    return events, active.key_id, active.private_seed


def _bundle_build_one(*, code: str, max_events: int) -> SentBundle | None:
    """One bundle from the events after the last one bundled, or None when there are none.
    One transaction holding the link's row: two builders at once wait for each other, and the
    second one starts after the first one's range."""
    with transaction.atomic():
        link = SyncLink.objects.select_for_update().get(pk=1)
        events = _events_after(link.last_bundled_seq, max_events)
        if not events:
            return None
        events, key_id, private = _signing_key_for(code=code, events=events)
        first, last = events[0]["seq"], events[-1]["seq"]
        if first != link.last_bundled_seq + 1 or last - first + 1 != len(events):
            # the outbox is gapless by trigger; a hole here means rows were removed behind it
            raise RuntimeError(f"outbox of {code} is not contiguous after #{link.last_bundled_seq}")
        now = timezone.now()
        number = link.last_bundle_number + 1
        header = {
            "format": FORMAT,
            "kind": "events",
            "mission": code,
            "number": number,
            "first_seq": first,
            "last_seq": last,
            "event_count": len(events),
            "prev_hash": link.last_bundle_hash,
            "created_at": time_text(now),
            "key_id": key_id,
        }
        body = bundle.canonical({"header": header, "events": events})
        signed = SignedBundle(body=body, signature=bundle.sign(body, private))
        sent = SentBundle.objects.create(
            number=number,
            first_seq=first,
            last_seq=last,
            event_count=len(events),
            hash=signed.hash,
            prev_hash=link.last_bundle_hash,
            key_id=key_id,
            created_at=now,
            data=signed.to_bytes(),
        )
        link.last_bundle_number = number
        link.last_bundle_hash = signed.hash
        link.last_bundled_seq = last
        link.save(update_fields=["last_bundle_number", "last_bundle_hash", "last_bundled_seq"])
    return sent


def served_here_check(*, code: str) -> None:
    """Refuse (ApplicationError NOT_CONFIGURED) to bundle or push for a mission this database
    holds only a frozen copy of: it moved to its own node (`Mission.node_url` is set at HQ),
    which continues its chain. A task queued before the move must not fork it."""
    node_url = node_url_of(code)
    if node_url:
        raise ApplicationError(
            SyncError.NOT_CONFIGURED,
            _("This mission is served by its own node (%(url)s); it syncs from there.")
            % {"url": node_url},
        )


def bundles_build(
    *, code: str, max_events: int = 10_000, max_bundles: int | None = None
) -> list[SentBundle]:
    """Pack every outbox event not yet bundled into bundles of at most `max_events`, each in
    its own transaction (so a long backlog does not hold the link for minutes). Returns the
    new bundles, oldest first. Refused for HQ's frozen copy of a moved mission
    (`served_here_check`)."""
    if max_events < 1:
        raise ValueError("max_events must be at least 1")
    served_here_check(code=code)
    built: list[SentBundle] = []
    while max_bundles is None or len(built) < max_bundles:
        sent = _bundle_build_one(code=code, max_events=max_events)
        if sent is None:
            break
        built.append(sent)
    return built


def bundles_to_send(*, budget_bytes: int | None = None) -> list[SentBundle]:
    """The bundles HQ has not acknowledged, and those it asked for again, oldest first; at most
    `budget_bytes` of them (always at least one). Sizes are read without the frames, so a long
    backlog is not loaded into memory to pick the first few."""
    link = SyncLink.objects.get(pk=1)
    ranges = [r for r in link.resend_ranges if isinstance(r, list) and len(r) == 2]
    wanted = Q(last_seq__gt=link.acked_seq)
    for low, high in ranges:
        wanted |= Q(first_seq__lte=int(high), last_seq__gte=int(low))
    sizes = list(
        SentBundle.objects.filter(wanted)
        .annotate(size=Func(F("data"), function="octet_length"))
        .order_by("number")
        .values_list("pk", "size")
    )
    kept: list[int] = []
    total = 0
    for pk, size in sizes:
        total += size
        if kept and budget_bytes is not None and total > budget_bytes:
            break
        kept.append(pk)
    return list(SentBundle.objects.filter(pk__in=kept).order_by("number"))


def bundle_for_contact() -> SentBundle | None:
    """With nothing new to send, the smallest of the last few bundles: HQ answers it as a
    duplicate, so the mission still hears HQ's mark and newer reference data, and HQ sees the
    mission is alive, for a few bytes."""
    recent = (
        SentBundle.objects.annotate(size=Func(F("data"), function="octet_length"))
        .order_by("-number")
        .values_list("pk", "size")[:50]
    )
    smallest = min(recent, key=lambda row: row[1], default=None)
    return SentBundle.objects.get(pk=smallest[0]) if smallest else None


def frames_to_send(*, code: str, budget_bytes: int | None = None) -> list[SignedBundle]:
    """The signed frames of `bundles_to_send`, as HQ receives them."""
    return [
        SignedBundle.from_bytes(bytes(sent.data))
        for sent in bundles_to_send(budget_bytes=budget_bytes)
    ]


def bundles_resign(*, code: str) -> list[SentBundle]:
    """Sign again, with the active key, every bundle HQ has not acknowledged, and rebuild their
    chain from the last acknowledged one. For a revoked key (a stolen laptop): HQ refuses what
    it signed, so the mission's new key, registered at HQ by hand (`sync_key register`), must
    carry the tail. Same numbers, ranges and events; new `key_id`, signatures and hashes.

    Events not yet bundled are bundled first (the rotation's announcement among them, which
    would otherwise go under the revoked key). HQ's mark must be fresh (a push just answered,
    even with a refusal): a bundle HQ applied
    but whose acknowledgement was lost would otherwise come back with another hash. One
    transaction holding the link, so no bundle is built meanwhile."""
    try:
        active = keys.signing_key_active(code=code)
    except LookupError as error:
        raise ApplicationError(
            SyncError.NOT_CONFIGURED, _("This mission has no signing key for sync.")
        ) from error
    # what is not bundled yet (the rotation's own announcement) joins the tail first
    bundles_build(code=code)
    changed: list[SentBundle] = []
    with transaction.atomic():
        link = SyncLink.objects.select_for_update().get(pk=1)
        tail = list(
            SentBundle.objects.select_for_update()
            .filter(last_seq__gt=link.acked_seq)
            .order_by("number")
        )
        if not tail:
            return []
        before = SentBundle.objects.filter(number=tail[0].number - 1).first()
        prev_hash = before.hash if before else ""
        for sent in tail:
            content = SignedBundle.from_bytes(bytes(sent.data)).content
            content["header"] = {**content["header"], "key_id": active.key_id,
                                 "prev_hash": prev_hash}  # fmt: skip
            body = bundle.canonical(content)
            signed = SignedBundle(body=body, signature=bundle.sign(body, active.private_seed))
            sent.key_id, sent.prev_hash, sent.hash = active.key_id, prev_hash, signed.hash
            sent.data = signed.to_bytes()
            sent.save(update_fields=["key_id", "prev_hash", "hash", "data"])
            prev_hash = signed.hash
            changed.append(sent)
        link.last_bundle_hash = prev_hash
        link.save(update_fields=["last_bundle_hash"])
    return changed


# --- HQ's answer ---------------------------------------------------------------------------------


def _refuse(message: Any, detail: str) -> ApplicationError:
    logger.warning("sync answer refused: %s", detail)
    return ApplicationError(SyncError.FILE_INVALID, message, details={"detail": detail})


def _ack_check(frame: SignedBundle, *, code: str) -> dict[str, Any]:
    """The ack's header, if HQ signed it for this mission; else ApplicationError."""
    try:
        header = frame.header
        key_id = int(header.get("key_id", 0))
    except (BundleError, TypeError, ValueError) as error:
        raise _refuse(_("HQ's answer cannot be read."), str(error)) from error
    trusted = keys.trusted_key(purpose=KeyPurpose.SIGN, key_id=key_id)
    if trusted is None or not frame.verify(bytes(trusted.public_key)):
        raise _refuse(
            _("HQ's answer is not signed by HQ's key; nothing was changed."),
            f"ack signed by unknown or revoked key {key_id}, or tampered",
        )
    if header.get("format") != FORMAT or header.get("mission") != code:
        raise _refuse(
            _("HQ's answer is for another mission; nothing was changed."),
            f"ack for {header.get('mission')!r}, this is {code!r}",
        )
    acked = header.get("acked_seq")
    want = header.get("want", [])
    if not isinstance(acked, int) or acked < 0 or not isinstance(want, list):
        raise _refuse(_("HQ's answer cannot be read."), "ack without acked_seq or want")
    return header


def _ranges_clean(want: Any) -> list[list[int]]:
    ranges = []
    for item in want if isinstance(want, list) else []:
        if (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in item)
            and 0 < item[0] <= item[1]
        ):
            ranges.append([item[0], item[1]])
    return ranges[:1000]


def _ack_time(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def answer_apply(data: bytes, *, code: str, from_file: bool = True) -> dict[str, Any]:
    """Apply HQ's answer (a plain file of frames): the signed `ack` moves this mission's
    acknowledged mark and records what HQ wants again; a `reference` frame goes to
    `sync.reference.reference_apply`. An ack not signed by HQ's trusted `sign` key, or for
    another mission, is refused (ApplicationError FILE_INVALID) and changes nothing.

    `down` frames (accounts with password hashes) travel only in the answer to a push over
    HTTPS (`push` passes `from_file=False`): an answer carried as a file (the import page,
    `sync_import --mission`; the default) that holds one is refused whole, nothing changed.

    Returns `{"acked_seq", "want", "refused": [...], "results": [...], "reference_applied"}`."""
    try:
        frames = bundle.file_unpack(data)
    except BundleError as error:
        raise _refuse(_("HQ's answer cannot be read."), error.detail) from error
    acks, references, downs = [], [], []
    for frame in frames:
        try:
            kind = frame.header.get("kind")
        except BundleError as error:
            raise _refuse(_("HQ's answer cannot be read."), error.detail) from error
        if kind == "ack":
            acks.append((frame, _ack_check(frame, code=code)))
        elif kind == "reference":
            references.append(frame)
        elif kind == "down":
            downs.append(frame)
        else:
            raise _refuse(_("HQ's answer cannot be read."), f"unexpected frame kind {kind!r}")
    if downs and from_file:
        raise _refuse(
            _("A file from HQ never carries accounts; nothing was changed."),
            "down frame in an answer file",
        )
    if not acks and not references and not downs:
        raise _refuse(_("HQ's answer holds no acknowledgement."), "no ack frame")

    outcome: dict[str, Any] = {
        "acked_seq": None,
        "want": [],
        "refused": [],
        "results": [],
        "reference_applied": False,
        "down_applied": [],
    }
    now = timezone.now()
    with transaction.atomic():
        link = SyncLink.objects.select_for_update().get(pk=1)
        for frame, header in acks:
            # HQ's mark only moves forward: an old answer replayed changes nothing
            acked = min(int(header["acked_seq"]), link.last_bundled_seq)
            if acked > link.acked_seq:
                link.acked_seq = acked
            # what HQ wants again: from the newest ack only (an old one replayed is ignored)
            signed_at = _ack_time(header.get("created_at"))
            if signed_at is not None and (
                link.resend_ranges_ack_at is None or signed_at >= link.resend_ranges_ack_at
            ):
                link.resend_ranges = _ranges_clean(header.get("want", []))
                link.resend_ranges_ack_at = signed_at
            outcome["want"] = link.resend_ranges
            outcome["refused"].extend(frame.content.get("refused") or [])
            outcome["results"].extend(frame.content.get("results") or [])
        outcome["acked_seq"] = link.acked_seq
        link.save(update_fields=["acked_seq", "resend_ranges", "resend_ranges_ack_at"])
        SentBundle.objects.filter(last_seq__lte=link.acked_seq, acked_at__isnull=True).update(
            acked_at=now
        )
    for frame in references:
        outcome["reference_applied"] = reference_apply(frame) or outcome["reference_applied"]
    for frame in downs:
        if down_apply(frame, code=code):
            outcome["down_applied"].append(frame.header["name"])
    return outcome


# --- Push ----------------------------------------------------------------------------------------


@dataclass
class PushResult:
    sent: list[int] = field(default_factory=list)  # bundle numbers
    acked_seq: int | None = None
    error: str = ""  # empty when HQ answered and refused nothing
    refused: list[dict[str, Any]] = field(default_factory=list)
    next_attempt_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.error


def backoff_delay(failures: int, *, rng: random.Random | None = None) -> timedelta:
    """How long to wait after `failures` failures in a row: 2^failures minutes, at most six
    hours, give or take 10% so that missions cut off together do not all come back at once."""
    base = min(timedelta(minutes=2 ** min(failures, 20)), BACKOFF_CAP)
    return base * (rng or random).uniform(0.9, 1.1)


def _link_record(*, error: str) -> SyncLink:
    now = timezone.now()
    with transaction.atomic():
        link = SyncLink.objects.select_for_update().get(pk=1)
        link.last_attempt_at = now
        if error:
            link.failures += 1
            link.next_attempt_at = now + backoff_delay(link.failures)
            link.last_error = error[:500]
        else:
            link.failures = 0
            link.next_attempt_at = None
            link.last_error = ""
            link.last_success_at = now
        link.save(
            update_fields=[
                "last_attempt_at",
                "failures",
                "next_attempt_at",
                "last_error",
                "last_success_at",
            ]
        )
    return link


def push(*, code: str) -> PushResult:
    """One round trip to HQ: build what is new, send every bundle HQ has not acknowledged (or
    asked for again; with nothing new, a small bundle again, so HQ hears from the mission and
    answers with its mark and any newer reference data: `bundle_for_contact`), apply HQ's answer.

    Never raises for HQ being away or refusing: the result says why, and `SyncLink` counts the
    failure and sets the next try (`backoff_delay`). Raises ApplicationError NOT_CONFIGURED,
    touching nothing, on HQ's frozen copy of a mission moved to its own node. Call it outside
    any transaction."""
    from .transport import exchange, over_http

    served_here_check(code=code)  # raises: HQ's frozen copy of a moved mission never pushes
    result = PushResult()
    try:
        bundles_build(code=code)
        sending = bundles_to_send(budget_bytes=PUSH_BUDGET_BYTES)
        if not sending:
            contact = bundle_for_contact()
            sending = [contact] if contact is not None else []
        if not sending:
            raise ApplicationError(SyncError.NOT_CONFIGURED, _("There is nothing to send yet."))
        result.sent = [sent.number for sent in sending]
        frames = [SignedBundle.from_bytes(bytes(sent.data)) for sent in sending]
        node = over_http()
        if node:  # a node proves it holds its key now: HQ sends down sets only then (sync.down)
            frames.insert(0, hello_sign(code=code))
        body = bundle.file_pack(frames)
        reference_version = SyncLink.objects.values_list("reference_version", flat=True).get(pk=1)
        answer = exchange(
            body,
            reference_version=reference_version,
            down_hashes=down_hashes_local(code=code) if node else None,
        )
        try:
            outcome = answer_apply(answer, code=code, from_file=False)
        except ApplicationError:
            raise
        except Exception as error:  # any failure applying it is a failed push, with backoff
            logger.exception("%s: HQ's answer could not be applied", code)
            raise ApplicationError(
                SyncError.FILE_INVALID,
                _("HQ's answer could not be applied: %(error)s") % {"error": error},
            ) from error
        result.acked_seq = outcome["acked_seq"]
        result.refused = outcome["refused"]
        if result.refused:
            first = result.refused[0]
            result.error = f"HQ refused: {first.get('reason', '')} {first.get('detail', '')}"
    except ApplicationError as error:
        result.error = f"{error.code.value}: {error.message}"
    link = _link_record(error=result.error)
    result.next_attempt_at = link.next_attempt_at
    if result.acked_seq is None:
        result.acked_seq = link.acked_seq
    return result


def push_due(*, now: datetime | None = None) -> bool:
    """Whether the backoff allows a push now."""
    link = SyncLink.objects.get(pk=1)
    return link.next_attempt_at is None or link.next_attempt_at <= (now or timezone.now())


def push_if_due(*, code: str) -> PushResult | None:
    """`push`, unless the last failures set a later time (beat's task); None when skipped.
    Refused (ApplicationError) for HQ's frozen copy of a moved mission."""
    served_here_check(code=code)
    if not push_due():
        return None
    return push(code=code)


# --- Files ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    data: bytes
    bundles: list[SentBundle]
    sealed_key_id: int | None

    @property
    def event_count(self) -> int:
        return sum(sent.event_count for sent in self.bundles)


def file_export_build(*, code: str, sealed: bool = True) -> ExportFile:
    """Every bundle HQ has not acknowledged (built first from what is new), as one file; sealed
    for HQ's `encrypt` key unless `sealed` is False."""
    recipient = None
    if sealed:
        recipient = keys.trusted_key(purpose=KeyPurpose.ENCRYPT)
        if recipient is None:
            raise ApplicationError(
                SyncError.NOT_CONFIGURED,
                _("This mission has no HQ encryption key to seal the file for."),
            )
    bundles_build(code=code)
    sending = bundles_to_send()
    frames = [SignedBundle.from_bytes(bytes(sent.data)) for sent in sending]
    if recipient is None:
        return ExportFile(data=bundle.file_pack(frames), bundles=sending, sealed_key_id=None)
    data = bundle.file_pack(
        frames, recipient_key=bytes(recipient.public_key), recipient_key_id=recipient.key_id
    )
    return ExportFile(data=data, bundles=sending, sealed_key_id=recipient.key_id)


def file_export(*, code: str, sealed: bool = True) -> bytes:
    return file_export_build(code=code, sealed=sealed).data
