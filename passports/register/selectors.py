"""Reads of HQ's register of lost and stolen travel documents: one query each.

The table is in the public schema, which ends every mission's search path, so a mission's
request reads it as HQ does (a counter officer checking a passport presented to them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from passports.models import ReportKind

from .models import (
    IssuedDocument,
    IssuedStatus,
    PersonalisationCase,
    PersonalisationStatus,
    ReportedDocument,
)

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


# --- personalisation and issued documents ----------------------------------------------------


def personalisation_case_find(
    *, mission: str, application_id: object
) -> PersonalisationCase | None:
    """HQ's case for a mission's approved application (read by the mission too), or None."""
    rows = PersonalisationCase.objects.filter(mission=mission, application_id=str(application_id))
    return next(iter(rows.order_by()[:1]), None)


# HQ's queue: what waits first, then what is held, then what was printed
QUEUE_ORDER = Case(
    *(
        When(status=status, then=Value(n))
        for n, status in enumerate(
            [
                PersonalisationStatus.QUEUED,
                PersonalisationStatus.HELD,
                PersonalisationStatus.PRINTED,
                PersonalisationStatus.COLLECTED,
            ]
        )
    ),
    default=Value(9),
)


def personalisation_queue(*, status: str = "", limit: int = 200) -> list[PersonalisationCase]:
    """HQ's personalisation work: waiting, then held, then printed; the oldest first in each
    (one query)."""
    cases = PersonalisationCase.objects.all()
    if status in PersonalisationStatus.values:
        cases = cases.filter(status=status)
    return list(cases.order_by(QUEUE_ORDER, "received_at", "id")[:limit])


def personalisation_case_get(*, pk: int) -> PersonalisationCase:
    case = PersonalisationCase.objects.filter(pk=pk).first()
    if case is None:
        raise Http404
    return case


@dataclass(frozen=True)
class DocumentStatus:
    document: IssuedDocument
    status: str  # valid, cancelled, expired, lost, stolen
    label: str


def issued_document_status(*, number: str) -> DocumentStatus | None:
    """What HQ's registers say of a document it issued: cancelled, reported lost or stolen,
    expired, or valid (two queries)."""
    document = IssuedDocument.objects.filter(number=str(number).strip().upper()[:9]).first()
    if document is None:
        return None
    if document.status == IssuedStatus.CANCELLED:
        return DocumentStatus(document, "cancelled", str(IssuedStatus.CANCELLED.label))
    report = reported_document_find(document_index=document.document_index)
    if report is not None:
        return DocumentStatus(document, report.kind, str(ReportKind(report.kind).label))
    if document.expires_on < timezone.localdate():
        return DocumentStatus(document, "expired", str(_("Expired")))
    return DocumentStatus(document, "valid", str(IssuedStatus.VALID.label))
