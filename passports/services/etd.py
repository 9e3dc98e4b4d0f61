"""Emergency travel documents (ETD): the request (the citizen online, or an officer at the
counter), the consul's issue (numbered from the mission's block, sealed, the same day) and
revocation; HQ's allocation of number blocks into a mission's schema.

Every staff verb asks the permission table first (`Action.ETD_REQUEST`, `ETD_ISSUE`,
`MISSION_MANAGE`), then its guard, then takes the document's lock and writes the change, its
history and its outbox event in one transaction; the e-mail is queued on commit. Issuing needs
nothing from HQ: the number block and the signing key are already in the mission's schema, and
the events wait in the outbox until the link is back."""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM, SystemActor
from consulate.kernel.errors import ApplicationError, CommonError, FieldRefusals
from consulate.kernel.history import set_acting_user
from consulate.kernel.seal import etd_content, seal_issue
from consulate.kernel.tenancy import task_queue_on_commit
from consulate.kernel.text import date_clean
from fees.models import AssessmentStatus, SubjectType
from fees.reference.models import ServiceCode
from fees.selectors import assessment_get
from fees.services import assessment_create
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from passports.mrz import MrzError, MrzFields, code_is_known, td2_compose
from sync.services import outbox_event_record

from ..error_codes import PassportError
from ..events import PassportTopic
from ..models import (
    ETD_MAX_DAYS,
    EmergencyTravelDocument,
    EtdNumberBlock,
    EtdSettings,
    EtdStatus,
    ReportKind,
)
from ..numbers import NumberSeries, number_block_allocate, number_take, numbers_left
from ..photo import photo_check
from ..register.seal_keys import issuing_state
from .common import _birth_date, _name, _sex, _text, document_number_clean
from .report import document_report_record
from .signer import document_signer_active

# The ETD's document code in its TD2 MRZ: a passport (P) for an emergency (E).
ETD_DOCUMENT_CODE = "PE"
# What the request form sends, and nothing else is read.
ETD_FIELDS = (
    "surname", "given_names", "birth_date", "sex", "nationality", "lost_document",
    "report_kind", "circumstances", "destination_country", "destination_city", "journey_date",
    "valid_until",
)  # fmt: skip
__all__ = [
    "ETD_DOCUMENT_CODE",
    "ETD_NUMBERS",
    "document_signer_active",
    "etd_apply",
    "etd_block_allocate",
    "etd_issue",
    "etd_max_days",
    "etd_mrz",
    "etd_numbers_left",
    "etd_paid",
    "etd_photo_add",
    "etd_request_clean",
    "etd_request_record",
    "etd_revoke",
    "etd_seal",
    "etd_settings_change",
    "issuing_state",
]


# --- the mission's policy and number blocks ---------------------------------------------------


def _tasks():  # type: ignore[no-untyped-def]
    from .. import tasks  # the tasks call these services

    return tasks


def etd_max_days() -> int:
    """How many days an ETD issued here may be valid: the mission's setting, 15 at most."""
    row = EtdSettings.objects.first()
    return row.max_days if row is not None else ETD_MAX_DAYS


def etd_settings_change(*, max_days: int, acting_user: User) -> EtdSettings:
    """A consul shortens (or restores) the longest validity of the ETDs the mission issues."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.ETD_ISSUE)
    if not 1 <= max_days <= ETD_MAX_DAYS:
        raise ApplicationError(
            PassportError.INVALID,
            _("An emergency travel document is valid for 1 to %(days)s days.")
            % {"days": ETD_MAX_DAYS},
            field="max_days",
        )
    with transaction.atomic():
        row = EtdSettings.objects.select_for_update().first() or EtdSettings()
        row.max_days = max_days
        set_acting_user(row, acting_user)
        row.save()
        outbox_event_record(
            topic=PassportTopic.ETD_SETTINGS_CHANGED,
            aggregate_id=row.pk,
            payload={"max_days": max_days},
            acting_user=acting_user,
        )
    return row


ETD_NUMBERS = NumberSeries(
    model=EtdNumberBlock,
    allocated_topic=PassportTopic.ETD_BLOCK_ALLOCATED,
    invalid=PassportError.INVALID,
    overlap=PassportError.ETD_BLOCK_OVERLAP,
    exhausted=PassportError.ETD_NO_NUMBERS,
    exhausted_message=_(
        "This mission has no emergency travel document numbers left: ask HQ to "
        "allocate a new block."
    ),
)


def etd_block_allocate(
    *, mission_code: str, first: int, last: int, acting_user: User | SystemActor, prefix: str = "E"
) -> EtdNumberBlock:
    """HQ allocates ETD numbers to a mission (`number_block_allocate`)."""
    block = number_block_allocate(
        series=ETD_NUMBERS, mission_code=mission_code, first=first, last=last,
        acting_user=acting_user, prefix=prefix,
    )  # fmt: skip
    return cast(EtdNumberBlock, block)


def etd_numbers_left() -> int:
    """How many ETD numbers the mission's blocks still hold."""
    return numbers_left(series=ETD_NUMBERS)


