"""After the approval: HQ prints the passport and sends it back (the mission learns it from HQ's
register: `application_dispatch_receive`, run by beat and after HQ personalises), the officer
records its arrival (the citizen is told it is ready), and hands it over: identity checked, the
old passport cancelled, the new one signed for."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM, SystemActor
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from .. import locks
from ..error_codes import PassportError
from ..events import PassportTopic
from ..models import Application, ApplicationStatus, Step
from ..register.selectors import personalisation_case_find
from .common import step_record
from .report import document_index


def application_dispatch_receive(
    *, application: Application, acting_user: User | SystemActor = SYSTEM
) -> Application:
    """Bring what HQ did with an approved case into the citizen's timeline: "sent for
    personalisation" once HQ has the case, "printed" (and the status) once HQ printed it. Reads
    HQ's register (on the search path); changes nothing when HQ has nothing new."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_PROCESS)
    case = personalisation_case_find(mission=current_mission().code, application_id=application.pk)
    if case is None or application.status != ApplicationStatus.APPROVED:
        return application
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if application.status != ApplicationStatus.APPROVED:
            return application
        step_record(application=application, step=Step.SENT, mail=False, at=case.received_at)
        if not case.document_number or case.printed_at is None:
            return application
        application.move_to(ApplicationStatus.DISPATCHED)
        application.document_number = case.document_number
        application.document_expires_on = case.expires_on
        set_acting_user(application, acting_user)
        application.save(
            update_fields=["status", "document_number", "document_expires_on", "updated_at"]
        )
        outbox_event_record(
            topic=PassportTopic.APPLICATION_DISPATCHED,
            aggregate_id=application.pk,
            payload={
                "reference": application.reference,
                "document_index": document_index(case.document_number),
            },
            acting_user=acting_user,
        )
        step_record(application=application, step=Step.PRINTED, at=case.printed_at)
    return application


def dispatches_receive() -> int:
    """Every approved case of this mission against HQ's register (beat); how many moved."""
    moved = 0
    for application in Application.objects.filter(status=ApplicationStatus.APPROVED):
        if application_dispatch_receive(application=application).status != "approved":
            moved += 1
    return moved


def application_arrival_record(*, application: Application, acting_user: User) -> Application:
    """The passport arrived at the mission: the citizen is told it is ready for collection."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_PROCESS)
    now = timezone.now()
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if not application.can_record_arrival():
            raise ApplicationError(
                CommonError.BAD_TRANSITION,
                _("Only a passport HQ has printed and sent can arrive."),
            )
        application.move_to(ApplicationStatus.READY)
        application.arrived_at = now
        set_acting_user(application, acting_user)
        application.save(update_fields=["status", "arrived_at", "updated_at"])
        outbox_event_record(
            topic=PassportTopic.APPLICATION_READY,
            aggregate_id=application.pk,
            payload={"reference": application.reference},
            acting_user=acting_user,
        )
        step_record(application=application, step=Step.ARRIVED, mail=False)
        step_record(application=application, step=Step.READY)
    return application


def application_collect(
    *,
    application: Application,
    identity_confirmed: bool,
    old_document_cancelled: bool,
    signed_for: bool,
    acting_user: User,
) -> Application:
    """Hand the passport over: the holder's identity checked, the old passport (if they still
    have it) cancelled, the new one signed for. HQ's register records both through sync."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_PROCESS)
    if not identity_confirmed:
        raise ApplicationError(
            PassportError.INVALID,
            _("Confirm that you checked the holder's identity."),
            field="identity_confirmed",
        )
    if not signed_for:
        raise ApplicationError(
            PassportError.INVALID,
            _("The holder signs for the new passport before it is handed over."),
            field="signed_for",
        )
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if not application.can_collect():
            raise ApplicationError(
                CommonError.BAD_TRANSITION, _("This passport is not ready for collection.")
            )
        cancel = old_document_cancelled and bool(application.previous_document)
        application.move_to(ApplicationStatus.COLLECTED)
        application.collected_at = timezone.now()
        application.handed_over_by_id = acting_user.pk
        application.old_document_cancelled = cancel
        set_acting_user(application, acting_user)
        application.save(
            update_fields=[
                "status", "collected_at", "handed_over_by_id", "old_document_cancelled",
                "updated_at",
            ]
        )  # fmt: skip
        outbox_event_record(
            topic=PassportTopic.APPLICATION_COLLECTED,
            aggregate_id=application.pk,
            payload={
                "reference": application.reference,
                "document_index": document_index(application.document_number),
                "collected_on": timezone.localdate(
                    application.collected_at, current_mission().zone
                ).isoformat(),
                "cancelled_index": document_index(application.previous_document)
                if cancel
                else None,
            },
            acting_user=acting_user,
        )
        step_record(application=application, step=Step.COLLECTED)
    return application
