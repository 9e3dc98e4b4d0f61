"""The citizen's side of a passport application: start a draft, save it as it is typed (from
any device: the draft is the account's), add a photo checked at once, submit, book the
biometrics visit, withdraw.

Each verb checks that the application is the acting citizen's (anyone else's is not found) and
runs in one transaction with its history and outbox event; e-mails are queued on commit."""

from __future__ import annotations

import base64
import datetime as dt
import io
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image

from appointments.models import Booking, Service, ServicePurpose
from appointments.selectors import booking_holds_place
from appointments.services import PersonInput, booking_cancel, booking_create
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from fees.models import SubjectType
from fees.reference.models import ServiceCode
from fees.services import assessment_create
from missions.selectors import current_mission
from sync.services import outbox_event_record

from .. import locks
from ..error_codes import PassportError
from ..events import PassportTopic
from ..models import (
    REPLACING,
    REPORTING,
    Application,
    ApplicationKind,
    ApplicationStatus,
    Photo,
    PhotoAttempt,
    ReportKind,
    Step,
)
from ..mrz import MrzError, mrz_transliterate
from ..photo import PhotoProblem, photo_check
from .common import FIELD_CLEANERS, step_record
from .report import document_index, document_report_record, document_reported, person_index

# The fee schedule's service each kind is charged as: mapped here once, never per case.
FEE_SERVICE: dict[str, str] = {  # by ApplicationKind value
    ApplicationKind.FIRST: ServiceCode.PASSPORT_APPLICATION,
    ApplicationKind.RENEWAL: ServiceCode.PASSPORT_APPLICATION,
    ApplicationKind.LOST: ServiceCode.PASSPORT_APPLICATION,
    ApplicationKind.STOLEN: ServiceCode.PASSPORT_APPLICATION,
    ApplicationKind.CHILD: ServiceCode.PASSPORT_APPLICATION,
}
# What every application needs before it is submitted; the kind adds its own.
REQUIRED = (
    "surname", "birth_date", "birth_place", "sex", "national_id", "height_cm", "address", "phone",
)  # fmt: skip
ADULT_AGE = 18


def _reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the counter
    return "P" + "".join(secrets.choice(alphabet) for _ in range(9))


def _require_owner(application: Application, acting_user: User) -> None:
    if not getattr(acting_user, "is_authenticated", False) or application.user_id != acting_user.pk:
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))


def _require_draft(application: Application) -> None:
    if not application.can_edit():
        raise ApplicationError(
            CommonError.BAD_TRANSITION,
            _("This application was submitted and can no longer be changed."),
        )


def application_start(*, kind: str, acting_user: User, language: str) -> Application:
    """A new draft for the signed-in citizen."""
    if not getattr(acting_user, "is_authenticated", False):
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
    if kind not in ApplicationKind.values:
        raise ApplicationError(
            PassportError.INVALID, _("Choose what you are applying for."), field="kind"
        )
    application = Application(
        reference=_reference(),
        user_id=acting_user.pk,
        email=acting_user.email,
        language=language if language in dict(settings.LANGUAGES) else "en",
        kind=kind,
    )
    with transaction.atomic():
        set_acting_user(application, acting_user)
        application.save()
        outbox_event_record(
            topic=PassportTopic.APPLICATION_STARTED,
            aggregate_id=application.pk,
            payload={"reference": application.reference, "kind": kind},
            acting_user=acting_user,
        )
    return application


@dataclass
class DraftSaved:
    application: Application
    saved: list[str] = field(default_factory=list)
    # field -> message, for each value that was not saved
    errors: dict[str, str] = field(default_factory=dict)


def application_draft_save(
    *, application: Application, values: Mapping[str, Any], acting_user: User
) -> DraftSaved:
    """Save what the citizen typed so far: each valid value is kept, each invalid one is left as
    it was and reported with its message (a draft is saved as it is typed; nothing invalid is
    ever stored). Unknown names are ignored."""
    _require_owner(application, acting_user)
    _require_draft(application)
    result = DraftSaved(application=application)
    for name, raw in values.items():
        cleaner = FIELD_CLEANERS.get(name)
        if cleaner is None:
            continue
        try:
            value = cleaner(raw)
        except ApplicationError as error:
            result.errors[name] = str(error.message)
            continue
        if getattr(application, name) != value:
            setattr(application, name, value)
            result.saved.append(name)
    if result.saved:
        update = list(result.saved)
        for source, index in (
            ("surname", "surname_index"),
            ("national_id", "national_id_index"),
            ("previous_document", "previous_document_index"),
        ):
            if source in update:
                update.append(index)
        with transaction.atomic():
            locked = locks.application_lock(pk=application.pk)
            _require_draft(locked)
            set_acting_user(application, acting_user)
            application.save(update_fields=[*update, "updated_at"])
    return result


@dataclass
class PhotoResult:
    accepted: bool
    problems: list[PhotoProblem]  # each with its code (value) and message (label)


