"""The mission's side of a passport application: the biometrics visit, the officer's
recommendation and the consul's decision (four eyes: never the same person, which the database
refuses too).

Every verb asks the permission table first (`Action.PASSPORT_PROCESS`, `PASSPORT_DECIDE`), then
its guard, then takes the application's lock and writes the change, its history, its event and
the citizen's timeline step in one transaction; the e-mail is queued on commit."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.services import booking_visit_record
from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from fees.models import AssessmentStatus
from fees.selectors import assessment_get
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import SealedForHq, outbox_event_record

from .. import locks
from ..devices import FingerprintDevice, fingerprints_keep, index_fingers_capture
from ..error_codes import PassportError
from ..events import PassportTopic
from ..models import (
    Application,
    ApplicationStatus,
    Finger,
    FingerprintCapture,
    Recommendation,
    Step,
)
from .common import _text, four_eyes_require, step_record


def application_paid(*, application: Application) -> bool:
    """The fee is paid in full (its assessment settled), online or at the counter."""
    if application.assessment_id is None:
        return False
    return assessment_get(pk=application.assessment_id).status == AssessmentStatus.SETTLED


def _reason(value: str, *, field: str = "reason") -> str:
    text = _text(value, field=field, limit=2000)
    if not text:
        raise ApplicationError(PassportError.REASON_REQUIRED, _("State the reason."), field=field)
    return text


def _biometrics_due(application: Application) -> None:
    if not application.can_take_biometrics():
        raise ApplicationError(
            CommonError.BAD_TRANSITION,
            _("Biometrics are taken once, for a submitted application."),
        )


def application_biometrics_take(
    *,
    application: Application,
    identity_confirmed: bool,
    acting_user: User,
    device: FingerprintDevice | None = None,
) -> Application:
    """At the visit: the officer has checked the person against the application (and any
    previous passport), the fee is verified paid, and both index fingers are captured through
    the device. A capture under the minimum quality is refused: nothing is recorded, capture
    again. The visit's booking, if the application has one, follows in the same transaction
    (`appointments.services.booking_visit_record`: served on its day, cancelled by the mission
    with its place given back when the person came before it, else left as it is)."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_PROCESS)
    # first (a form sent twice captures no fingers again), and again under the lock
    _biometrics_due(application)
    if not identity_confirmed:
        raise ApplicationError(
            PassportError.INVALID,
            _("Confirm that you checked the person's identity against the application."),
            field="identity_confirmed",
        )
    if not application_paid(application=application):
        raise ApplicationError(
            PassportError.NOT_PAID,
            _("The fee is not paid yet: the cashier takes it first."),
        )
    captures = index_fingers_capture(device=device, refused=PassportError.FINGERPRINT_QUALITY)
    now = timezone.now()
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        _biometrics_due(application)
        if application.booking_id is not None:
            # an internal step: PASSPORT_PROCESS, checked above, is what allows it
            booking_visit_record(
                booking_id=application.booking_id, visited_at=now, acting_user=acting_user
            )
        application.move_to(ApplicationStatus.BIOMETRICS_TAKEN)
        application.biometrics_taken_at = now
        application.biometrics_taken_by_id = acting_user.pk
        set_acting_user(application, acting_user)
        application.save(
            update_fields=["status", "biometrics_taken_at", "biometrics_taken_by_id", "updated_at"]
        )
        fingerprints_keep(
            model=FingerprintCapture,
            captures=captures,
            acting_user=acting_user,
            application=application,
        )
        outbox_event_record(
            topic=PassportTopic.APPLICATION_BIOMETRICS_TAKEN,
            aggregate_id=application.pk,
            payload={
                "reference": application.reference,
                "qualities": {finger: captures[finger].quality for finger in Finger.values},
            },
            acting_user=acting_user,
        )
        step_record(application=application, step=Step.BIOMETRICS_TAKEN)
    return application


