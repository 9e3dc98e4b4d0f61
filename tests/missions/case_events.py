"""Helpers of the case and staff activity register tests: events as a mission's bundle carries
them (`sync.export.event_wire`), and missions as HQ's public schema knows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from missions.models import Mission

UTC = dt.UTC

WAIVER_REQUESTED = "fees.waiver.requested"
WAIVER_APPROVED = "fees.waiver.approved"
WAIVER_REJECTED = "fees.waiver.rejected"
NOTE_REQUESTED = "fees.credit_note.requested"
NOTE_APPROVED = "fees.credit_note.approved"
NOTE_REJECTED = "fees.credit_note.rejected"
PAYMENT_SUCCEEDED = "fees.payment.succeeded"
DAY_CLOSED = "fees.day_close.recorded"


def wire_time(at: dt.datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event(
    seq: int,
    topic: str,
    aggregate_id: str | int,
    at: dt.datetime,
    *,
    actor: Any = None,
    payload: dict[str, Any] | None = None,
    version: int = 1,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "topic": topic,
        "aggregate_type": topic.split(".")[1],
        "aggregate_id": str(aggregate_id),
        "payload": payload if payload is not None else {"subject_ref": "X"},
        "version": version,
        "actor_id": actor,
        "occurred_at": wire_time(at),
    }


class Seqs:
    """A mission's events, numbered as its outbox numbers them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, topic: str, aggregate_id: str | int, at: dt.datetime, **kwargs: Any) -> dict:
        made = event(len(self.events) + 1, topic, aggregate_id, at, **kwargs)
        self.events.append(made)
        return made

    def waiver(
        self, case_id: str, opened: dt.datetime, closed: dt.datetime | None = None,
        outcome: str = "granted", actor: int | None = 7,
    ) -> None:  # fmt: skip
        self.add(WAIVER_REQUESTED, case_id, opened, actor=actor)
        if closed is not None:
            topic = WAIVER_APPROVED if outcome == "granted" else WAIVER_REJECTED
            self.add(topic, case_id, closed, actor=actor)

    def refund(
        self, case_id: str, opened: dt.datetime, closed: dt.datetime | None = None,
        outcome: str = "granted", actor: int | None = 7,
    ) -> None:  # fmt: skip
        self.add(NOTE_REQUESTED, case_id, opened, actor=actor)
        if closed is not None:
            topic = NOTE_APPROVED if outcome == "granted" else NOTE_REJECTED
            self.add(topic, case_id, closed, actor=actor)


def hq_missions(count: int, *, prefix: str = "m") -> list[Mission]:
    """`count` missions as HQ's public schema holds them (rows only: no schema, no host),
    alternately west of UTC (New York, USD: the odd ones) and east of it (Tokyo, JPY)."""
    rows = [
        Mission(
            code=f"{prefix}{n:02d}",
            schema_name=f"{prefix}{n:02d}",
            name=f"Mission {n}",
            kind="consulate_general",
            host_country="US" if n % 2 else "JP",
            city="New York" if n % 2 else "Tokyo",
            timezone="America/New_York" if n % 2 else "Asia/Tokyo",
            currency="USD" if n % 2 else "JPY",
            languages=["en", "tr"],
            address="1 Example street",
        )
        for n in range(1, count + 1)
    ]
    Mission.objects.bulk_create(rows)
    return list(Mission.objects.filter(code__in=[m.code for m in rows]).order_by("code"))
