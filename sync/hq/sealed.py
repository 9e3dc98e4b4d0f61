"""HQ opens what a mission sealed for it in an event's payload (`outbox_event_record(...,
sealed_for_hq=...)`): personal data HQ needs to act on, which no one else along the way reads."""

from __future__ import annotations

import json
from typing import Any

from ..bundle import BundleError, value_open
from ..keys import hq_encryption_private_key
from ..services import sealed_binding


class SealedRefused(ValueError):
    """The sealed value does not open: HQ's key is unknown or revoked, a byte was changed, or it
    was sealed for another mission, topic or aggregate."""


def sealed_open(sealed: Any, *, mission: str, topic: str, aggregate_id: str) -> dict[str, Any]:
    try:
        plain = value_open(
            sealed,
            private_key_for=hq_encryption_private_key,
            bound_to=sealed_binding(mission=mission, topic=topic, aggregate_id=str(aggregate_id)),
        )
    except BundleError as error:
        raise SealedRefused(str(error)) from error
    data = json.loads(plain)
    if not isinstance(data, dict):
        raise SealedRefused("the sealed value is not an object")
    return data
