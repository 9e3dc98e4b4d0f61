"""The one entry point other apps use: `outbox_event_record`."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from consulate.kernel.tenancy import in_public_schema

from .models import OutboxEvent


class OutboxUsageError(RuntimeError):
    """A programming error: the event would not be atomic with the change it records."""


def outbox_event_record(
    *,
    topic: str,
    aggregate_type: str,
    aggregate_id: str,
    payload: dict[str, Any],
    acting_user: Any,
) -> OutboxEvent:
    """Append an event to the current mission's outbox, in the caller's transaction.

    Must be called inside `transaction.atomic()` together with the change it records, with the
    connection set to a mission schema. The database assigns `seq`.
    """
    if not connection.in_atomic_block:
        raise OutboxUsageError("outbox_event_record must run inside the change's transaction")
    if in_public_schema():
        raise OutboxUsageError("the outbox lives in mission schemas, not in public")
    event = OutboxEvent(
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload,
        actor_id=getattr(acting_user, "pk", None),
        occurred_at=timezone.now(),
    )
    event.save(force_insert=True)  # the trigger sets seq; RETURNING reads it back
    return event
