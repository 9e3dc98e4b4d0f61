"""Credit notes: a refund or correction against a receipt, posted only when a second person
approves. The receipt itself never changes."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from ..error_codes import FeeError
from ..events import FeeTopic
from ..locks import assessment_lock, credit_note_lock
from ..models import AccountKind, ApprovalStatus, CreditNote, Receipt
from ..money import Money
from .common import payment_account, posting_date, reason_clean, receipt_prefix
from .ledger import account_get, ledger_post

CREDIT_NOTE_DECIDED_TOPIC = {
    ApprovalStatus.APPROVED: FeeTopic.CREDIT_NOTE_APPROVED,
    ApprovalStatus.REJECTED: FeeTopic.CREDIT_NOTE_REJECTED,
}


def _refundable(receipt: Receipt) -> Money:
    taken = CreditNote.objects.filter(
        receipt=receipt, status__in=[ApprovalStatus.REQUESTED, ApprovalStatus.APPROVED]
    ).aggregate(t=Sum("amount_minor"))["t"]
    return Money(receipt.amount_minor - (taken or 0), receipt.currency)


def _base_share(*, receipt: Receipt, amount: Money, left: Money) -> int:
    """The base-currency part of a refund: proportional to the receipt, and whatever is left
    of the receipt's base amount when the refund takes the rest, so that refunds of a whole
    receipt in parts add up to exactly its base amount."""
    if amount == left:
        taken = CreditNote.objects.filter(
            receipt=receipt, status__in=[ApprovalStatus.REQUESTED, ApprovalStatus.APPROVED]
        ).aggregate(t=Sum("base_amount_minor"))["t"]
        return receipt.base_amount_minor - (taken or 0)
    share = Money(receipt.base_amount_minor, receipt.base_currency).allocate(
        [amount.amount_minor, receipt.amount_minor - amount.amount_minor]
    )[0]
    return share.amount_minor


def credit_note_request(
    *, receipt: Receipt, amount: Money, reason: str, acting_user: Any
) -> CreditNote:
    """Ask to refund (part of) a receipt; nothing is posted until a second person approves."""
    mission = current_mission()
    permission_require(user=acting_user, mission=mission, action=Action.ASSESSMENT_CHANGE)
    if amount.currency != receipt.currency:
        raise ApplicationError(
            FeeError.WRONG_CURRENCY,
            _("Refunds are in %(currency)s.") % {"currency": receipt.currency},
            field="amount",
        )
    if amount.amount_minor <= 0:
        raise ApplicationError(
            FeeError.INVALID_AMOUNT, _("Enter an amount above zero."), field="amount"
        )
    reason = reason_clean(reason, field="reason")
    if not reason:
        raise ApplicationError(
            FeeError.REASON_REQUIRED, _("A refund needs a reason."), field="reason"
        )
    with transaction.atomic():
        assessment_lock(pk=receipt.payment.assessment_id)
        left = _refundable(receipt)
        if amount > left:
            raise ApplicationError(
                FeeError.NOTHING_TO_REFUND,
                _("At most %(left)s of this receipt can still be refunded.")
                % {"left": left.format(translation.get_language() or "en")},
                field="amount",
            )
        base = _base_share(receipt=receipt, amount=amount, left=left)
        note = CreditNote(
            receipt=receipt,
            amount_minor=amount.amount_minor,
            currency=amount.currency,
            base_amount_minor=base,
            base_currency=receipt.base_currency,
            reason=reason,
            requested_by_id=acting_user.pk,
            prefix=receipt_prefix(mission),
        )
        set_acting_user(note, acting_user)
        note.save()
        outbox_event_record(
            topic=FeeTopic.CREDIT_NOTE_REQUESTED,
            aggregate_id=note.pk,
            payload={
                "receipt": receipt.number,
                "amount_minor": amount.amount_minor,
                "currency": amount.currency,
            },
            acting_user=acting_user,
        )
    return note


def credit_note_decide(*, note: CreditNote, approve: bool, acting_user: Any) -> CreditNote:
    """A consul (not the requester) approves — numbering the note and posting refunds against
    the account the money came from — or rejects it."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.FEES_APPROVE)
    if note.requested_by_id == acting_user.pk:
        raise ApplicationError(
            FeeError.FOUR_EYES, _("A second person must approve: you asked for this refund.")
        )
    with transaction.atomic():
        assessment_lock(pk=note.receipt.payment.assessment_id)
        note = credit_note_lock(pk=note.pk)
        if not note.can_decide():
            raise ApplicationError(FeeError.ALREADY_DECIDED, _("This was already decided."))
        note.move_to(ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED)
        note.decided_by_id = acting_user.pk
        note.decided_at = timezone.now()
        fields = ["status", "decided_by_id", "decided_at", "updated_at"]
        if approve:
            day = posting_date(roll_forward=True)
            note.business_date = day
            note.year = day.year
            fields += ["business_date", "year"]
        set_acting_user(note, acting_user)
        note.save(update_fields=fields)
        if approve:
            note.refresh_from_db(fields=["seq", "number"])  # numbered by the database
            ledger_post(
                kind="refund",
                business_date=day,
                legs=[
                    (account_get(kind=AccountKind.REFUNDS), note.amount),
                    (payment_account(note.receipt.payment), -note.amount),
                ],
                acting_user=acting_user,
                source_type="credit_note",
                source_id=note.pk,
            )
        outbox_event_record(
            topic=CREDIT_NOTE_DECIDED_TOPIC[ApprovalStatus(note.status)],
            aggregate_id=note.pk,
            payload={
                "number": note.number,
                "receipt": note.receipt.number,
                "amount_minor": note.amount_minor,
                "currency": note.currency,
                "base_amount_minor": note.base_amount_minor,
                "base_currency": note.base_currency,
            },
            acting_user=acting_user,
        )
    return note
