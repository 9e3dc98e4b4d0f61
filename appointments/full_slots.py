"""Slots known to be full, kept for a few seconds in the shared cache, so that a booking for one
is refused before the session's user, CSRF's view, DRF and the database are read
(`FullSlotRefusalMiddleware` in appointments/middleware.py).

At a release most booking requests name a time that someone has just taken: 150 of the first
200 at the benchmark's rush, and every retry after. Through the whole stack each refusal cost
about as much as a booking (the session, the user's statement, DRF, the slot's statement),
and the burst of refusals is what kept the last answers waiting.

The database stays the only judge of a place. A slot is kept as full only after the database
said so: a booking took its last place (kept on commit), or a booking found it full. It is
forgotten, on commit, when a place comes back (a cancel, a move away, hours that add a desk).
So what is kept can be wrong only towards "full", and only for the window
(`APPOINTMENTS_FULL_SLOT_SECONDS`, 0: off) after a place came back by a way that does not
forget it (a statement outside the services). A slot that is not kept goes through the whole
stack, as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from consulate.kernel.tenancy import current_schema

from . import selectors
from .models import Slot

# (service code, next release or None): what a refusal of the slot says
Kept = tuple[str, dt.datetime | None]


def _seconds() -> int:
    return int(getattr(settings, "APPOINTMENTS_FULL_SLOT_SECONDS", 0))


def _key(schema: str, slot_id: int) -> str:
    return f"appointments-full:{schema}:{slot_id}"


def full_slot_keep(*, slot_id: int, service_code: str, next_release: dt.datetime | None) -> None:
    """The database has just said that the slot is full (its last place taken and committed,
    or a booking refused for it)."""
    seconds = _seconds()
    if seconds:
        cache.set(_key(current_schema(), slot_id), (service_code, next_release), seconds)


def full_slot_keep_on_commit(*, slot: Slot) -> None:
    """Inside the transaction that takes the slot's last place: kept once it commits."""
    if _seconds():
        schema = current_schema()

        def keep() -> None:
            release = selectors.service_next_release(service=slot.service)
            kept: Kept = (slot.service.code, release)
            cache.set(_key(schema, slot.pk), kept, _seconds())

        transaction.on_commit(keep)


def full_slot_forget_on_commit(*, slot_ids: Iterable[int]) -> None:
    """Inside the transaction that gives places back in these slots: forgotten once it commits
    (a rollback leaves them full, and kept)."""
    keys = [_key(current_schema(), pk) for pk in slot_ids]
    if keys and _seconds():
        transaction.on_commit(lambda: cache.delete_many(keys))


def full_slot_kept(*, slot_id: int) -> Kept | None:
    """What is kept for the slot of this mission, or None."""
    if not _seconds():
        return None
    kept: Kept | None = cache.get(_key(current_schema(), slot_id))
    return kept
