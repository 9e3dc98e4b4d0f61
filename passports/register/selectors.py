"""Reads of HQ's register of lost and stolen travel documents: one query each.

The table is in the public schema, which ends every mission's search path, so a mission's
request reads it as HQ does (a counter officer checking a passport presented to them)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Case, Q, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.validity import document_expired
from passports.models import ReportKind

from .models import (
    IssuedDocument,
    IssuedStatus,
    IssuedTravelDocument,
    OpenApplication,
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


# a row of HQ's register of open applications whose case is open: submitted, not closed
APPLICATION_OPEN = Q(opened_seq__isnull=False, closed_seq__isnull=True)


def personalisation_queue_also_open(
    *, cases: list[PersonalisationCase]
) -> dict[int, list[tuple[str, str]]]:
    """For each case of `cases` waiting to be printed (queued), the same person's other
    applications open at any mission, as (mission code, reference), oldest first; by case pk,
    only the cases that have one. One query for the whole list, whatever its length.

    A queued case's holder index is empty (HQ opens the sealed data only to print), so the
    person is the one HQ's register of open applications (`OpenApplication`) keeps for the case
    (by mission and application id, from the submission's `holder_index`); a case whose
    submission carried no index matches no one. Read-only: printing still decides
    (`services.personalisation_run` holds a second passport)."""
    keys = {
        (case.mission, case.application_id): case.pk
        for case in cases
        if case.status == PersonalisationStatus.QUEUED
    }
    if not keys:
        return {}
    # the page's cases' people (a superset: the pairs are matched below), then every open
    # application of theirs, in one statement
    people = (
        OpenApplication.objects.filter(
            APPLICATION_OPEN,
            mission__in={mission for mission, _ in keys},
            application_id__in={application_id for _, application_id in keys},
        )
        .exclude(holder_index="")
        .values("holder_index")
    )
    rows = (
        OpenApplication.objects.filter(APPLICATION_OPEN, holder_index__in=people)
        .order_by("submitted_at", "mission", "application_id")
        .values_list("mission", "application_id", "reference", "holder_index")
    )
    by_person: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    person_of: dict[int, str] = {}
    for mission, application_id, reference, holder in rows:
        by_person[holder].append((mission, application_id, reference))
        if (mission, application_id) in keys:
            person_of[keys[mission, application_id]] = holder
    also_open = {
        pk: [
            (mission, reference)
            for mission, application_id, reference in by_person[holder]
            if keys.get((mission, application_id)) != pk
        ]
        for pk, holder in person_of.items()
    }
    return {pk: others for pk, others in also_open.items() if others}


def personalisation_case_get(*, pk: int) -> PersonalisationCase:
    case = PersonalisationCase.objects.filter(pk=pk).first()
    if case is None:
        raise Http404
    return case


# a row of HQ's register of passports or of its register of sealed documents (ETDs and visas)
Document = TypeVar("Document", IssuedDocument, IssuedTravelDocument)


@dataclass(frozen=True)
class DocumentStatus(Generic[Document]):
    document: Document
    status: str  # valid, cancelled (a passport), revoked (an ETD or visa), expired, lost, stolen
    label: str


def issued_document_status(
    *, number: str, at: dt.datetime | None = None
) -> DocumentStatus[IssuedDocument] | None:
    """What HQ's registers say of a passport it issued, at `at` (now by default): cancelled,
    reported lost or stolen, expired, or valid (two queries); None when HQ issued no passport
    with this number."""
    document = IssuedDocument.objects.filter(number=str(number).strip().upper()[:9]).first()
    if document is None:
        return None
    cancelled = document.status == IssuedStatus.CANCELLED
    return _status_of(
        document,
        withdrawn=("cancelled", IssuedStatus.CANCELLED.label) if cancelled else None,
        valid_until=document.expires_on,
        at=at,
    )


def sealed_document_status(
    *, document: IssuedTravelDocument, at: dt.datetime | None = None
) -> DocumentStatus[IssuedTravelDocument]:
    """What HQ's registers say of an emergency travel document or a visa (a row of the register
    of sealed documents), at `at` (now by default): revoked by its mission, reported lost or
    stolen, expired, or valid (a query at most)."""
    return _status_of(
        document,
        withdrawn=("revoked", _("Revoked")) if document.is_revoked else None,
        valid_until=document.valid_until,
        at=at,
    )


def _status_of(
    document: Document,
    *,
    withdrawn: tuple[str, Any] | None,
    valid_until: dt.date,
    at: dt.datetime | None,
) -> DocumentStatus[Document]:
    """One order for every kind: withdrawn by its issuer, then reported lost or stolen (the one
    register of reports, which knows a document by its number's index whatever its kind: a
    report names a number, and HQ's blocks give a number to one ETD or visa), then expired
    (`document_expired`, one rule for every kind), else valid."""
    if withdrawn is not None:
        status, label = withdrawn
        return DocumentStatus(document, status, str(label))
    report = reported_document_find(document_index=document.document_index)
    if report is not None:
        return DocumentStatus(document, report.kind, str(ReportKind(report.kind).label))
    if document_expired(valid_until=valid_until, at=at or timezone.now()):
        return DocumentStatus(document, "expired", str(_("Expired")))
    return DocumentStatus(document, "valid", str(IssuedStatus.VALID.label))
