"""What every HQ register's projector shares (docs/sync.md, "Registers"): an app keeps its
register's tables, its reading of its topics and its sums; the rest is here, one way for all.

- **Reading a batch, skipping what cannot be projected.** A projector reads each event with
  its own function, which checks the event against its topic's contract and raises
  `Unprojectable(reason)` when it breaks it. `events_read(batch, read, projector=NAME)` runs
  that over the batch: it returns what `read` made of the good events, in order, and records
  each bad one as a `SkippedEvent` (projector, mission, seq, topic, reason; once per
  projector, mission and seq, so a replay records it once). The rest of the batch is applied:
  the bundle was signed by the mission and is part of its hash chain, so refusing it for one
  bad field would stop everything behind it; the event stays in HQ's central event log, where
  a corrected projector can read it again (`RegisterRebuild`).
- **Payload checks**, the contract's types and ranges, each raising `Unprojectable` with the
  field's name: `envelope_read` (version, seq, aggregate id, payload object), `checked_text`
  (no NUL, within the column's length), `checked_integer` (a JSON integer: not `"1000"`, not
  `1000.0`, not `true`), `checked_date`, `checked_moment` (an aware time from 1970 to 2999,
  returned in UTC).
- **Writing a batch in a fixed number of statements**: `array_literal(values)` passes a column
  as one PostgreSQL array literal, for `INSERT ... SELECT FROM unnest(%s::type[], ...)`;
  `sums_add` adds a batch's deltas to a register's day and month sums (`SumTables`) in at
  most two statements a table.
- **Rebuilding.** `RegisterRebuild(projector=, topics=, tables=, project=)` is a register's
  `rebuild(*, mission) -> int`: it empties the mission's rows of the register and projects its
  events from the central log again. An app hands it to
  `sync.registry.projector_register(..., rebuild=)`, so `sync.registry.registers_rebuild`
  reaches every register.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.utils import timezone

from sync.export import EVENT_FIELDS, event_wire
from sync.registry import Event, ProjectionBatch

from .models import CentralEvent, MissionLink, SkippedEvent

T = TypeVar("T")

MIN_YEAR, MAX_YEAR = 1970, 2999
MAX_SEQ = 2**63 - 1  # bigint
AGGREGATE_ID_LENGTH = 100  # CentralEvent.aggregate_id


class Unprojectable(ValueError):
    """The event breaks its topic's contract; the message says how."""


def events_read(batch: ProjectionBatch, read: Callable[[Event], T], *, projector: str) -> list[T]:
    """What `read` makes of each event of the batch, in order. An event it refuses
    (`Unprojectable`) is left out and recorded as skipped by `projector`, with the reason, in
    one statement for the batch; one already recorded is not recorded again."""
    read_ok: list[T] = []
    skipped: list[SkippedEvent] = []
    now = timezone.now()
    for event in batch.events:
        try:
            read_ok.append(read(event))
        except Unprojectable as error:
            seq = event.get("seq")
            skipped.append(
                SkippedEvent(
                    mission=batch.mission,
                    seq=seq if type(seq) is int and 0 < seq <= MAX_SEQ else 0,
                    topic=str(event.get("topic", "")).replace("\x00", "")[:100],
                    projector=projector,
                    reason=str(error)[:300],
                    skipped_at=now,
                )
            )
    if skipped:
        SkippedEvent.objects.bulk_create(skipped, ignore_conflicts=True)
    return read_ok


def envelope_read(event: Event, *, versions: frozenset[int]) -> tuple[int, str, dict[str, Any]]:
    """(seq, aggregate id, payload) of an event whose version is one of `versions`."""
    version = event.get("version", 1)
    if type(version) is not int or version not in versions:  # True == 1 in Python
        raise Unprojectable(
            f"version {version!r} of {event.get('topic')} is not one this register reads"
        )
    seq = event.get("seq")
    if type(seq) is not int or not 0 < seq <= MAX_SEQ:
        raise Unprojectable("seq is not a positive integer")
    aggregate_id = event.get("aggregate_id")
    if (
        not isinstance(aggregate_id, str)
        or not 0 < len(aggregate_id) <= AGGREGATE_ID_LENGTH
        or "\x00" in aggregate_id
    ):
        raise Unprojectable("aggregate_id is not a row's id")
    payload = event.get("payload")
    if not isinstance(payload, dict):
        raise Unprojectable("the payload is not an object")
    return seq, aggregate_id, payload


