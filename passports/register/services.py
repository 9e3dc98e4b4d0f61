"""HQ's personalisation of an approved passport: the number from a block (gapless per document
type), the MRZ composed from the holder's data the mission sealed for HQ, the document in the
central register, and the dispatch back to the mission (which reads it from here:
`passports.services.application_dispatch_receive`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.crypto.blind_index import blind_index
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from consulate.kernel.tenancy import task_queue_on_commit
from missions.permissions import Action, permission_require
from missions.selectors import current_mission, mission_by_code
from sync.hq.sealed import SealedRefused, sealed_open

from .. import locks
from ..error_codes import PassportError
from ..events import PassportTopic
from ..mrz import MrzError, MrzFields, td3_compose
from ..numbers import number_range_check, number_range_claim
from ..services.report import person_index
from .models import (
    DocumentType,
    IssuedDocument,
    NumberBlock,
    PersonalisationCase,
    PersonalisationStatus,
)
from .seal_keys import issuing_state

# How long a passport is valid: ten years for an adult, five for a child (the common rule).
VALIDITY_YEARS = {False: 10, True: 5}


def _require_personaliser(acting_user: Any) -> None:
    permission_require(
        user=acting_user, mission=current_mission(), action=Action.PASSPORT_PERSONALISE
    )


def number_block_add(
    *, document_type: str, prefix: str, digits: int, first: int, last: int, acting_user: Any
) -> NumberBlock:
    """A new block of passport numbers at HQ, none of them any other block's
    (`number_range_claim`)."""
    _require_personaliser(acting_user)
    if document_type not in DocumentType.values:
        raise ApplicationError(PassportError.INVALID, _("Choose a document type."))
    prefix = prefix.strip().upper()
    number_range_check(
        prefix=prefix, width=digits, first=first, last=last, prefix_required=False,
        first_least=0, invalid=PassportError.INVALID,
    )  # fmt: skip
    with transaction.atomic():
        # none of these numbers another block's, of HQ's or of a mission's (the same text
        # would be two documents)
        number_range_claim(
            prefix=prefix, width=digits, first=first, last=last,
            overlap=PassportError.BLOCK_OVERLAP,
        )  # fmt: skip
        block = NumberBlock(
            document_type=document_type,
            prefix=prefix,
            digits=digits,
            first=first,
            last=last,
            next_value=first,
        )
        set_acting_user(block, acting_user)
        block.save()
    return block


def number_next(*, document_type: str, acting_user: Any) -> str:
    """The next number of the type, in the caller's transaction (which writes the document
    that takes it): the block's row stays locked until it commits, so numbers follow each other
    without a gap, and a rollback gives the number back."""
    block = (
        NumberBlock.objects.select_for_update()
        .filter(document_type=document_type, next_value__lte=F("last"))
        .order_by("first", "id")
        .first()
    )
    if block is None:
        raise ApplicationError(
            PassportError.NO_NUMBERS,
            _("No document numbers are left: an HQ admin adds a number block first."),
        )
    number = block.number(block.next_value)
    block.next_value += 1
    set_acting_user(block, acting_user)
    block.save(update_fields=["next_value"])
    return number


def _expiry(issued: dt.date, *, child: bool) -> dt.date:
    years = VALIDITY_YEARS[child]
    try:
        return issued.replace(year=issued.year + years)
    except ValueError:  # 29 February
        return issued.replace(year=issued.year + years, day=28)


def personalisation_run(
    *, case: PersonalisationCase, acting_user: Any, today: dt.date | None = None
) -> PersonalisationCase:
    """Personalise one approved case: open the holder's data, take the next passport number,
    compose the MRZ, record the document in the central register, mark the case printed and
    dispatched. The mission reads it back (its beat, or at once in this database).

    One passport per person at a time, whichever mission applied: when the same person (their
    national ID's index under HQ's key) has a passport printed and not yet handed over, nothing
    is printed; the case is held (saved, naming the case that holds it, which its mission's
    officer reads) and the refusal says so. A held case is personalised by this service again
    once that passport is handed over. Under `locks.holder_lock`, so two cases of one person
    printed at the same moment follow each other; the database refuses a second printed case
    too (`passports_register_case_one_printed_per_person`)."""
    _require_personaliser(acting_user)
    today = today or timezone.localdate()
    state = issuing_state()
    try:
        holder = sealed_open(
            case.sealed,
            mission=case.mission,
            topic=str(PassportTopic.APPLICATION_APPROVED),
            aggregate_id=case.application_id,
        )
        birth = dt.date.fromisoformat(str(holder["birth_date"]))
    except (SealedRefused, KeyError, TypeError, ValueError):
        raise ApplicationError(
            PassportError.SEALED_UNREADABLE,
            _("HQ cannot read this case's data (it was sealed with another key or changed)."),
        ) from None
    national_id = str(holder.get("national_id") or "")
    if not national_id:
        raise ApplicationError(
            PassportError.INVALID,
            _("This case carries no national ID number, so HQ cannot check the person's other "
              "passports: the mission sends the case again."),
        )  # fmt: skip
    holder_index = person_index(national_id)
    expiry = _expiry(today, child=bool(holder.get("child")))
    with transaction.atomic():
        locks.holder_lock(holder_index=holder_index)
        case = PersonalisationCase.objects.select_for_update().get(pk=case.pk)
        if case.status not in (PersonalisationStatus.QUEUED, PersonalisationStatus.HELD):
            raise ApplicationError(
                CommonError.BAD_TRANSITION, _("This passport is personalised already.")
            )
        holding = (
            PersonalisationCase.objects.filter(
                holder_index=holder_index, status=PersonalisationStatus.PRINTED
            )
            .exclude(pk=case.pk)
            .first()
        )
        if holding is not None:
            _hold(case, holding=holding, holder_index=holder_index, acting_user=acting_user)
        else:
            _print(
                case,
                holder=holder,
                holder_index=holder_index,
                birth=birth,
                expiry=expiry,
                state=state,
                today=today,
                acting_user=acting_user,
            )
    if holding is not None:
        # after the commit: the hold is kept, the operator reads why
        raise held_refusal(holding)
    return case


def held_refusal(holding: PersonalisationCase) -> ApplicationError:
    """What HQ's operator reads when a case is held: the mission and reference of the case
    whose passport is printed and not handed over (no personal data)."""
    return ApplicationError(
        PassportError.HELD_SAME_PERSON,
        _(
            "Not printed: the same person (national ID) has a passport printed for "
            "%(mission)s (reference %(reference)s) that is not handed over yet. This case is "
            "held, not lost: personalise it again once that passport is handed over."
        )
        % {"mission": mission_name(holding.mission), "reference": holding.reference},
    )


def mission_name(code: str) -> str:
    """A mission's name in the reader's language (its code if HQ no longer knows it)."""
    mission = mission_by_code(code=code)
    return str(mission.name) if mission is not None else code


def _hold(
    case: PersonalisationCase,
    *,
    holding: PersonalisationCase,
    holder_index: str,
    acting_user: Any,
) -> None:
    case.status = PersonalisationStatus.HELD
    case.holder_index = holder_index
    case.held_mission = holding.mission
    case.held_reference = holding.reference
    case.held_at = timezone.now()
    set_acting_user(case, acting_user)
    case.save(update_fields=["status", "holder_index", "held_mission", "held_reference", "held_at"])


def _print(
    case: PersonalisationCase,
    *,
    holder: dict[str, Any],
    holder_index: str,
    birth: dt.date,
    expiry: dt.date,
    state: str,
    today: dt.date,
    acting_user: Any,
) -> None:
    number = number_next(document_type=DocumentType.PASSPORT, acting_user=acting_user)
    try:
        line1, line2 = td3_compose(
            MrzFields(
                surname=str(holder.get("surname") or ""),
                given_names=str(holder.get("given_names") or ""),
                document_number=number,
                issuing_state=state,
                nationality=state,
                birth_date=birth,
                sex=str(holder.get("sex") or "X"),
                expiry_date=expiry,
                optional_data=str(holder.get("national_id") or "")[:14],
            ),
            today=today,
        )
    except MrzError as error:
        raise ApplicationError(error.code, error.message, field=error.field) from None
    try:
        with transaction.atomic():
            document = IssuedDocument(
                number=number,
                document_type=DocumentType.PASSPORT,
                document_index=blind_index(number, schema_name="public", purpose="travel_document"),
                holder_index=holder_index,
                mission=case.mission,
                issued_on=today,
                expires_on=expiry,
            )
            set_acting_user(document, acting_user)
            document.save()
    except IntegrityError:
        raise ApplicationError(
            PassportError.INVALID, _("This number is in the register already.")
        ) from None
    case.status = PersonalisationStatus.PRINTED
    case.document_number = number
    case.mrz = f"{line1}\n{line2}"
    case.expires_on = expiry
    case.printed_at = timezone.now()
    case.printed_by_id = acting_user.pk
    case.holder_index = holder_index
    case.held_mission, case.held_reference, case.held_at = "", "", None
    set_acting_user(case, acting_user)
    try:
        with transaction.atomic():
            case.save(
                update_fields=[
                    "status", "document_number", "mrz", "expires_on", "printed_at",
                    "printed_by_id", "holder_index", "held_mission", "held_reference", "held_at",
                ]
            )  # fmt: skip
    except IntegrityError as error:
        # only a writer that skipped the holder's lock gets here; nothing is printed
        if "passports_register_case_one_printed_per_person" not in str(error):
            raise
        raise ApplicationError(
            PassportError.HELD_SAME_PERSON,
            _("Not printed: the same person has a passport printed and not handed over yet."),
        ) from None
    _dispatch_on_commit(case)


def _dispatch_on_commit(case: PersonalisationCase) -> None:
    """A mission served from this database learns of its printed passport at once (its beat
    would, within minutes); a mission on its own node reads it with its next push."""
    from django_tenants.utils import schema_context

    from missions.models import Mission

    from .. import tasks

    mission = Mission.objects.filter(code=case.mission).only("schema_name", "node_url").first()
    if mission is None or mission.node_url:
        return
    with schema_context(mission.schema_name):
        task_queue_on_commit(tasks.receive_dispatches)