def _number_take(*, acting_user: User) -> str:
    return number_take(series=ETD_NUMBERS, acting_user=acting_user)[0]


# --- the request --------------------------------------------------------------------------


def _today() -> dt.date:
    return timezone.localdate(timezone.now(), current_mission().zone)


def _date(value: Any, *, field: str) -> dt.date:
    day = date_clean(value, field=field, code=PassportError.INVALID)
    if day is None:
        raise ApplicationError(
            PassportError.INVALID, _("Enter the date as YYYY-MM-DD."), field=field
        )
    return day


def _country(value: Any, *, field: str) -> str:
    code = _text(value, field=field, limit=3).upper()
    if not code or not code_is_known(code):
        raise ApplicationError(
            PassportError.INVALID, _("Choose a country from the list."), field=field
        )
    return code


def _journey_check(*, journey_date: dt.date, valid_until: dt.date, today: dt.date) -> None:
    """The journey starts today or within the mission's period, and the document is valid from
    then for at most that period (counted from today too). Compared before any arithmetic on
    the dates typed, so that 9999-12-31 is refused and never overflows."""
    days = etd_max_days()
    if not today <= journey_date <= today + dt.timedelta(days=days):
        raise ApplicationError(
            PassportError.INVALID,
            _("The journey must start between today and %(days)s days from today.")
            % {"days": days},
            field="journey_date",
        )
    if (
        not journey_date
        <= valid_until
        <= min(journey_date + dt.timedelta(days=days), today + dt.timedelta(days=days))
    ):
        raise ApplicationError(
            PassportError.INVALID,
            _(
                "An emergency travel document is valid from the journey's day for at most "
                "%(days)s days from today."
            )
            % {"days": days},
            field="valid_until",
        )


def etd_request_clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """What a request says, each value cleaned. Every field that is wrong or missing is
    refused at once, each with its message (`errors`), so the person fixes them all in one go.
    One place for the citizen's form and the counter's."""
    cleaners: dict[str, Callable[[], Any]] = {
        "surname": lambda: _name(values.get("surname"), field="surname"),
        "given_names": lambda: _name(values.get("given_names"), field="given_names"),
        "birth_date": lambda: _birth_date(values.get("birth_date")),
        "sex": lambda: _sex(values.get("sex")),
        "nationality": lambda: _country(values.get("nationality"), field="nationality"),
        "lost_document": lambda: document_number_clean(
            values.get("lost_document"), field="lost_document"
        ),
        "circumstances": lambda: _text(
            values.get("circumstances"), field="circumstances", limit=2000
        ),
        "destination_country": lambda: _country(
            values.get("destination_country"), field="destination_country"
        ),
        "destination_city": lambda: " ".join(
            _text(values.get("destination_city"), field="destination_city", limit=100).split()
        ),
        "report_kind": lambda: _report_kind(values.get("report_kind")),
        "journey_date": lambda: _date(values.get("journey_date"), field="journey_date"),
        "valid_until": lambda: _date(values.get("valid_until"), field="valid_until"),
    }
    refusals = FieldRefusals()
    cleaned: dict[str, Any] = {name: refusals.check(clean) for name, clean in cleaners.items()}
    for name in ("surname", "birth_date", "sex", "lost_document", "destination_city"):
        if name not in refusals.errors and cleaned.get(name) in (None, ""):
            refusals.add(ApplicationError(PassportError.INVALID, _("This is needed."), field=name))
    if cleaned["journey_date"] is not None and cleaned["valid_until"] is not None:
        refusals.check(
            lambda: _journey_check(
                journey_date=cleaned["journey_date"],
                valid_until=cleaned["valid_until"],
                today=_today(),
            )
        )
    refusals.raise_any()
    return cleaned


def _report_kind(value: Any) -> str:
    kind = _text(value, field="report_kind", limit=10)
    if kind not in ReportKind.values:
        raise ApplicationError(
            PassportError.INVALID, _("Say whether it was lost or stolen."), field="report_kind"
        )
    return kind


def _reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the counter
    return "E" + "".join(secrets.choice(alphabet) for _ in range(9))