def checked_text(
    payload: dict[str, Any], name: str, max_length: int, *, blank: bool = False
) -> str:
    """`payload[name]`: a text of at most `max_length` characters without NUL (PostgreSQL
    stores none), not empty unless `blank` (then missing or null reads as "")."""
    value = payload.get(name)
    if value is None and blank:
        return ""
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise Unprojectable(f"{name} is not a text of at most {max_length} characters")
    if not value and not blank:
        raise Unprojectable(f"{name} is empty")
    return value


def checked_integer(value: Any, name: str, low: int, high: int) -> int:
    # bool is an int in Python and 2.0 == 2: neither is a count or an amount
    if type(value) is not int or not low <= value <= high:
        raise Unprojectable(f"{name} is not an integer from {low} to {high}")
    return value


def checked_date(value: Any, name: str) -> dt.date:
    if not isinstance(value, str) or len(value) != 10:
        raise Unprojectable(f"{name} is not a date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Unprojectable(f"{name} is not a date") from None


def checked_moment(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise Unprojectable(f"{name} is not a time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Unprojectable(f"{name} is not a time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Unprojectable(f"{name} has no time zone")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:  # and far from datetime's ends, where
        raise Unprojectable(f"{name} is out of range")  # a time zone's shift overflows
    # in UTC: PostgreSQL stores no offset beyond +-15:59 nor one with seconds (+20:00 or
    # +05:30:15 would be a DataError inside the apply's transaction)
    return moment.astimezone(dt.UTC)


def array_literal(values: list[Any]) -> str:
    """A PostgreSQL array literal of `values` (None, bool, int, str, date, aware datetime), to
    pass as one text parameter cast to the column's array type: ten times faster than letting
    the driver quote a list element by element, which is most of a batch's time. Texts are
    quoted and escaped (they hold no NUL: `checked_text` refuses it)."""
    out = []
    for value in values:
        kind = type(value)
        if kind is int:
            out.append(str(value))
        elif isinstance(value, str):
            out.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif value is None:
            out.append("NULL")
        elif kind is bool:
            out.append("t" if value else "f")
        else:  # date, aware datetime
            out.append(value.isoformat())
    return "{" + ",".join(out) + "}"


def _table_sums_add(
    *,
    mission: str,
    table: type[models.Model],
    keys: Sequence[tuple[str, str]],
    sums: Sequence[tuple[str, str]],
    deltas: Mapping[tuple[Any, ...], list[int]],
    can_insert: Callable[[list[int]], bool],
) -> None:
    """Add each key's deltas to its row of `table`, one row per mission and key, keys in order
    (so two batches lock rows in the same order). `keys` and `sums` are (column, SQL type) in
    the order of a key's values and of a delta's; `table` has a unique constraint on
    (mission, *keys).

    PostgreSQL checks an INSERT's row against the table's CHECK before it finds the conflict
    that turns it into an UPDATE, so deltas that could not be a row of their own
    (`can_insert` false: a count going down, a booking leaving a day, a refund moved off the
    date it was first given) are added by an UPDATE of the rows they must already be in; the
    others by an upsert. At most two statements, whatever the batch's length."""
    chosen = sorted(key for key, delta in deltas.items() if any(delta))
    fresh = [key for key in chosen if can_insert(deltas[key])]
    existing = [key for key in chosen if not can_insert(deltas[key])]
    name = table._meta.db_table
    key_names = ", ".join(column for column, _type in keys)
    sum_names = ", ".join(column for column, _type in sums)
    arrays = ", ".join(f"%s::{sql_type}[]" for _column, sql_type in (*keys, *sums))

    def params(rows: list[tuple[Any, ...]]) -> list[str]:
        return [array_literal([row[i] for row in rows]) for i in range(len(keys))] + [
            array_literal([deltas[row][i] for row in rows]) for i in range(len(sums))
        ]

    with connection.cursor() as cursor:
        if existing:
            sets = ", ".join(f"{column} = {name}.{column} + d.{column}" for column, _ in sums)
            matches = " AND ".join(f"{name}.{column} = d.{column}" for column, _ in keys)
            cursor.execute(
                f"UPDATE {name} SET {sets}"  # noqa: S608 (names are ours)
                f" FROM unnest({arrays}) AS d({key_names}, {sum_names})"
                f" WHERE {name}.mission = %s AND {matches}",
                [*params(existing), mission],
            )
            if cursor.rowcount != len(existing):
                # a delta for a row that is not there (a booking leaving a day it was never
                # added to): the register is not what its rows say; refuse rather than write
                # sums that hide it
                raise RuntimeError(f"register {name} of {mission} is out of step")
        if fresh:
            updates = ", ".join(
                f"{column} = {name}.{column} + EXCLUDED.{column}" for column, _ in sums
            )
            cursor.execute(
                f"INSERT INTO {name} (mission, {key_names}, {sum_names})"  # noqa: S608
                f" SELECT %s, * FROM unnest({arrays})"
                f" ON CONFLICT (mission, {key_names}) DO UPDATE SET {updates}",
                [mission, *params(fresh)],
            )


@dataclass(frozen=True)
class SumTables:
    """A register's sums per day and per month: two tables with the same columns, keyed by the
    mission and `keys` (column, SQL type), one of which is the date (`date_column`; the month
    table's is `month`, the month's first day). `sums` are (column, SQL type) in the order of
    a delta's values; `can_insert(delta)` says whether a delta could be a row of its own."""

    day: type[models.Model]
    month: type[models.Model]
    keys: tuple[tuple[str, str], ...]
    date_column: str
    sums: tuple[tuple[str, str], ...]
    can_insert: Callable[[list[int]], bool]


def sums_add(
    *, mission: str, deltas: Mapping[tuple[Any, ...], list[int]], tables: SumTables
) -> None:
    """Add a batch's deltas, keyed as `tables.keys`, to the day sums and, summed per month, to
    the month sums: at most four statements."""
    columns = [column for column, _type in tables.keys]
    month_keys = tuple(
        ("month", "date") if column == tables.date_column else (column, sql_type)
        for column, sql_type in tables.keys
    )
    for table, keys, table_deltas in (
        (tables.day, tables.keys, deltas),
        (tables.month, month_keys, per_month(deltas, date_at=columns.index(tables.date_column))),
    ):
        _table_sums_add(
            mission=mission,
            table=table,
            keys=keys,
            sums=tables.sums,
            deltas=table_deltas,
            can_insert=tables.can_insert,
        )


def per_month(
    deltas: Mapping[tuple[Any, ...], list[int]], *, date_at: int
) -> dict[tuple[Any, ...], list[int]]:
    """The deltas of day rows summed per month: each key's date (at index `date_at`) replaced
    by the first day of its month."""
    months: dict[tuple[Any, ...], list[int]] = {}
    for key, delta in deltas.items():
        month = (*key[:date_at], key[date_at].replace(day=1), *key[date_at + 1 :])
        before = months.get(month, [0] * len(delta))
        months[month] = [a + b for a, b in zip(before, delta, strict=True)]
    return months


@dataclass(frozen=True)
class RegisterRebuild:
    """A register's `rebuild` (the hook `sync.registry.projector_register` takes): called with
    a mission's code, it builds the mission's register again from HQ's central event log, after
    a corrected projector or to take in events skipped before. It holds the mission's sync link
    (the lock HQ's apply takes), deletes the mission's rows of `tables` (each has a `mission`
    column) and the projector's skipped events of the mission, and hands `project` the
    mission's events of `topics` again in seq order, in batches; one transaction. Returns the
    events read."""

    projector: str
    topics: frozenset[str]
    tables: tuple[type[models.Model], ...]
    project: Callable[[ProjectionBatch], None]

    def __call__(self, *, mission: str, batch_size: int = 10_000) -> int:
        with transaction.atomic():
            MissionLink.objects.select_for_update().filter(mission=mission).first()
            for table in self.tables:
                table._default_manager.filter(mission=mission).delete()
            SkippedEvent.objects.filter(projector=self.projector, mission=mission).delete()
            last, count = 0, 0
            while True:
                rows = list(
                    CentralEvent.objects.filter(
                        mission=mission, seq__gt=last, topic__in=self.topics
                    )
                    .order_by("seq")
                    .only(*EVENT_FIELDS)[:batch_size]
                )
                if not rows:
                    return count
                events = [event_wire(row) for row in rows]
                self.project(ProjectionBatch(mission=mission, events=events))
                last, count = rows[-1].seq, count + len(rows)
