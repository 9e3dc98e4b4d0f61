"""Locks of the visas app, `<entity>_lock(*, pk)`, each returning the row locked FOR UPDATE
until the transaction ends.

Order: an application (`application_lock`), then its appeal, then (through the fees app's
services) its assessment, then (through the appointments app's) its booking and slot, then the
visa number blocks (in id order), and last the mission's outbox counter, which every event
takes."""

from __future__ import annotations

from .models import Appeal, VisaApplication


def application_lock(*, pk: int) -> VisaApplication:
    return VisaApplication.objects.select_for_update().get(pk=pk)


def appeal_lock(*, pk: int) -> Appeal:
    return Appeal.objects.select_for_update().get(pk=pk)