def application_recommend(
    *, application: Application, recommendation: str, reason: str, acting_user: User
) -> Application:
    """The officer recommends issuing (a note is optional) or refusing (the reason is required)."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_PROCESS)
    if recommendation not in Recommendation.values:
        raise ApplicationError(
            PassportError.INVALID, _("Choose issue or refuse."), field="recommendation"
        )
    text = (
        _reason(reason)
        if recommendation == Recommendation.REFUSE
        else _text(reason, field="reason", limit=2000)
    )
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        application.move_to(ApplicationStatus.RECOMMENDED)
        application.recommendation = recommendation
        application.recommendation_reason = text
        application.recommended_by_id = acting_user.pk
        application.recommended_at = timezone.now()
        set_acting_user(application, acting_user)
        application.save(
            update_fields=[
                "status", "recommendation", "recommendation_reason", "recommended_by_id",
                "recommended_at", "updated_at",
            ]
        )  # fmt: skip
        outbox_event_record(
            topic=PassportTopic.APPLICATION_RECOMMENDED,
            aggregate_id=application.pk,
            payload={"reference": application.reference, "recommendation": recommendation},
            acting_user=acting_user,
        )
    return application


def personalisation_data(application: Application) -> dict[str, object]:
    """The holder's data and photo HQ needs to print the passport (sealed for HQ in the
    approval's event; docs/events.md)."""
    photo = application.current_photo()
    return {
        "surname": application.surname,
        "given_names": application.given_names,
        "birth_date": application.birth_date.isoformat() if application.birth_date else None,
        "birth_place": application.birth_place,
        "sex": application.sex,
        "height_cm": application.height_cm,
        "national_id": application.national_id,
        "previous_document": application.previous_document,
        "child": application.is_child,
        "photo_jpeg_base64": photo.jpeg if photo is not None else None,
    }


def application_decide(
    *, application: Application, approve: bool, reason: str, acting_user: User
) -> Application:
    """A consul who did not recommend the case approves it (HQ personalises the passport) or
    refuses it, stating the reason the citizen reads."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_DECIDE)
    text = _reason(reason) if not approve else _text(reason, field="reason", limit=2000)
    target = ApplicationStatus.APPROVED if approve else ApplicationStatus.REFUSED
    try:
        with transaction.atomic():
            application = locks.application_lock(pk=application.pk)
            four_eyes_require(
                case=application, acting_user=acting_user, refused=PassportError.FOUR_EYES
            )
            application.move_to(target)
            application.decided_by_id = acting_user.pk
            application.decided_at = timezone.now()
            if not approve:
                application.refusal_reason = text
            set_acting_user(application, acting_user)
            application.save(
                update_fields=[
                    "status", "decided_by_id", "decided_at", "refusal_reason", "updated_at",
                ]
            )  # fmt: skip
            outbox_event_record(
                topic=PassportTopic.APPLICATION_APPROVED
                if approve
                else PassportTopic.APPLICATION_REFUSED,
                aggregate_id=application.pk,
                payload={"reference": application.reference, "kind": application.kind},
                acting_user=acting_user,
                # what HQ prints on the passport, readable by HQ alone
                sealed_for_hq=SealedForHq(
                    mission=current_mission().code, data=personalisation_data(application)
                )
                if approve
                else None,
            )
            step_record(
                application=application,
                step=Step.APPROVED if approve else Step.REFUSED,
                note="" if approve else text,
            )
    except IntegrityError as error:
        if "passports_application_four_eyes" not in str(error):
            raise
        raise ApplicationError(
            PassportError.FOUR_EYES, _("You recommended this case: another consul decides it.")
        ) from None
    return application


def application_return(*, application: Application, reason: str, acting_user: User) -> Application:
    """A consul sends a recommended case back to the officers (to look again), with the reason;
    the recommendation is cleared and a new one is needed."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.PASSPORT_DECIDE)
    text = _reason(reason)
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if application.status != ApplicationStatus.RECOMMENDED:
            raise ApplicationError(
                CommonError.BAD_TRANSITION, _("Only a recommended case can be sent back.")
            )
        application.move_to(ApplicationStatus.BIOMETRICS_TAKEN)
        application.recommendation = ""
        application.recommended_by_id = None
        application.recommended_at = None
        set_acting_user(application, acting_user)
        application.save(
            update_fields=[
                "status", "recommendation", "recommended_by_id", "recommended_at", "updated_at",
            ]
        )  # fmt: skip
        outbox_event_record(
            topic=PassportTopic.APPLICATION_RETURNED,
            aggregate_id=application.pk,
            payload={"reference": application.reference, "reason_given": bool(text)},
            acting_user=acting_user,
        )
    return application
