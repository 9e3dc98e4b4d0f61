"""Builds HQ's revenue register from the missions' fee events (docs/sync.md, "Registers").
Registered with sync by `fees.apps.FeesConfig.ready`.

Which events are money, once each:
- `fees.payment.succeeded`: money taken, with its local and base amounts, its rate and its
  business date. A posting.
- `fees.credit_note.approved`: money given back, with local and base amounts. A posting
  (negative). Its payload has no business date; the refund's ledger transaction has it.
- `fees.ledger_transaction.posted`: the same money again, as double-entry legs in the local
  currency only (no base amount), plus postings that are not revenue (waivers, cash over and
  short, remittance to HQ). It is never counted: only a `refund` transaction of a credit note
  is read, for the refund's business date.

A refund's date is taken from its ledger transaction: in the same batch, or else in HQ's
central event log (the transaction is recorded in the same mission transaction, just before
the approval, so HQ, which applies a mission's events in seq order, has it already). Only if
neither has it (an event handed late by reconciliation) is the refund dated by the UTC date of
its approval, marked unconfirmed, and moved to its business date when the ledger transaction
arrives. So the register ends the same whatever the order.

Idempotent: a posting is keyed by (mission, seq) and by (mission, kind, payment or credit note
id); a posting already there is not inserted again, and only the postings inserted add to the
day and month sums (INSERT ... ON CONFLICT DO NOTHING RETURNING, then the upserts of the sums).
A batch costs a fixed number of statements whatever its length.

An event whose payload breaks its contract (an amount that is not an integer, a negative
payment, a currency that is not three capital letters, a date that is no date) is recorded in
`sync_hq.SkippedEvent` with the reason and left out: the rest of the batch is applied, and no
sum ever holds a fraction or a string. The event stays in sync's central event log
(`revenue_rebuild` reads it again). What every register does so is in `sync.hq.projection`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from typing import Any

from django.db import connection

from fees.events import FeeTopic
from sync.hq.models import CentralEvent
from sync.hq.projection import (
    RegisterRebuild,
    SumTables,
    Unprojectable,
    array_literal,
    checked_date,
    checked_integer,
    checked_moment,
    checked_text,
    envelope_read,
    events_read,
    sums_add,
)
from sync.registry import Event, ProjectionBatch

from .models import PostingKind, RevenueDay, RevenueMonth, RevenuePosting

NAME = "fees.revenue"
TOPICS = frozenset(
    {
        str(FeeTopic.PAYMENT_SUCCEEDED),
        str(FeeTopic.CREDIT_NOTE_APPROVED),
        str(FeeTopic.LEDGER_TRANSACTION_POSTED),
    }
)
# No consular fee comes near this (ten thousand million in major units): a larger amount is a
# broken payload, and the bound keeps every sum far from bigint's end.
MAX_AMOUNT_MINOR = 10**12
VERSIONS = frozenset({1})  # the payload versions this projector reads (docs/events.md)
CURRENCY = re.compile(r"^[A-Z]{3}$")
# How far before a credit note's approval its ledger transaction may be (it is the event
# just before it; a margin in case a later version records something in between).
LEDGER_LOOKBACK = 20
DAY_SUMS = (
    "payments",
    "payments_minor",
    "payments_base_minor",
    "refunds",
    "refunds_minor",
    "refunds_base_minor",
)


@dataclasses.dataclass(frozen=True)
class Posting:
    seq: int
    kind: PostingKind
    source_id: str
    document: str
    method: str
    business_date: dt.date | None  # None: a refund whose ledger transaction is elsewhere
    amount_minor: int  # signed: a refund is negative
    currency: str
    base_amount_minor: int
    base_currency: str
    occurred_at: dt.datetime
    confirmed: bool = True  # False: dated by the approval until its ledger transaction comes


def _amount(payload: dict[str, Any], name: str, low: int) -> int:
    return checked_integer(payload.get(name), name, low, MAX_AMOUNT_MINOR)


def _currency(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not CURRENCY.match(value):
        raise Unprojectable(f"{name} is not an ISO 4217 code")
    return value


def posting_read(event: Event) -> Posting:
    """The posting a money event records, or Unprojectable."""
    seq, aggregate_id, payload = envelope_read(event, versions=VERSIONS)
    occurred_at = checked_moment(event.get("occurred_at"), "occurred_at")
    if event["topic"] == FeeTopic.PAYMENT_SUCCEEDED:
        return Posting(
            seq=seq,
            kind=PostingKind.PAYMENT,
            source_id=aggregate_id,
            document=checked_text(payload, "receipt", 40),
            method=checked_text(payload, "method", 20, blank=True),
            business_date=checked_date(payload.get("business_date"), "business_date"),
            amount_minor=_amount(payload, "amount_minor", 1),
            currency=_currency(payload, "currency"),
            base_amount_minor=_amount(payload, "base_amount_minor", 0),
            base_currency=_currency(payload, "base_currency"),
            occurred_at=occurred_at,
        )
    return Posting(
        seq=seq,
        kind=PostingKind.REFUND,
        source_id=aggregate_id,
        document=checked_text(payload, "number", 40),
        method="",
        business_date=None,
        amount_minor=-_amount(payload, "amount_minor", 1),
        currency=_currency(payload, "currency"),
        base_amount_minor=-_amount(payload, "base_amount_minor", 0),
        base_currency=_currency(payload, "base_currency"),
        occurred_at=occurred_at,
    )


def refund_date_read(event: Event) -> tuple[str, dt.date] | None:
    """(credit note id, business date) of a credit note's refund transaction; None for any
    other ledger transaction (not revenue: the payment's own money is in its `succeeded`)."""
    _seq, _aggregate_id, payload = envelope_read(event, versions=VERSIONS)
    if payload.get("kind") != "refund" or payload.get("source_type") != "credit_note":
        return None
    source_id = payload.get("source_id")
    if type(source_id) is not int and (not isinstance(source_id, str) or "\x00" in source_id):
        raise Unprojectable("source_id is not a credit note's id")
    return str(source_id), checked_date(payload.get("business_date"), "business_date")


def _refund_dates_logged(mission: str, postings: list[Posting]) -> dict[str, dt.date]:
    """The business dates of these refunds' ledger transactions in HQ's central event log
    (one indexed range read just before the earliest of them)."""
    if not postings:
        return {}
    seqs = [posting.seq for posting in postings]
    wanted = {posting.source_id for posting in postings}
    rows = CentralEvent.objects.filter(
        mission=mission,
        seq__gte=min(seqs) - LEDGER_LOOKBACK,
        seq__lt=max(seqs),
        topic=FeeTopic.LEDGER_TRANSACTION_POSTED,
        payload__kind="refund",
        payload__source_type="credit_note",
    ).values_list("payload", flat=True)
    found: dict[str, dt.date] = {}
    for payload in rows:
        try:
            pair = refund_date_read({"seq": 1, "aggregate_id": "-", "payload": payload})
        except Unprojectable:
            continue
        if pair and pair[0] in wanted:
            found[pair[0]] = pair[1]
    return found


def _postings_insert(mission: str, postings: list[Posting]) -> list[tuple[Any, ...]]:
    """Insert the postings not there yet; returns (kind, business_date, currency,
    base_currency, amount_minor, base_amount_minor) of each one inserted."""
    table = RevenuePosting._meta.db_table
    columns: dict[str, tuple[str, list[Any]]] = {
        "seq": ("bigint", [p.seq for p in postings]),
        "kind": ("text", [str(p.kind) for p in postings]),
        "source_id": ("text", [p.source_id for p in postings]),
        "document": ("text", [p.document for p in postings]),
        "method": ("text", [p.method for p in postings]),
        "business_date": ("date", [p.business_date for p in postings]),
        "business_date_confirmed": ("boolean", [p.confirmed for p in postings]),
        "amount_minor": ("bigint", [p.amount_minor for p in postings]),
        "currency": ("text", [p.currency for p in postings]),
        "base_amount_minor": ("bigint", [p.base_amount_minor for p in postings]),
        "base_currency": ("text", [p.base_currency for p in postings]),
        "occurred_at": ("timestamptz", [p.occurred_at for p in postings]),
    }
    names = ", ".join(columns)
    arrays = ", ".join(f"%s::{sql_type}[]" for sql_type, _values in columns.values())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (mission, {names})"  # noqa: S608 (names are ours)
            f" SELECT %s, * FROM unnest({arrays})"
            " ON CONFLICT DO NOTHING"
            " RETURNING kind, business_date, currency, base_currency, amount_minor,"
            " base_amount_minor",
            [mission, *[array_literal(values) for _sql_type, values in columns.values()]],
        )
        return list(cursor.fetchall())


