"""Locks of the passports app, `<entity>_lock(*, pk)`, each returning the row locked FOR UPDATE
until the transaction ends.

Order: an application, then (through the fees app's services) its assessment, then (through
the appointments app's) its booking and slot, and last the mission's outbox counter, which
every event takes. A lost or stolen report locks nothing: its unique blind index decides a race
between two reports of one number."""

from __future__ import annotations

from .models import Application


def application_lock(*, pk: int) -> Application:
    return Application.objects.select_for_update().get(pk=pk)