def _request_create(
    *,
    values: Mapping[str, Any],
    acting_user: User,
    language: str,
    email: str,
    user_id: int | None,
) -> EmergencyTravelDocument:
    cleaned = etd_request_clean(values)
    kind = cleaned.pop("report_kind")
    circumstances = cleaned.pop("circumstances")
    now = timezone.now()
    etd = EmergencyTravelDocument(
        reference=_reference(),
        user_id=user_id,
        email=email,
        language=language if language in dict(settings.LANGUAGES) else "en",
        requested_by_id=acting_user.pk,
        requested_at=now,
        **cleaned,
    )
    with transaction.atomic():
        # The lost or stolen passport is invalidated at once (here, and at HQ through sync),
        # unless it was reported already: then the first report stands.
        report = document_report_record(
            kind=ReportKind(kind),
            document_number=etd.lost_document,
            circumstances=circumstances,
            acting_user=acting_user,
        )
        etd.report_id = report.pk
        assessment = assessment_create(
            subject_type=SubjectType.CASE,
            subject_ref=etd.reference,
            subject_path=reverse("etd:detail", args=[etd.reference]),
            payer_name=f"{etd.given_names} {etd.surname}".strip(),
            payer_language=etd.language,
            services=[ServiceCode.EMERGENCY_TRAVEL_DOCUMENT],
            acting_user=SYSTEM,
        )
        etd.assessment_id = assessment.pk
        set_acting_user(etd, acting_user)
        etd.save()
        outbox_event_record(
            topic=PassportTopic.ETD_REQUESTED,
            aggregate_id=etd.pk,
            payload={"reference": etd.reference, "assessment_id": assessment.pk},
            acting_user=acting_user,
        )
        if etd.email:
            task_queue_on_commit(_tasks().send_etd_mail, etd.pk, EtdStatus.REQUESTED.value)
    return etd


def etd_apply(
    *, values: Mapping[str, Any], acting_user: User, language: str
) -> EmergencyTravelDocument:
    """The signed-in citizen applies online; the fee is assessed, to be paid online or at the
    counter; a consul issues."""
    if not getattr(acting_user, "is_authenticated", False):
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
    return _request_create(
        values=values,
        acting_user=acting_user,
        language=language,
        email=acting_user.email,
        user_id=acting_user.pk,
    )


def etd_request_record(
    *, values: Mapping[str, Any], email: str, language: str, acting_user: User
) -> EmergencyTravelDocument:
    """An officer (or a consul) records the request of a person at the counter; another consul
    issues it."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.ETD_REQUEST)
    address = _text(email, field="email", limit=254)
    if address and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
        raise ApplicationError(PassportError.INVALID, _("Enter a valid e-mail."), field="email")
    return _request_create(
        values=values, acting_user=acting_user, language=language, email=address, user_id=None
    )


# --- the consul ---------------------------------------------------------------------------


def etd_photo_add(
    *, etd: EmergencyTravelDocument, data: bytes, acting_user: User
) -> EmergencyTravelDocument:
    """The holder's photo, taken at the counter before the document is issued: checked as a
    passport photo (`passports.photo`), stored re-encoded and encrypted, printed on the PDF."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.ETD_REQUEST)
    check = photo_check(data=data)
    if not check.ok or check.jpeg is None:
        raise ApplicationError(
            PassportError.PHOTO_REFUSED,
            " ".join(str(problem.label) for problem in check.problems),
            field="photo",
        )
    with transaction.atomic():
        etd = EmergencyTravelDocument.objects.select_for_update().get(pk=etd.pk)
        if etd.status != EtdStatus.REQUESTED:
            raise ApplicationError(
                CommonError.BAD_TRANSITION,
                _("The photo is added before the document is issued."),
            )
        etd.photo_jpeg = base64.b64encode(check.jpeg).decode("ascii")
        set_acting_user(etd, acting_user)
        etd.save(update_fields=["photo_jpeg", "updated_at"])
        outbox_event_record(
            topic=PassportTopic.ETD_PHOTO_ADDED,
            aggregate_id=etd.pk,
            payload={"reference": etd.reference},
            acting_user=acting_user,
        )
    return etd


def etd_paid(*, etd: EmergencyTravelDocument) -> bool:
    """The fee is paid in full (its assessment settled), online or at the counter."""
    if etd.assessment_id is None:
        return False
    return assessment_get(pk=etd.assessment_id).status == AssessmentStatus.SETTLED


def _four_eyes(etd: EmergencyTravelDocument, acting_user: User) -> None:
    if etd.requested_by_id == acting_user.pk:
        raise ApplicationError(
            PassportError.FOUR_EYES, _("You recorded this request: another consul issues it.")
        )