def application_photo_add(
    *, application: Application, data: bytes, acting_user: User
) -> PhotoResult:
    """Check an uploaded photo at once. An accepted one is stored re-encoded (metadata stripped)
    and encrypted, and replaces the previous one; a refused one keeps nothing of the image, only
    the attempt and its problems."""
    _require_owner(application, acting_user)
    _require_draft(application)
    check = photo_check(data=data)
    now = timezone.now()
    with transaction.atomic():
        locked = locks.application_lock(pk=application.pk)
        _require_draft(locked)
        PhotoAttempt.objects.create(
            application=application,
            made_at=now,
            accepted=check.ok,
            problems=[str(problem.value) for problem in check.problems],
        )
        if check.ok and check.jpeg is not None:
            # the photo it replaces stays on record, no longer the current one (with history)
            previous = application.current_photo()
            if previous is not None:
                previous.is_current = False
                set_acting_user(previous, acting_user)
                previous.save(update_fields=["is_current", "updated_at"])
            with Image.open(io.BytesIO(check.jpeg)) as image:
                width, height = image.size
            photo = Photo(
                application=application,
                jpeg=base64.b64encode(check.jpeg).decode("ascii"),
                width=width,
                height=height,
            )
            set_acting_user(photo, acting_user)
            photo.save()
            step_record(application=application, step=Step.PHOTO_ACCEPTED, mail=False)
        outbox_event_record(
            topic=PassportTopic.APPLICATION_PHOTO_CHECKED,
            aggregate_id=application.pk,
            payload={
                "reference": application.reference,
                "accepted": check.ok,
                "problems": [str(problem.value) for problem in check.problems],
            },
            acting_user=acting_user,
        )
    return PhotoResult(accepted=check.ok, problems=list(check.problems))


