"""Reconciliation, the mission's side: does HQ hold exactly what this mission sent?

Both sides compute, in SQL, one digest per UTC day of the events up to HQ's acknowledged
high-water mark (`SyncLink.acked_seq`; what has not been sent yet is no difference): the number
of events and the SHA-256 of their content hashes in `seq` order. An event's content hash is a
generated column on both tables (`public.sync_event_hash`, migrations `sync` 0008 and
`sync_hq` 0003): seq, topic, aggregate type and id, version, actor and occurred_at, and the
payload as jsonb's normalised text, so both sides hash the same bytes.

The exchange, each step a signed frame through `sync.transport.exchange`:

1. `digests` (mission -> HQ): header `{format, kind, mission, created_at, key_id, upto_seq,
   complete}`, body `days: [{day, count, hash}]`. `complete` says the list holds every day the
   mission has up to `upto_seq`; otherwise HQ compares only the days listed.
2. `digests_answer` (HQ -> mission, signed by HQ's `sign` key): `in_reply_to` (the digests
   frame's hash), `days_compared`, `differ: [{day, count, hash}]` with HQ's side of each day
   that differs (count 0 and hash "" for a day HQ lacks), and `held: {day: {ranges, hashes}}`,
   the events HQ holds on differing days (up to `sync.hq.reconcile.HELD_MAX` in all): their
   seqs as `[[first, last], ...]` and the first `HELD_HASH_CHARS` hex digits of each one's
   content hash, concatenated in seq order (one string: canonical JSON of a million small
   values would cost seconds; a shortened hash only picks what to re-send, and the check
   after the repair compares full digests).
3. `repair` (mission -> HQ): header `{format, kind, mission, created_at, key_id, days,
   event_count}`, body `events` as in `events` bundles: of a day HQ listed, the events it lacks
   or holds with another hash; of a day it did not list, all of them (up to `upto_seq`); at
   most `REPAIR_MAX_EVENTS` a frame. HQ inserts what it lacks and keeps what it has:
   an event it holds with other content is logged as a conflict, never overwritten.
4. `repair_answer` (HQ -> mission): `in_reply_to`, `inserted: [seq]`, `conflicts: [seq]`.
5. After a repair, `digests` again over the days that differed (`complete: false`): what still
   differs is reported as left (and stays on HQ's sync page, `MissionLink.reconcile_differences`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from . import transport
from .bundle import FORMAT, BundleError, SignedBundle, bundle_sign, file_pack, file_unpack
from .keys import mission_code, signing_key_active, trusted_key
from .models import KeyPurpose, SyncLink

# A repair frame holds at most this many events (about 3 MB, as an events bundle of 10,000).
REPAIR_MAX_EVENTS = 10_000
# HQ's list of the events it holds on a differing day shortens each content hash to this.
HELD_HASH_CHARS = 16
# How many differing days the summary names before "and N more".
SUMMARY_DAYS_SHOWN = 5

# One row per UTC day: (day, events, SHA-256 of their content hashes in seq order). `{where}`
# selects the mission's events; `{table}` is the outbox or HQ's central log.
DAY_DIGESTS_SQL = """
SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, count(*),
       sha256(string_agg(content_hash, ''::bytea ORDER BY seq))
FROM {table}
WHERE {where}
GROUP BY 1
ORDER BY 1
"""
DAY_OF = "(occurred_at AT TIME ZONE 'UTC')::date"
CONTENT_HASHES_SQL = """
SELECT (occurred_at AT TIME ZONE 'UTC')::date, seq, content_hash
FROM {table}
WHERE {where} AND (occurred_at AT TIME ZONE 'UTC')::date = ANY(%s::date[])
ORDER BY seq
"""
# Sorting a million 40-byte rows in memory rather than in temporary files.
SORT_MEMORY = "128MB"


class ReconcileError(Exception):
    """Reconciliation could not run: HQ refused a frame, answered nothing, or not in HQ's name."""


# --- Digests (both sides) ----------------------------------------------------------------------


@dataclass(frozen=True)
class DayDigest:
    day: str  # ISO date, UTC
    count: int
    hash: str  # hex

    def to_wire(self) -> dict[str, Any]:
        return {"day": self.day, "count": self.count, "hash": self.hash}


