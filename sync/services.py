"""The one entry point other apps use: `outbox_event_record` (or, for a change written in
one statement, `outbox_event_new` and that statement)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from consulate.kernel.events import TOPIC_PATTERN, EventTopic
from consulate.kernel.tenancy import in_public_schema

from .bundle import canonical, value_seal
from .keys import trusted_key
from .models import KeyPurpose, OutboxEvent


class OutboxUsageError(RuntimeError):
    """A programming error: the event would not be atomic with the change it records."""


@dataclass(frozen=True)
class SealedForHq:
    """Personal data for HQ's eyes only in an event: `mission` is the recording mission's code
    (the seal is bound to it, with the topic and the aggregate)."""

    mission: str
    data: dict[str, Any]


def outbox_event_record(
    *,
    topic: EventTopic,
    aggregate_id: Any,
    payload: dict[str, Any],
    acting_user: Any,
    version: int = 1,
    sealed_for_hq: SealedForHq | None = None,
) -> OutboxEvent:
    """Append an event to the current mission's outbox, in the caller's transaction.

    `topic` is a member of an app's `EventTopic` enum (`<app>.<entity>.<verb>`), and nothing
    else: HQ's registers depend on the topics, so each is declared once, in `<app>/events.py`.
    The entity is the aggregate type and `aggregate_id` the primary key of that row. `version`
    is the payload's version in docs/events.md: raise it when the payload changes shape.
    `acting_user` is a user or SYSTEM (recorded as no actor).

    Must be called inside `transaction.atomic()` together with the change it records, with the
    connection set to a mission schema. The database assigns `seq`.

    `sealed_for_hq`: personal data HQ needs to act (a passport to print), encrypted for HQ's
    `encrypt` key and bound to this mission, topic and aggregate, into `payload["sealed"]`; only
    HQ opens it (`sync.hq.sealed.sealed_open`). The rest of the payload stays facts and ids.
    """
    if not connection.in_atomic_block:
        raise OutboxUsageError("outbox_event_record must run inside the change's transaction")
    event = outbox_event_new(
        topic=topic,
        aggregate_id=aggregate_id,
        payload=payload,
        acting_user=acting_user,
        version=version,
        sealed_for_hq=sealed_for_hq,
    )
    event.save(force_insert=True)  # the trigger sets seq; RETURNING reads it back
    return event


def outbox_event_new(
    *,
    topic: EventTopic,
    aggregate_id: Any,
    payload: dict[str, Any],
    acting_user: Any,
    version: int = 1,
    sealed_for_hq: SealedForHq | None = None,
) -> OutboxEvent:
    """The event `outbox_event_record` would append, checked the same way, not yet written.

    For a change written in one statement with its event (the booking's data-modifying CTEs,
    appointments/services/booking_statement.py): that statement inserts this row's values, so
    the event commits with the change even in autocommit. Anything else records through
    `outbox_event_record`."""
    if not isinstance(topic, EventTopic):
        raise OutboxUsageError(f"{topic!r} is not an EventTopic member (see <app>/events.py)")
    if not TOPIC_PATTERN.match(topic.value):
        raise OutboxUsageError(f"{topic!r} is not named <app>.<entity>.<verb>")
    if in_public_schema():
        raise OutboxUsageError("the outbox lives in mission schemas, not in public")
    if sealed_for_hq is not None and aggregate_id is None:
        raise OutboxUsageError("sealed data is bound to its aggregate: name the aggregate's id")
    if sealed_for_hq is not None:
        sealed = sealed_seal(
            mission=sealed_for_hq.mission,
            topic=topic.value,
            aggregate_id=str(aggregate_id),
            data=sealed_for_hq.data,
        )
        payload = {**payload, "sealed": sealed}
    return OutboxEvent(
        topic=topic.value,
        aggregate_type=topic.aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=payload,
        version=version,
        actor_id=getattr(acting_user, "pk", None),
        occurred_at=timezone.now(),
    )


def sealed_binding(*, mission: str, topic: str, aggregate_id: str) -> bytes:
    """What a sealed value is bound to: it opens only as this mission's, topic's, aggregate's."""
    return canonical({"mission": mission, "topic": topic, "aggregate_id": aggregate_id})


def sealed_seal(
    *, mission: str, topic: str, aggregate_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    key = trusted_key(purpose=KeyPurpose.ENCRYPT)
    if key is None:
        raise OutboxUsageError("this mission holds no HQ encryption key to seal data for HQ")
    return value_seal(
        canonical(data),
        recipient_key=bytes(key.public_key),
        recipient_key_id=key.key_id,
        bound_to=sealed_binding(mission=mission, topic=topic, aggregate_id=aggregate_id),
    )
