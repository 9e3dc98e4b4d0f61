"""Locks of the passports app, `<entity>_lock(*, pk)`, each returning the row locked FOR UPDATE
until the transaction ends.

Order: a travel document's number (`document_lock`), then an application, then (through the
fees app's services) its assessment, then (through the appointments app's) its booking and
slot, and last the mission's outbox counter, which every event takes.

A lost or stolen report and a renewal of the same passport take `document_lock` on its number
first: the renewal's "is it reported?" and the report's insert then follow each other, so a
report taken at the counter while the renewal is being submitted is either seen by it or
comes after it (two reports of one number are settled by their unique blind index).

At HQ, personalising a passport takes `holder_lock` on its holder's national ID first, then
the case (`PersonalisationCase`, FOR UPDATE), then the number block: two cases of one person,
from two missions, printed at the same moment, follow each other, and the second sees the
first's passport.

Allocating document numbers (HQ's passport blocks, the missions' ETD and visa blocks) takes
`number_blocks_lock` first, and no other lock of this list."""

from __future__ import annotations

from django.db import connection
from django.db.transaction import TransactionManagementError

from .models import Application


def application_lock(*, pk: int) -> Application:
    return Application.objects.select_for_update().get(pk=pk)


def document_lock(*, document_index: str) -> None:
    """Hold a travel document's number (its blind index) until the transaction ends: a
    transaction-scoped advisory lock, keyed in the schema's own space."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '|' || %s))",
            [document_index],
        )


def holder_lock(*, holder_index: str) -> None:
    """At HQ: hold a person (their national ID's blind index under HQ's key) until the
    transaction ends, whatever the schema: one key space for every mission's cases."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('passports.holder|' || %s))", [holder_index]
        )


# pg_advisory_xact_lock key of `number_blocks_lock`
NUMBER_BLOCKS_LOCK = 0x0E7D0B10


def number_blocks_lock() -> None:
    """Until the transaction ends, the only allocation of document numbers in the system
    (`numbers.number_range_claim`): two at once could each find a range free. Only inside a
    transaction, which an advisory transaction lock outside one would not outlast."""
    if not connection.in_atomic_block:
        raise TransactionManagementError("number_blocks_lock holds until a transaction ends")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [NUMBER_BLOCKS_LOCK])