def day_digests(
    *, table: str, where: str, params: list[Any], days: Collection[str] | None = None
) -> dict[str, DayDigest]:
    """The per-day digests of `table`'s rows matching `where`, computed by PostgreSQL; only of
    `days` if given. Runs in the connection's current schema."""
    if days is not None:
        where = f"{where} AND {DAY_OF} = ANY(%s::date[])"
        params = [*params, sorted(days)]
    sql = DAY_DIGESTS_SQL.format(table=table, where=where)
    # set_config(..., true) lasts until the transaction ends: one transaction for both
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [SORT_MEMORY])
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        day.isoformat(): DayDigest(day=day.isoformat(), count=count, hash=bytes(digest).hex())
        for day, count, digest in rows
    }


def outbox_digests(*, upto_seq: int, days: Collection[str] | None = None) -> dict[str, DayDigest]:
    """This mission's digests of its outbox up to `upto_seq` (run in its schema)."""
    return day_digests(table="sync_outboxevent", where="seq <= %s", params=[upto_seq], days=days)


def outbox_content_hashes(*, days: Collection[str], upto_seq: int) -> dict[str, dict[int, str]]:
    return content_hashes(table="sync_outboxevent", where="seq <= %s", params=[upto_seq], days=days)


def digests_differ(
    mine: dict[str, DayDigest], theirs: dict[str, DayDigest], *, complete: bool = True
) -> list[str]:
    """The days whose digests differ (a day one side lacks differs). With `complete` false,
    only `mine`'s days are compared."""
    days = set(mine) | set(theirs) if complete else set(mine)
    return sorted(day for day in days if _or_empty(mine, day) != _or_empty(theirs, day))


def _or_empty(digests: dict[str, DayDigest], day: str) -> DayDigest:
    return digests.get(day) or DayDigest(day=day, count=0, hash="")


# --- Wire form ---------------------------------------------------------------------------------


def wire_time(moment: dt.datetime) -> str:
    """UTC, always six fraction digits, four-digit years (strftime's %Y drops the zeros of
    year 1 on Linux): `"0001-01-01T00:00:00.000000Z"`."""
    utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def outbox_events_of_days(
    *, days: Collection[str], upto_seq: int, seqs: Collection[int] | None = None
) -> Iterator[dict[str, Any]]:
    """The outbox events of `days` (UTC) up to `upto_seq` (only `seqs` if given), in seq order,
    as bundles carry them."""
    only = None if seqs is None else sorted(seqs)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, topic, aggregate_type, aggregate_id, payload::text, version, actor_id,"
            " occurred_at FROM sync_outboxevent WHERE seq <= %s"
            " AND (occurred_at AT TIME ZONE 'UTC')::date = ANY(%s::date[])"
            " AND (%s::bigint[] IS NULL OR seq = ANY(%s::bigint[])) ORDER BY seq",
            [upto_seq, sorted(days), only, only],
        )
        for seq, topic, aggregate_type, aggregate_id, payload, version, actor, occurred in cursor:
            yield {
                "seq": seq,
                "topic": topic,
                "aggregate_type": aggregate_type,
                "aggregate_id": aggregate_id,
                "payload": json.loads(payload),
                "version": version,
                "actor_id": actor,
                "occurred_at": wire_time(occurred),
            }


def content_hashes(
    *, table: str, where: str, params: list[Any], days: Collection[str]
) -> dict[str, dict[int, str]]:
    """Each event's content hash, by day and seq, of `table`'s rows matching `where` on `days`."""
    sql = CONTENT_HASHES_SQL.format(table=table, where=where)
    by_day: dict[str, dict[int, str]] = {day: {} for day in days}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, sorted(days)])
        for day, seq, digest in cursor:
            by_day[day.isoformat()][seq] = bytes(digest).hex()
    return by_day


def _header(kind: str, *, code: str, key_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kind": kind,
        "mission": code,
        "created_at": wire_time(timezone.now()),
        "key_id": key_id,
        **fields,
    }


