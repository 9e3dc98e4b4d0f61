"""Reads of HQ's register of lost and stolen travel documents: one query each.

The table is in the public schema, which ends every mission's search path, so a mission's
request reads it as HQ does (a counter officer checking a passport presented to them)."""

from __future__ import annotations

from .models import ReportedDocument

MAX_LIST = 1000  # a page's worth; an export of the whole register is not a list


def reported_document_find(*, document_index: str) -> ReportedDocument | None:
    """The register's row for a document, by its number's blind index under HQ's key
    (`blind_index(number, schema_name="public", purpose="travel_document")`), or None when no
    mission reported it."""
    # unique: no ORDER BY to pay for
    rows = ReportedDocument.objects.filter(document_index=document_index).order_by()
    return next(iter(rows[:1]), None)


def reported_document_list(
    *, mission: str | None = None, limit: int = 100
) -> list[ReportedDocument]:
    """The documents reported most recently (by `reported_at`), at every mission or at one (its
    code), at most `limit` (1 to `MAX_LIST`)."""
    if not 1 <= limit <= MAX_LIST:
        raise ValueError(f"limit must be from 1 to {MAX_LIST}")
    documents = ReportedDocument.objects.all()
    if mission is not None:
        documents = documents.filter(mission=mission)
    return list(documents.order_by("-reported_at", "document_index")[:limit])
