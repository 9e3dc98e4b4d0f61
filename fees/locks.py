"""Locks of the fees app, in one place so that every service takes them in the same order.

Order: the day lock (a day close only) → the assessment → its payment, waiver or credit note.
A service that needs a payment, waiver or credit note locks its assessment first, so that two
services working on one assessment queue on the same row instead of deadlocking.

Row locks are `<entity>_lock(*, pk)` (SELECT ... FOR UPDATE, in the caller's transaction).
Advisory locks (transaction-scoped, keyed by schema so missions never wait on each other) guard
what has no row yet: a business day being closed, a provider event being processed, the fees
of a reference being assessed.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from consulate.kernel.tenancy import current_schema

from .models import Assessment, CreditNote, Payment, Waiver


def assessment_lock(*, pk: int) -> Assessment:
    return Assessment.objects.select_for_update().get(pk=pk)


def payment_lock(*, pk: int) -> Payment:
    """The payment, locked; the caller holds its assessment's lock already."""
    return Payment.objects.select_for_update(of=("self",)).select_related("assessment").get(pk=pk)


def waiver_lock(*, pk: int) -> Waiver:
    """The waiver, locked; the caller holds its assessment's lock already."""
    return Waiver.objects.select_for_update(of=("self",)).select_related("line").get(pk=pk)


def credit_note_lock(*, pk: int) -> CreditNote:
    """The credit note, locked; the caller holds its assessment's lock already."""
    return (
        CreditNote.objects.select_for_update(of=("self",))
        .select_related("receipt__payment")
        .get(pk=pk)
    )


def _advisory_xact_lock(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def day_lock(*, business_date: dt.date) -> None:
    """Exclusive against every posting to `business_date` (the ledger trigger of migration
    0003 takes the same key shared) and against a second closer of that day."""
    _advisory_xact_lock(f"fees-day:{current_schema()}:{business_date.isoformat()}")


def webhook_event_lock(*, provider: str, event_id: str) -> None:
    """One delivery of a provider event at a time: a duplicate waits for the first to commit,
    then finds its row (the row is written once, with its outcome, and never changed)."""
    _advisory_xact_lock(f"fees-webhook:{current_schema()}:{provider}:{event_id}")


def reference_lock(*, reference: str) -> None:
    """One assessment of a reference's fees at a time (the reference as the counter's search
    matches it: case does not count): a second waits for the first to commit, then finds its
    fees charged. The fee-line trigger of migration 0011 takes the same key."""
    _advisory_xact_lock(f"fees-reference:{current_schema()}:{reference.strip().upper()}")