def application_missing(
    *, application: Application, refused: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What still stops the submission: field -> what to do. `refused` are the values just sent
    and not saved (`DraftSaved.errors`), each with its refusal: the page shows the value typed,
    so its line says why that value is refused, never "This is needed." (the stored value,
    empty or older, is not what the citizen sees)."""
    missing: dict[str, str] = {}
    for name in REQUIRED:
        if getattr(application, name) in (None, ""):
            missing[name] = str(_("This is needed."))
    if application.kind in REPLACING and not application.previous_document:
        missing["previous_document"] = str(_("Enter the number of the passport it replaces."))
    age = application.age_on(current_mission().today())
    if application.kind == ApplicationKind.CHILD:
        if age is not None and age >= ADULT_AGE:
            missing["birth_date"] = str(_("A child's passport is for someone under 18."))
        if not application.other_parent_name:
            missing["other_parent_name"] = str(_("Enter the other parent's name."))
        if not application.other_parent_consent:
            missing["other_parent_consent"] = str(
                _("The other parent's consent is needed for a child's passport.")
            )
    elif age is not None and age < ADULT_AGE:
        missing["kind"] = str(_("For someone under 18, apply for a child's passport."))
    if application.current_photo() is None:
        missing["photo"] = str(_("Add a photo that passes the checks."))
    for name in ("surname", "given_names"):
        try:
            mrz_transliterate(getattr(application, name))
        except MrzError:
            missing[name] = str(
                _(
                    "A letter of this name cannot be written in a passport's machine-readable "
                    "line; write it as on your civil registration."
                )
            )
    for name, message in (refused or {}).items():
        missing[name] = message
    return missing


def application_submit(*, application: Application, acting_user: User) -> Application:
    """Send the draft to the mission: everything needed is there and the photo passed. A lost or
    stolen passport is reported at once (HQ's register, through sync); a renewal of a passport
    reported lost or stolen is refused (apply for a replacement). The fee is assessed at the
    schedule's rate, to be paid online or at the counter."""
    _require_owner(application, acting_user)
    _require_draft(application)
    missing = application_missing(application=application)
    if missing:
        raise ApplicationError(
            PassportError.INCOMPLETE,
            _("Some of the application is missing."),
            errors={name: [message] for name, message in missing.items()},
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            if application.previous_document:
                locks.document_lock(document_index=document_index(application.previous_document))
            locked = locks.application_lock(pk=application.pk)
            _require_draft(locked)
            # under the document's lock: a report taken at the counter meanwhile counts
            if application.kind == ApplicationKind.RENEWAL and document_reported(
                document_number=application.previous_document
            ):
                raise ApplicationError(
                    PassportError.DOCUMENT_REPORTED,
                    _(
                        "This passport was reported lost or stolen, so it cannot be renewed: "
                        "apply for the replacement of a lost or stolen passport instead."
                    ),
                    field="previous_document",
                )
            application.move_to(ApplicationStatus.SUBMITTED)
            application.submitted_at = now
            assessment = assessment_create(
                subject_type=SubjectType.CASE,
                subject_ref=application.reference,
                subject_path=reverse("passports:application", args=[application.reference]),
                payer_name=f"{application.given_names} {application.surname}".strip(),
                payer_language=application.language,
                services=[FEE_SERVICE[application.kind]],
                acting_user=SYSTEM,
            )
            application.assessment_id = assessment.pk
            set_acting_user(application, acting_user)
            application.save(
                update_fields=["status", "submitted_at", "assessment_id", "updated_at"]
            )
            if application.kind in REPORTING:
                document_report_record(
                    kind=ReportKind(REPORTING[application.kind]),
                    document_number=application.previous_document,
                    circumstances="",
                    application=application,
                    acting_user=acting_user,
                )
            outbox_event_record(
                topic=PassportTopic.APPLICATION_SUBMITTED,
                aggregate_id=application.pk,
                payload={
                    "reference": application.reference,
                    "kind": application.kind,
                    "submitted_at": now.isoformat(),
                    "assessment_id": assessment.pk,
                    # the person under HQ's key: HQ's register of open applications warns
                    # another mission's officer of this case
                    "holder_index": person_index(application.national_id),
                },
                acting_user=acting_user,
            )
            step_record(application=application, step=Step.SUBMITTED)
    except IntegrityError as error:
        if "passports_application_one_open_per_person" not in str(error):
            raise
        raise ApplicationError(
            PassportError.ALREADY_OPEN,
            _("An application for this person is already open at this mission."),
            field="national_id",
        ) from None
    return application


def visit_service() -> Service:
    """The appointment service the biometrics visit is booked through (its purpose, set once on
    the mission's service settings)."""
    service = Service.objects.filter(purpose=ServicePurpose.PASSPORT, is_active=True).first()
    if service is None:
        raise ApplicationError(
            PassportError.NO_VISIT_SERVICE,
            _("This mission does not take passport appointments online. Please call it."),
        )
    return service


def visit_due_require(*, application: Application) -> None:
    """Refuse, saying why, unless the application waits for its biometrics visit (submitted)
    and has none booked: a draft books it once submitted; a booking that stands is moved from
    its own page, not booked again; once the biometrics are taken the visit is recorded (and
    its booking released, when it was early), so no other is booked; a withdrawn one has none."""
    if application.status == ApplicationStatus.SUBMITTED:
        if booking_holds_place(booking_id=application.booking_id):
            raise ApplicationError(
                PassportError.INVALID,
                _("Your visit is booked already; you can move it from the booking's page."),
            )
        return
    if application.status == ApplicationStatus.DRAFT:
        message = _("The visit is booked once the application is submitted.")
    elif application.status == ApplicationStatus.WITHDRAWN:
        message = _("This application is withdrawn: no visit is needed.")
    else:
        message = _("Your visit was recorded already: no other visit is needed.")
    raise ApplicationError(CommonError.BAD_TRANSITION, message)


def application_visit_book(
    *, application: Application, slot_id: int, acting_user: User
) -> Application:
    """Book the biometrics visit from the application (its booking is linked to it), while it
    waits for that visit (`visit_due_require`). A booking already made is moved by the
    appointments app, not booked twice."""
    _require_owner(application, acting_user)
    visit_due_require(application=application)
    service = visit_service()
    with transaction.atomic():
        locked = locks.application_lock(pk=application.pk)
        visit_due_require(application=locked)  # the biometrics taken, or a visit booked, meanwhile
        booking = booking_create(
            slot_id=slot_id,
            service=service,
            persons=[
                PersonInput(
                    full_name=f"{application.given_names} {application.surname}".strip(),
                    date_of_birth=application.birth_date or dt.date(1900, 1, 1),
                    document_number=application.national_id,
                )
            ],
            user=acting_user,
            language=application.language,
            acting_user=acting_user,
        )
        application.booking_id = booking.pk
        set_acting_user(application, acting_user)
        application.save(update_fields=["booking_id", "updated_at"])
    return application


def application_withdraw(*, application: Application, acting_user: User) -> Application:
    """The citizen withdraws before the visit. A fee already paid is refunded by the cashier
    (fees app); a lost or stolen report stays (the old passport is still lost)."""
    _require_owner(application, acting_user)
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        if not application.can_withdraw():
            raise ApplicationError(
                CommonError.BAD_TRANSITION,
                _("This application can no longer be withdrawn: the mission has taken it up."),
            )
        was_draft = application.status == ApplicationStatus.DRAFT
        application.move_to(ApplicationStatus.WITHDRAWN)
        set_acting_user(application, acting_user)
        application.save(update_fields=["status", "updated_at"])
        # the visit it booked is given back to others (while the booking may still be cancelled)
        booking = (
            Booking.objects.filter(pk=application.booking_id).first()
            if application.booking_id is not None
            else None
        )
        if booking is not None and booking.can_cancel():
            booking_cancel(booking=booking, acting_user=acting_user)
        outbox_event_record(
            topic=PassportTopic.APPLICATION_WITHDRAWN,
            aggregate_id=application.pk,
            payload={"reference": application.reference, "was_draft": was_draft},
            acting_user=acting_user,
        )
        if not was_draft:
            step_record(application=application, step=Step.WITHDRAWN)
    return application
