"""Lost and stolen passports: reported by their holder online (with a replacement application,
or on its own) or taken at the counter by an officer. The report is recorded here and, through
sync, in HQ's register of lost and stolen documents, which every application is checked
against; the number travels only as its blind index under HQ's key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.crypto.blind_index import blind_index
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from .. import locks
from ..error_codes import PassportError
from ..events import PassportTopic
from ..models import Application, DocumentReport, ReportKind
from .common import _text, document_number_clean

# The blind index a travel document's number has everywhere: under HQ's key (the public
# schema's), so a mission's report and HQ's register match.
DOCUMENT_PURPOSE = "travel_document"


def document_index(document_number: str) -> str:
    return blind_index(document_number, schema_name="public", purpose=DOCUMENT_PURPOSE)


# A person, by their national ID, under HQ's key too: the same index at every mission and at
# HQ (`IssuedDocument.holder_index`), so HQ can tell one person's cases at two missions apart
# from two people's. The mission's own column (`Application.national_id_index`) is under the
# mission's key and matches nothing elsewhere.
PERSON_PURPOSE = "national_id"


def person_index(national_id: str) -> str:
    return blind_index(national_id, schema_name="public", purpose=PERSON_PURPOSE)


@dataclass(frozen=True)
class Reported:
    kind: str
    reported_on: Any  # a date
    mission: str  # the code of the mission that took the report

    @property
    def kind_label(self) -> str:
        """ "lost" or "stolen" in the reader's language, as a sentence reads it."""
        return str(ReportKind(self.kind).label).lower()


def document_reported(*, document_number: str) -> Reported | None:
    """Whether this passport number is reported lost or stolen: at this mission (at once) or in
    HQ's register (any mission's report, once sync has brought it)."""
    from ..register.selectors import reported_document_find

    if not document_number:
        return None
    index = document_index(document_number)
    own = DocumentReport.objects.filter(document_index=index).first()
    if own is not None:
        return Reported(
            kind=own.kind,
            reported_on=timezone.localdate(own.created_at, current_mission().zone),
            mission=current_mission().code,
        )
    central = reported_document_find(document_index=index)
    if central is None:
        return None
    return Reported(kind=central.kind, reported_on=central.reported_on, mission=central.mission)


def document_report_record(
    *,
    kind: ReportKind,
    document_number: str,
    circumstances: str,
    acting_user: User | SystemActor,
    application: Application | None = None,
) -> DocumentReport:
    """Record a report and its event, in the caller's transaction (a step of the services
    below and of `application_submit`, which checked who acts). A number reported already is
    not reported twice: the first report stands."""
    number = document_number_clean(document_number)
    if not number:
        raise ApplicationError(
            PassportError.INVALID, _("Enter the passport number."), field="document_number"
        )
    index = document_index(number)
    locks.document_lock(document_index=index)
    existing = DocumentReport.objects.filter(document_index=index).first()
    if existing is not None:
        return existing
    now = timezone.now()
    report = DocumentReport(
        kind=kind,
        document_number=number,
        circumstances=_text(circumstances, field="circumstances", limit=2000),
        reported_by_id=acting_user.pk,
        application_id=application.pk if application is not None else None,
    )
    set_acting_user(report, acting_user)
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        # the same number reported at the same moment by someone else: theirs stands
        return DocumentReport.objects.get(document_index=index)
    outbox_event_record(
        topic=PassportTopic.DOCUMENT_REPORTED,
        aggregate_id=report.pk,
        payload={
            "kind": str(kind),
            "document_index": index,
            "reported_on": timezone.localdate(now, current_mission().zone).isoformat(),
            "reported_at": now.isoformat(),
        },
        acting_user=acting_user,
    )
    return report


def document_report_by_citizen(
    *, kind: str, document_number: str, circumstances: str, acting_user: User
) -> DocumentReport:
    """A citizen reports their passport lost or stolen online, at once, before any application."""
    if not getattr(acting_user, "is_authenticated", False):
        raise ApplicationError(PassportError.INVALID, _("Sign in to report a passport."))
    return _report(kind=kind, number=document_number, circumstances=circumstances,
                   acting_user=acting_user)  # fmt: skip


def document_report_take(
    *, kind: str, document_number: str, circumstances: str, acting_user: User | SystemActor
) -> DocumentReport:
    """An officer takes a report at the counter."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_PROCESS)
    return _report(kind=kind, number=document_number, circumstances=circumstances,
                   acting_user=acting_user)  # fmt: skip


def _report(
    *, kind: str, number: str, circumstances: str, acting_user: User | SystemActor
) -> DocumentReport:
    if kind not in ReportKind.values:
        raise ApplicationError(
            PassportError.INVALID, _("Say whether it was lost or stolen."), field="kind"
        )
    with transaction.atomic():
        return document_report_record(
            kind=ReportKind(kind),
            document_number=number,
            circumstances=circumstances,
            acting_user=acting_user,
        )
