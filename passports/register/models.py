"""HQ's register of lost and stolen travel documents, in the public schema, built from the
missions' `passports.document.reported` events (`projector.py`; docs/sync.md, "Travel document
registers").

Every mission's search path ends in `public`, so a mission's request reads this table too
(`selectors.reported_document_find`): a passport reported at Tokyo is refused at Berlin. The
number itself never reaches HQ: a document is known by its blind index under HQ's key
(`consulate.kernel.crypto.blind_index`, schema `public`, purpose `travel_document`).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from passports.models import ReportKind
from sync.hq.models import MISSION_CODE_LENGTH

INDEX_LENGTH = 64  # hex of HMAC-SHA256
REPORT_ID_LENGTH = 100  # the event's aggregate id (`CentralEvent.aggregate_id`)


class ReportedDocument(models.Model):
    """One travel document reported lost or stolen, keyed by its number's blind index, and the
    one report the register keeps of it, whichever mission took it.

    Of several reports of one number the register keeps the one that sorts first by (stolen
    before lost, `reported_at`, `mission`, `seq`): the earliest report, unless a later one
    says the document was stolen, which replaces it. Every field of the row, the kind
    included, is that one report's, so the row always names the mission and event it came
    from. A total order over the reports makes the row the same whatever order the reports
    arrive in, and whether they are replayed or rebuilt (`projector.py`)."""

    document_index = models.CharField(_("document index"), max_length=INDEX_LENGTH)
    kind = models.CharField(_("lost or stolen"), max_length=10, choices=ReportKind.choices)
    mission = models.CharField(_("mission"), max_length=MISSION_CODE_LENGTH)  # its code
    seq = models.BigIntegerField()  # the report's event at that mission
    report_id = models.CharField(max_length=REPORT_ID_LENGTH)  # the mission's report (its pk)
    reported_on = models.DateField(_("date reported"))  # the mission's local date
    reported_at = models.DateTimeField(_("time reported"))

    objects: ClassVar[models.Manager[ReportedDocument]]

    class Meta:
        ordering = ["-reported_at", "document_index"]
        verbose_name = _("reported travel document")
        verbose_name_plural = _("reported travel documents")
        constraints = [
            models.UniqueConstraint(
                fields=["document_index"], name="passports_register_document_once"
            ),
            # a row is one event's report: an event cannot stand for two documents
            models.UniqueConstraint(
                fields=["mission", "seq"], name="passports_register_document_event"
            ),
            # an index in any other form (capitals, a number in clear) would never match the
            # index a mission computes for a lookup
            models.CheckConstraint(
                condition=models.Q(document_index__regex=r"^[0-9a-f]{64}$"),
                name="passports_register_document_index_hex",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ReportKind.values),
                name="passports_register_document_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(seq__gt=0) & ~models.Q(mission="") & ~models.Q(report_id=""),
                name="passports_register_document_source",
            ),
        ]
        indexes = [
            models.Index(fields=["-reported_at"], name="passports_register_doc_recent"),
            models.Index(fields=["mission", "-reported_at"], name="passports_register_doc_mission"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} document {self.document_index[:12]}… ({self.mission} #{self.seq})"


from .personalisation import (  # noqa: E402  (HQ's personalisation and issued documents)
    DocumentType,
    IssuedDocument,
    IssuedStatus,
    NumberBlock,
    OpenApplication,
    PersonalisationCase,
    PersonalisationStatus,
)

__all__ = [
    "DocumentType",
    "IssuedDocument",
    "IssuedStatus",
    "NumberBlock",
    "OpenApplication",
    "PersonalisationCase",
    "PersonalisationStatus",
    "ReportedDocument",
]
from .seals import IssuedTravelDocument, SealRoot, SealSigner, SealSignerCode  # noqa: E402, F401