def digests_bundle_build(
    *, code: str, upto_seq: int, digests: dict[str, DayDigest], complete: bool = True
) -> SignedBundle:
    key = signing_key_active(code=code)
    header = _header("digests", code=code, key_id=key.key_id, upto_seq=upto_seq, complete=complete)
    days = [digests[day].to_wire() for day in sorted(digests)]
    return bundle_sign({"header": header, "days": days}, key.private_seed)


def repair_bundles_build(
    *,
    code: str,
    days: Collection[str],
    upto_seq: int,
    seqs: Collection[int] | None = None,
    max_events: int | None = None,
) -> Iterator[SignedBundle]:
    """Signed `repair` frames holding the events of `days` up to `upto_seq` (only `seqs` if
    given), at most `max_events` (default `REPAIR_MAX_EVENTS`) each."""
    key = signing_key_active(code=code)
    max_events = max_events or REPAIR_MAX_EVENTS

    def signed(events: list[dict[str, Any]]) -> SignedBundle:
        header = _header(
            "repair",
            code=code,
            key_id=key.key_id,
            days=sorted({event["occurred_at"][:10] for event in events}),
            event_count=len(events),
        )
        return bundle_sign({"header": header, "events": events}, key.private_seed)

    batch: list[dict[str, Any]] = []
    for event in outbox_events_of_days(days=days, upto_seq=upto_seq, seqs=seqs):
        batch.append(event)
        if len(batch) == max_events:
            yield signed(batch)
            batch = []
    if batch:
        yield signed(batch)


# --- The exchange ------------------------------------------------------------------------------

# Sends a file of frames to HQ and returns HQ's answer file (`sync.transport.exchange`'s shape).
Send = Callable[[bytes], bytes]


def _send_default(body: bytes) -> bytes:
    """Through `sync.transport` (HTTPS, or HQ in this database)."""
    link = SyncLink.objects.filter(pk=1).first()
    return transport.exchange(body, reference_version=link.reference_version if link else 0)


def _ask(request: SignedBundle, *, send: Send, answer_kind: str) -> dict[str, Any]:
    """Send one frame; return the content of HQ's signed answer to it."""
    try:
        frames = file_unpack(send(file_pack([request])))
    except BundleError as error:
        raise ReconcileError(f"HQ's answer cannot be read: {error}") from error
    refusal = ""
    for frame in frames:
        header = frame.header
        if header.get("kind") == answer_kind and header.get("in_reply_to") == request.hash:
            key = trusted_key(purpose=KeyPurpose.SIGN, key_id=header.get("key_id"))
            if key is None or not frame.verify(bytes(key.public_key)):
                raise ReconcileError(f"the {answer_kind} is not signed by HQ's key")
            return frame.content
        refused = frame.content.get("refused") if header.get("kind") == "ack" else None
        if refused:  # HQ's ack names why it refused the frame
            first = refused[0]
            refusal = f"{first.get('reason')}: {first.get('detail', '')}".rstrip(": ")
    raise ReconcileError(
        f"HQ refused the {request.header['kind']} frame ({refusal})"
        if refusal
        else f"HQ sent no {answer_kind}"
    )


@dataclass(frozen=True)
class DayDifference:
    day: str
    hq_count: int
    mission_count: int


@dataclass
class ReconcileReport:
    mission: str
    upto_seq: int
    days_compared: int = 0
    differed: list[DayDifference] = field(default_factory=list)
    resent: int = 0  # events HQ lacked and now holds
    conflicts: list[int] = field(default_factory=list)  # seqs HQ holds with other content
    left: list[DayDifference] = field(default_factory=list)

    def summary(self) -> str:
        """`berlin: 412 days compared, 2 differed (2026-11-03: HQ 118 / mission 120 events),
        2 events re-sent, 0 conflicts, 0 differences left`"""
        differed = f"{len(self.differed)} differed"
        if self.differed:
            shown = ", ".join(
                f"{d.day}: HQ {d.hq_count} / mission {d.mission_count} events"
                for d in self.differed[:SUMMARY_DAYS_SHOWN]
            )
            more = len(self.differed) - SUMMARY_DAYS_SHOWN
            differed += f" ({shown}{f', and {more} more' if more > 0 else ''})"
        return (
            f"{self.mission}: {self.days_compared} days compared, {differed}, "
            f"{self.resent} events re-sent, {len(self.conflicts)} conflicts, "
            f"{len(self.left)} differences left"
        )