def etd_mrz(*, etd: EmergencyTravelDocument, number: str, issued_on: dt.date) -> str:
    """The document's TD2 MRZ, two lines of 36 joined by a line break."""
    try:
        lines = td2_compose(
            MrzFields(
                surname=etd.surname,
                given_names=etd.given_names,
                document_number=number,
                issuing_state=issuing_state(),
                nationality=etd.nationality,
                birth_date=etd.birth_date,
                sex=etd.sex,
                expiry_date=etd.valid_until,
                document_code=ETD_DOCUMENT_CODE,
            ),
            today=issued_on,
        )
    except MrzError as error:
        raise ApplicationError(PassportError.INVALID, error.message, field=error.field) from None
    return "\n".join(lines)


def etd_issue(*, etd: EmergencyTravelDocument, acting_user: User) -> EmergencyTravelDocument:
    """A consul who did not record the request issues the ETD: the fee is paid, the journey is
    still ahead; the next number of the mission's block, the TD2 MRZ, and the visible seal
    signed with the mission's document-signing key, all in one transaction."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.ETD_ISSUE)
    _four_eyes(etd, acting_user)
    if not etd_paid(etd=etd):
        raise ApplicationError(
            PassportError.NOT_PAID, _("The fee is not paid yet: the cashier takes it first.")
        )
    signer_key, certificate = document_signer_active()
    now = timezone.now()
    issued_on = timezone.localdate(now, current_mission().zone)
    try:
        with transaction.atomic():
            etd = EmergencyTravelDocument.objects.select_for_update().get(pk=etd.pk)
            _four_eyes(etd, acting_user)
            etd.move_to(EtdStatus.ISSUED)
            _journey_check(
                journey_date=etd.journey_date, valid_until=etd.valid_until, today=issued_on
            )
            number = _number_take(acting_user=acting_user)
            mrz = etd_mrz(etd=etd, number=number, issued_on=issued_on)
            data = seal_issue(
                content=etd_content(mrz=mrz),
                country=issuing_state(),
                signer_key=signer_key,
                signer_certificate=certificate,
                issue_date=issued_on,
                signature_date=issued_on,
            )
            etd.number = number
            etd.issued_by_id = acting_user.pk
            etd.issued_at = now
            etd.issued_on = issued_on
            etd.signer_serial = f"{certificate.serial_number:X}"
            etd.seal = base64.b64encode(data).decode("ascii")
            set_acting_user(etd, acting_user)
            etd.save(
                update_fields=[
                    "status", "number", "issued_by_id", "issued_at", "issued_on",
                    "signer_serial", "seal", "updated_at",
                ]
            )  # fmt: skip
            outbox_event_record(
                topic=PassportTopic.ETD_ISSUED,
                aggregate_id=etd.pk,
                payload={
                    "number": number,
                    "valid_until": etd.valid_until.isoformat(),
                    "issued_on": issued_on.isoformat(),
                    "signer_serial": etd.signer_serial,
                },
                acting_user=acting_user,
            )
            if etd.email:
                task_queue_on_commit(_tasks().send_etd_mail, etd.pk, EtdStatus.ISSUED.value)
    except IntegrityError as error:
        if "passports_etd_four_eyes" not in str(error):
            raise
        raise ApplicationError(
            PassportError.FOUR_EYES, _("You recorded this request: another consul issues it.")
        ) from None
    return etd


def etd_revoke(
    *, etd: EmergencyTravelDocument, reason: str, acting_user: User
) -> EmergencyTravelDocument:
    """A consul revokes an issued ETD (the passport was found, an error, misuse), stating why;
    HQ's register learns it through sync and its verification page answers "revoked"."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.ETD_ISSUE)
    # HQ keeps the reason (its register takes 300 characters): said here, not cut there
    text = _text(reason, field="reason", limit=300)
    if not text:
        raise ApplicationError(
            PassportError.REASON_REQUIRED, _("State the reason."), field="reason"
        )
    with transaction.atomic():
        etd = EmergencyTravelDocument.objects.select_for_update().get(pk=etd.pk)
        etd.move_to(EtdStatus.REVOKED)
        etd.revoked_by_id = acting_user.pk
        etd.revoked_at = timezone.now()
        etd.revocation_reason = text
        set_acting_user(etd, acting_user)
        etd.save(
            update_fields=["status", "revoked_by_id", "revoked_at", "revocation_reason",
                           "updated_at"]
        )  # fmt: skip
        outbox_event_record(
            topic=PassportTopic.ETD_REVOKED,
            aggregate_id=etd.pk,
            payload={"number": etd.number, "reason": text},
            acting_user=acting_user,
        )
        if etd.email:
            task_queue_on_commit(_tasks().send_etd_mail, etd.pk, EtdStatus.REVOKED.value)
    return etd


def etd_seal(*, etd: EmergencyTravelDocument) -> bytes:
    return base64.b64decode(etd.seal) if etd.seal else b""
