"""Helpers of the HQ registers' tests (tests/appointments/test_register.py,
tests/fees/test_register.py): a mission's events as HQ receives them, and HQ's central log."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from django.utils import timezone

from sync.export import event_wire
from sync.hq.models import CentralEvent
from sync.models import OutboxEvent
from sync.registry import events_project


def outbox_on_the_wire(topic_prefix: str) -> list[dict[str, Any]]:
    """The current schema's events whose topic starts with `topic_prefix`, in seq order, as they
    travel in a bundle (`sync.export.event_wire`), through JSON."""
    rows = OutboxEvent.objects.filter(topic__startswith=topic_prefix).order_by("seq")
    return [json.loads(json.dumps(event_wire(row))) for row in rows]


def central_log(mission: str, events: list[dict[str, Any]]) -> None:
    """What HQ's apply does before it projects a batch: the events into its central log."""
    CentralEvent.objects.bulk_create(
        [
            CentralEvent(
                mission=mission, seq=e["seq"], topic=e["topic"],
                aggregate_type=e["aggregate_type"], aggregate_id=e["aggregate_id"],
                payload=e["payload"], version=e["version"], actor_id=e["actor_id"],
                occurred_at=dt.datetime.fromisoformat(e["occurred_at"]), bundle_number=1,
                applied_at=timezone.now(),
            )
            for e in events
        ],
        ignore_conflicts=True,
    )  # fmt: skip


def shuffled_batches(events: list[dict[str, Any]], rng: random.Random) -> list[list[dict]]:
    """The events shuffled, a third of them twice, split into up to six batches at random
    points, each batch in seq order (as HQ hands a projector its events)."""
    shuffled = events + rng.sample(events, k=len(events) // 3)
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), k=rng.randint(0, 5)))
    return [
        sorted(shuffled[start:end], key=lambda e: e["seq"])
        for start, end in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)
    ]


def project_again(mission: str, events: list[dict[str, Any]]) -> None:
    """The same events projected again, as a replay or reconciliation could: whole, one by one,
    and the last half again."""
    events_project(mission=mission, events=events)
    for event in events:
        events_project(mission=mission, events=[event])
    events_project(mission=mission, events=events[len(events) // 2 :])