def _differences(answer: dict[str, Any], mine: dict[str, DayDigest]) -> list[DayDifference]:
    return [
        DayDifference(
            day=day["day"],
            hq_count=day["count"],
            mission_count=mine[day["day"]].count if day["day"] in mine else 0,
        )
        for day in answer["differ"]
    ]


def held_encode(hashes: dict[int, str]) -> dict[str, Any]:
    """HQ's list of the events it holds on a day: {seq: full hex hash} in, wire form out."""
    ranges: list[list[int]] = []
    for seq in sorted(hashes):
        if ranges and ranges[-1][1] == seq - 1:
            ranges[-1][1] = seq
        else:
            ranges.append([seq, seq])
    text = "".join(hashes[seq][:HELD_HASH_CHARS] for seq in sorted(hashes))
    return {"ranges": ranges, "hashes": text}


def held_decode(held: Any) -> dict[int, str] | None:
    """{seq: shortened hash} from `held_encode`'s form; None if it does not add up."""
    try:
        seqs = [seq for first, last in held["ranges"] for seq in range(first, last + 1)]
        text = held["hashes"]
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(text, str) or len(text) != len(seqs) * HELD_HASH_CHARS:
        return None
    return {
        seq: text[i * HELD_HASH_CHARS : (i + 1) * HELD_HASH_CHARS] for i, seq in enumerate(seqs)
    }


def _repairs(
    *, code: str, days: list[str], upto_seq: int, held: dict[str, Any]
) -> Iterator[SignedBundle]:
    """The repair frames for the days that differ: of a day whose events HQ listed (`held`),
    only the events HQ lacks or holds otherwise; of the others, every event."""
    theirs: dict[int, str] = {}
    listed, whole = [], []
    for day in days:
        decoded = held_decode(held[day]) if day in held else None
        if decoded is None:
            whole.append(day)
        else:
            listed.append(day)
            theirs.update(decoded)
    if whole:
        yield from repair_bundles_build(code=code, days=whole, upto_seq=upto_seq)
    if listed:
        mine = outbox_content_hashes(days=listed, upto_seq=upto_seq)
        wanted = [
            seq
            for day in listed
            for seq, digest in mine[day].items()
            if theirs.get(seq) != digest[:HELD_HASH_CHARS]
        ]
        if wanted:
            yield from repair_bundles_build(code=code, days=listed, upto_seq=upto_seq, seqs=wanted)


def mission_reconcile(*, code: str | None = None, send: Send | None = None) -> ReconcileReport:
    """Reconcile this mission (the connection's schema) with HQ: compare the days, re-send the
    events of the days that differ, check again. Returns what it found and fixed; raises
    `ReconcileError` when HQ refuses or cannot be understood. `send` replaces the transport
    (tests hand it HQ's entry point in this process)."""
    code = code or mission_code()
    send = send or _send_default
    link = SyncLink.objects.filter(pk=1).first()
    upto = link.acked_seq if link else 0
    report = ReconcileReport(mission=code, upto_seq=upto)

    mine = outbox_digests(upto_seq=upto)
    request = digests_bundle_build(code=code, upto_seq=upto, digests=mine)
    answer = _ask(request, send=send, answer_kind="digests_answer")
    report.days_compared = answer["days_compared"]
    report.differed = _differences(answer, mine)
    if not report.differed:
        return report

    days = [difference.day for difference in report.differed]
    for repair in _repairs(code=code, days=days, upto_seq=upto, held=answer.get("held", {})):
        repaired = _ask(repair, send=send, answer_kind="repair_answer")
        report.resent += len(repaired["inserted"])
        report.conflicts += repaired["conflicts"]

    again = outbox_digests(upto_seq=upto, days=days)
    # a day the mission lacks (HQ holds events it never had) is listed with count 0
    for day in days:
        again.setdefault(day, DayDigest(day=day, count=0, hash=""))
    check = digests_bundle_build(code=code, upto_seq=upto, digests=again, complete=False)
    report.left = _differences(_ask(check, send=send, answer_kind="digests_answer"), again)
    return report