def _refund_dates_correct(
    mission: str, dates: dict[str, dt.date]
) -> list[tuple[tuple[dt.date, str, str], list[int]]]:
    """Move refunds dated by their approval to the business date of their ledger transaction,
    now seen; returns the day sums to take away and add."""
    moves: list[tuple[tuple[dt.date, str, str], list[int]]] = []
    rows = list(
        RevenuePosting.objects.select_for_update()
        .filter(
            mission=mission,
            kind=PostingKind.REFUND,
            business_date_confirmed=False,
            source_id__in=list(dates),
        )
        .order_by("seq")
    )
    for row in rows:
        new_date = dates[row.source_id]
        sums = _sums(PostingKind.REFUND, row.amount_minor, row.base_amount_minor)
        moves.append(((row.business_date, row.currency, row.base_currency), [-s for s in sums]))
        moves.append(((new_date, row.currency, row.base_currency), sums))
        row.business_date, row.business_date_confirmed = new_date, True
    if rows:
        RevenuePosting.objects.bulk_update(rows, ["business_date", "business_date_confirmed"])
    return moves


def _sums(kind: str, amount_minor: int, base_amount_minor: int) -> list[int]:
    if kind == PostingKind.PAYMENT:
        return [1, amount_minor, base_amount_minor, 0, 0, 0]
    return [0, 0, 0, 1, -amount_minor, -base_amount_minor]


