"""Slots known to be full, kept for a few seconds in the shared cache, so that a booking for one
is refused before the session's user, CSRF's view, DRF and the database are read
(`FullSlotRefusalMiddleware` in appointments/middleware.py).

At a release most booking requests name a time that someone has just taken: 150 of the first
200 at the benchmark's rush, and every retry after. Through the whole stack each refusal cost
about as much as a booking (the session, the user's statement, DRF, the slot's statement),
and the burst of refusals is what kept the last answers waiting.

The database stays the only judge of a place. A slot is kept as full only after the database
said so: a booking took its last place (kept on commit), or a booking (or the booking page,
as it opened) found it full. When a place comes back (a cancel, a move away, hours that add a
desk) the slot is marked freed, on commit, for the window (`APPOINTMENTS_FULL_SLOT_SECONDS`,
0: off), and a "full" read before that (a refusal, a booking that committed just before) is not
kept over the mark (`cache.add`).
So what is kept can be wrong only towards "full", and only for the window after a place came
back by a way that does not mark it (a statement outside the services). A slot that is not
kept goes through the whole stack, as before. A failing cache is logged and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from consulate.kernel.tenancy import current_schema

from . import selectors
from .models import Slot

logger = logging.getLogger(__name__)

# (service code, next release or None): what a refusal of the slot says
Kept = tuple[str, dt.datetime | None]
# kept for the window after a place came back: a "full" read before that cannot be kept then
FREED = "freed"


def _seconds() -> int:
    return int(getattr(settings, "APPOINTMENTS_FULL_SLOT_SECONDS", 0))


def _key(schema: str, slot_id: int) -> str:
    return f"appointments-full:{schema}:{slot_id}"


def full_slot_quietly(work: Callable[[], Any]) -> Any:
    """A kept refusal only saves work: a cache that fails must never fail a booking."""
    try:
        return work()
    except Exception:  # any failure of the cache: the stack judges as before
        logger.warning("the kept full slots could not be read or written", exc_info=True)
        return None


# When this process last learnt that a slot of a mission was full (schema: monotonic time).
# Outside a release no slot fills and every booking would ask the cache for nothing: a process
# asks only within the window after it has seen a full slot of that mission itself (a refusal,
# a last place taken); at a release its first refusal comes within milliseconds.
_full_seen_here: dict[str, float] = {}


def _seen_full(schema: str) -> None:
    _full_seen_here[schema] = time.monotonic()


def _kept_seconds(release: dt.datetime | None) -> int:
    """How long a refusal saying `release` is kept: the window, or less when the release comes
    sooner (a kept refusal lapses at its release, when the view reads the next one; the early
    refusal then neither asks for it nor counts for it). 0: not kept."""
    seconds = _seconds()
    if release is None or not seconds:
        return seconds
    return max(0, min(seconds, int((release - timezone.now()).total_seconds())))


def full_slot_keep(*, slot_id: int, service_code: str, next_release: dt.datetime | None) -> None:
    """The database has just said that the slot is full (a booking was refused for it). Kept
    unless a place came back in the window since (`FREED`): the read may be older than that."""
    seconds = _kept_seconds(next_release)
    if seconds:
        kept: Kept = (service_code, next_release)
        _seen_full(current_schema())
        full_slot_quietly(lambda: cache.add(_key(current_schema(), slot_id), kept, seconds))


def full_slot_keep_on_commit(*, slot: Slot) -> None:
    """After the statement that takes the slot's last place: kept once it commits (at once in
    autocommit; unless a place came back since)."""
    if _seconds():
        schema = current_schema()

        def keep() -> None:
            with schema_context(schema):
                release = selectors.service_next_release(service=slot.service)
            kept: Kept = (slot.service.code, release)
            _seen_full(schema)
            seconds = _kept_seconds(release)
            if seconds:
                cache.add(_key(schema, slot.pk), kept, seconds)

        transaction.on_commit(lambda: full_slot_quietly(keep), robust=True)


def full_slot_forget_on_commit(*, slot_ids: Iterable[int]) -> None:
    """Inside the transaction that gives places back in these slots (after the statement that
    does): once it commits, the slots are marked `FREED` for the window, which also stops a
    "full" read before it from being kept (a rollback leaves them as they were)."""
    seconds = _seconds()
    keys = [_key(current_schema(), pk) for pk in slot_ids]
    if keys and seconds:
        transaction.on_commit(
            lambda: full_slot_quietly(lambda: cache.set_many(dict.fromkeys(keys, FREED), seconds)),
            robust=True,
        )


def full_slot_key(*, slot_id: int) -> str | None:
    """The cache key of what is kept for the slot of this mission, or None when there is no
    need to ask (off, or this process has seen no full slot of the mission within the
    window). `full_slot_kept_value` reads what the cache holds there."""
    seconds = _seconds()
    schema = current_schema()
    if not seconds or time.monotonic() - _full_seen_here.get(schema, -seconds) > seconds:
        return None
    return _key(schema, slot_id)


def full_slot_kept_value(value: Any) -> Kept | None:
    """What the cache held at `full_slot_key`, if it says the slot is full."""
    if not isinstance(value, tuple):
        return None
    _seen_full(current_schema())
    return value


def full_slot_kept(*, slot_id: int) -> Kept | None:
    """What is kept for the slot of this mission, or None (without asking the cache when this
    process has seen no full slot of the mission within the window)."""
    key = full_slot_key(slot_id=slot_id)
    if key is None:
        return None
    return full_slot_kept_value(full_slot_quietly(lambda: cache.get(key)))