SUM_TABLES = SumTables(
    day=RevenueDay,
    month=RevenueMonth,
    keys=(("business_date", "date"), ("currency", "text"), ("base_currency", "text")),
    date_column="business_date",
    sums=tuple((name, "int" if name in ("payments", "refunds") else "bigint") for name in DAY_SUMS),
    can_insert=lambda delta: min(delta) >= 0,  # a sum going down: a refund moved off a date
)


def _event_read(event: Event) -> Posting | tuple[str, dt.date] | None:
    if event["topic"] == FeeTopic.LEDGER_TRANSACTION_POSTED:
        return refund_date_read(event)
    return posting_read(event)


def revenue_project(batch: ProjectionBatch) -> None:
    """Apply one batch of a mission's fee events to the register (see the module's doc)."""
    postings: list[Posting] = []
    refund_dates: dict[str, dt.date] = {}
    for read in events_read(batch, _event_read, projector=NAME):
        if isinstance(read, Posting):
            postings.append(read)
        elif read is not None:
            refund_dates[read[0]] = read[1]

    undated = [p for p in postings if p.business_date is None and p.source_id not in refund_dates]
    refund_dates_found = {**_refund_dates_logged(batch.mission, undated), **refund_dates}
    dated = []
    for posting in postings:
        if posting.business_date is None:
            found = refund_dates_found.get(posting.source_id)
            posting = dataclasses.replace(
                posting,
                business_date=found or posting.occurred_at.astimezone(dt.UTC).date(),
                confirmed=found is not None,
            )
        dated.append(posting)

    deltas: dict[tuple[dt.date, str, str], list[int]] = defaultdict(lambda: [0] * len(DAY_SUMS))
    if dated:
        for kind, day, currency, base_currency, amount, base_amount in _postings_insert(
            batch.mission, dated
        ):
            key = (day, currency, base_currency)
            deltas[key] = [
                a + b for a, b in zip(deltas[key], _sums(kind, amount, base_amount), strict=True)
            ]
    # Refunds registered earlier without their ledger transaction, which this batch brings
    # (those inserted just now were dated by it already).
    if refund_dates:
        for key, sums in _refund_dates_correct(batch.mission, refund_dates):
            deltas[key] = [a + b for a, b in zip(deltas[key], sums, strict=True)]
    sums_add(mission=batch.mission, deltas=deltas, tables=SUM_TABLES)


# Builds a mission's register again from HQ's central event log (`RegisterRebuild`).
revenue_rebuild = RegisterRebuild(
    projector=NAME,
    topics=TOPICS,
    tables=(RevenuePosting, RevenueDay, RevenueMonth),
    project=revenue_project,
)
