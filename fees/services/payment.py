"""Payments: cash at the counter, card through a provider's hosted page and webhooks, bank
transfer matched by reference. Creation is idempotent by key; partial payments are fine,
overpayment is refused; a success posts to the ledger and issues a gapless receipt.

A card checkout never locks the fee: the payer may start again at once (`payment_card_start`
cancels the checkout in progress at the provider first), and staff may cancel it to take the
money another way (`payment_card_cancel`). A success that still arrives for a checkout that was
cancelled, timed out or declined is recorded (the money moved) and flagged for a refund when the
fee was paid otherwise meanwhile: never charged twice without a refund flagged.

Staff services (`payment_take_cash`, `payment_card_cancel`, `payment_bank_expect`,
`payment_bank_match`) check the permission table first. The payer's (`payment_card_start`:
anyone holding the pay link), the provider's (`payment_webhook_receive`: a signed event) and
the platform's (`payment_expire_stale`: beat, as SYSTEM) are not staff actions and check what
identifies them instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from ..error_codes import FeeError
from ..events import FeeTopic
from ..locks import assessment_lock, payment_lock, webhook_event_lock
from ..models import (
    AccountKind,
    Assessment,
    AssessmentStatus,
    FeeLine,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Receipt,
    WebhookEvent,
)
from ..money import Money, to_base
from ..providers import ProviderEvent, get_provider
from ..providers.test_provider import SignatureError
from ..selectors import assessment_balance
from .assessment import assessment_settle_if_paid
from .common import payment_account, posting_date, receipt_prefix
from .ledger import account_get, ledger_post

# What a provider's event asks for, and the topic recorded when a payment gets there.
EVENT_STATUS = {
    "payment.succeeded": PaymentStatus.SUCCEEDED,
    "payment.declined": PaymentStatus.DECLINED,
    "payment.expired": PaymentStatus.EXPIRED,
}
STATUS_TOPIC = {
    PaymentStatus.SUCCEEDED: FeeTopic.PAYMENT_SUCCEEDED,
    PaymentStatus.DECLINED: FeeTopic.PAYMENT_DECLINED,
    PaymentStatus.EXPIRED: FeeTopic.PAYMENT_EXPIRED,
}


class CancelReason:
    """Why a card checkout was cancelled (the `reason` of `fees.payment.cancelled`)."""

    # the payer started another card payment for the same fee
    SUPERSEDED = "superseded"
    # staff cancelled it to take the money another way (cash, a transfer)
    BY_STAFF = "cancelled_by_staff"
    # the fee was paid by another payment while this checkout was still open
    PAID_OTHERWISE = "paid_otherwise"


IDEMPOTENCY_KEY_MAX_LENGTH = 100


def _lang() -> str:
    return translation.get_language() or "en"


def _fingerprint(*, assessment: Assessment, method: str, amount: Money) -> str:
    raw = f"{assessment.pk}|{method}|{amount.amount_minor}|{amount.currency}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_amount(*, assessment: Assessment, amount: Money) -> None:
    if amount.amount_minor <= 0:
        raise ApplicationError(
            FeeError.INVALID_AMOUNT, _("Enter an amount above zero."), field="amount"
        )
    if amount.currency != assessment.currency:
        raise ApplicationError(
            FeeError.WRONG_CURRENCY,
            _("This mission takes %(currency)s, not %(other)s.")
            % {"currency": assessment.currency, "other": amount.currency},
            field="amount",
        )


def _check_request(*, assessment: Assessment, amount: Money, idempotency_key: str) -> None:
    _check_amount(assessment=assessment, amount=amount)
    if not idempotency_key or len(idempotency_key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ApplicationError(
            FeeError.IDEMPOTENCY_KEY_REQUIRED,
            _("A payment needs an idempotency key (at most 100 characters)."),
            field="idempotency_key",
        )


def _existing(key: str, fingerprint: str) -> Payment | None:
    payment = Payment.objects.filter(idempotency_key=key).first()
    if payment is not None and payment.request_fingerprint != fingerprint:
        raise ApplicationError(
            FeeError.IDEMPOTENCY_MISMATCH,
            _("This request was already made with different details; nothing was charged."),
        )
    return payment


def _check_payable(*, assessment: Assessment, amount: Money) -> None:
    """Refuse a payment the assessment cannot take: closed, or more than is left to pay."""
    if not assessment.can_take_payment():
        raise ApplicationError(
            FeeError.ASSESSMENT_NOT_OPEN,
            _("This case is cancelled: it takes no payments.")
            if assessment.status == AssessmentStatus.CANCELLED
            else _("Nothing is left to pay on this case."),
        )
    balance = assessment_balance(assessment=assessment)
    outstanding = balance.outstanding
    if amount > outstanding:
        message = _("That is more than is due (%(due)s). Overpayments are refused.") % {
            "due": outstanding.format(_lang())
        }
        if balance.reserved:
            message += " " + _(
                "A card or bank payment of %(amount)s is in progress for this case."
            ) % {"amount": balance.reserved.format(_lang())}
        raise ApplicationError(FeeError.OVERPAYMENT, message, field="amount")


def payment_request_check(*, assessment: Assessment, amount: Money, idempotency_key: str) -> None:
    """Raise what a payment of `amount` on `assessment` would be refused for (not above zero,
    another currency, no idempotency key, a closed case, more than is left to pay), before a
    person confirms it: the cash form shows the amount back only when it could be taken.
    Writes nothing and locks nothing; the payment services check again under the lock."""
    _check_request(assessment=assessment, amount=amount, idempotency_key=idempotency_key)
    _check_payable(assessment=assessment, amount=amount)


def _half_up_share(whole: int, part: int, total: int) -> int:
    """`whole * part / total`, rounded half up, in integers (no float ever touches money)."""
    return (2 * whole * part + total) // (2 * total)


def _base_share(*, assessment: Assessment, amount: Money, rate: Any) -> Money:
    """The base-currency equivalent of a payment: its share of the base amounts frozen on the
    fee lines, not the local amount converted back (which is off by the rounding of the local
    fee: KWD 48.200 for €135.00 at 0.3571 would read €134.98).

    Shares are cumulative over the assessment's payments that count (paid, or in progress, and
    not to be refunded), so payments that pay the whole fee add up to exactly the lines' base
    amounts whatever the parts. The caller holds the assessment's lock."""
    lines = FeeLine.objects.filter(assessment=assessment).aggregate(
        local=Sum("amount_minor"), base=Sum("base_amount_minor"), currency=Max("base_currency")
    )
    if not lines["local"]:
        return to_base(amount, base_currency=settings.CONSULATE_BASE_CURRENCY, rate=rate)
    before = (
        Payment.objects.filter(
            assessment=assessment,
            status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.PENDING],
            needs_refund=False,
        ).aggregate(t=Sum("amount_minor"))["t"]
        or 0
    )
    base, local = lines["base"], lines["local"]
    share = _half_up_share(base, before + amount.amount_minor, local) - _half_up_share(
        base, before, local
    )
    return Money(max(share, 0), lines["currency"])


def _payment_new(
    *,
    assessment: Assessment,
    method: str,
    amount: Money,
    idempotency_key: str,
    acting_user: Any,
    cashier_id: int | None = None,
) -> tuple[Payment, bool]:
    """Create the payment row under the assessment lock, or return the one the key made."""
    _check_request(assessment=assessment, amount=amount, idempotency_key=idempotency_key)
    fingerprint = _fingerprint(assessment=assessment, method=method, amount=amount)
    existing = _existing(idempotency_key, fingerprint)
    if existing is not None:
        return existing, False
    locked = assessment_lock(pk=assessment.pk)
    existing = _existing(idempotency_key, fingerprint)  # a twin may have committed meanwhile
    if existing is not None:
        return existing, False
    _check_payable(assessment=locked, amount=amount)
    rate = locked.lines.order_by("id").values_list("rate", flat=True).first()
    if rate is None:
        raise ApplicationError(FeeError.NO_FEE, _("This case has no fees to pay."))
    base = _base_share(assessment=locked, amount=amount, rate=rate)
    payment = Payment(
        assessment=locked,
        method=method,
        amount_minor=amount.amount_minor,
        currency=amount.currency,
        base_amount_minor=base.amount_minor,
        base_currency=base.currency,
        rate=rate,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        cashier_id=cashier_id,
        created_by_id=getattr(acting_user, "pk", None),
    )
    set_acting_user(payment, acting_user)
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError:
        # the same key on another assessment, committed between our two looks
        existing = _existing(idempotency_key, fingerprint)
        if existing is None:
            raise
        return existing, False
    outbox_event_record(
        topic=FeeTopic.PAYMENT_CREATED,
        aggregate_id=payment.pk,
        payload={
            "subject_ref": locked.subject_ref,
            "method": method,
            "amount_minor": amount.amount_minor,
            "currency": amount.currency,
        },
        acting_user=acting_user,
    )
    return payment, True


def _succeed(*, payment: Payment, acting_user: Any, roll_forward: bool) -> Receipt:
    """Post the payment, issue its receipt (the database numbers it) and settle if paid up.
    The caller holds the assessment lock and the transaction."""
    mission = current_mission()
    day = posting_date(roll_forward=roll_forward)
    payment.move_to(PaymentStatus.SUCCEEDED)
    payment.succeeded_at = timezone.now()
    set_acting_user(payment, acting_user)
    payment.save(update_fields=["status", "succeeded_at", "needs_refund", "updated_at"])
    ledger_post(
        kind=f"payment_{payment.method}",
        business_date=day,
        legs=[
            (payment_account(payment), payment.amount),
            (account_get(kind=AccountKind.RECEIVABLE), -payment.amount),
        ],
        acting_user=acting_user,
        source_type="payment",
        source_id=payment.pk,
    )
    assessment = payment.assessment
    receipt = Receipt(
        payment=payment,
        prefix=receipt_prefix(mission),
        year=day.year,
        issued_at=payment.succeeded_at,
        business_date=day,
        payer_name=assessment.payer_name,
        payer_language=assessment.payer_language,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        base_amount_minor=payment.base_amount_minor,
        base_currency=payment.base_currency,
        rate=payment.rate,
        method=payment.method,
        issued_by_id=getattr(acting_user, "pk", None),
    )
    set_acting_user(receipt, acting_user)
    receipt.save(force_insert=True)
    receipt.refresh_from_db(fields=["seq", "number"])
    outbox_event_record(
        topic=FeeTopic.PAYMENT_SUCCEEDED,
        aggregate_id=payment.pk,
        payload={
            "subject_ref": assessment.subject_ref,
            "method": payment.method,
            "amount_minor": payment.amount_minor,
            "currency": payment.currency,
            "base_amount_minor": payment.base_amount_minor,
            "base_currency": payment.base_currency,
            "rate": str(payment.rate),
            "receipt": receipt.number,
            "business_date": day.isoformat(),
            "needs_refund": payment.needs_refund,
        },
        acting_user=acting_user,
    )
    assessment_settle_if_paid(assessment=assessment, acting_user=acting_user)
    return receipt


def payment_take_cash(
    *, assessment: Assessment, amount: Money, idempotency_key: str, acting_user: Any
) -> Payment:
    """A cashier takes cash at the counter: posted to their drawer, receipt issued at once."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.CASH_TAKE)
    with transaction.atomic():
        posting_date(roll_forward=False)  # a closed day refuses cash first
        payment, created = _payment_new(
            assessment=assessment,
            method=PaymentMethod.CASH,
            amount=amount,
            idempotency_key=idempotency_key,
            acting_user=acting_user,
            cashier_id=acting_user.pk,
        )
        if created:
            _succeed(payment=payment, acting_user=acting_user, roll_forward=False)
    return payment


def payment_card_start(
    *,
    assessment: Assessment,
    amount: Money,
    idempotency_key: str,
    acting_user: Any,
    return_path: str,
    provider_name: str = "test",
) -> tuple[Payment, str]:
    """Start a card payment: a pending payment (reserving the amount) and the provider's hosted
    page to send the payer to. The same key answers the same checkout (a double press).

    A checkout already in progress for the assessment never blocks a new one: it is cancelled
    at the provider first (`fees.payment.cancelled`, reason "superseded"), so the payer who left
    the provider's page, or whose checkout timed out, starts again at once and cannot pay both.
    If the provider answers that the earlier checkout was paid meanwhile, nothing new starts:
    its success is on its way.

    The payer's own service: whoever holds the assessment's pay link may pay it (`acting_user`
    is the signed-in person, or None), so it checks no staff role."""
    provider = get_provider(provider_name)
    _check_request(assessment=assessment, amount=amount, idempotency_key=idempotency_key)
    fingerprint = _fingerprint(assessment=assessment, method=PaymentMethod.CARD, amount=amount)
    with transaction.atomic():
        existing = _existing(idempotency_key, fingerprint)
        if existing is None:
            assessment_lock(pk=assessment.pk)
            existing = _existing(idempotency_key, fingerprint)
        if existing is not None:
            return existing, existing.checkout_url or return_path
        for earlier in Payment.objects.filter(
            assessment_id=assessment.pk, method=PaymentMethod.CARD, status=PaymentStatus.PENDING
        ).order_by("id"):
            if not _card_checkout_cancel(
                payment=payment_lock(pk=earlier.pk),
                reason=CancelReason.SUPERSEDED,
                acting_user=acting_user,
            ):
                raise ApplicationError(
                    FeeError.CHECKOUT_COMPLETED,
                    _(
                        "Your earlier card payment has just gone through. This page shows it "
                        "as soon as the payment provider confirms it: please do not pay again."
                    ),
                )
        payment, created = _payment_new(
            assessment=assessment,
            method=PaymentMethod.CARD,
            amount=amount,
            idempotency_key=idempotency_key,
            acting_user=acting_user,
        )
        if created:
            checkout = provider.create_checkout(
                payment_id=payment.pk,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                host=current_mission().host,
                return_path=return_path,
            )
            payment.provider = provider.name
            payment.provider_ref = checkout.provider_ref
            payment.checkout_url = checkout.redirect_url
            set_acting_user(payment, acting_user)
            payment.save(update_fields=["provider", "provider_ref", "checkout_url", "updated_at"])
    return payment, payment.checkout_url or return_path


def _card_checkout_cancel(*, payment: Payment, reason: str, acting_user: Any) -> bool:
    """Cancel a pending card checkout at its provider, then here; False (and nothing changed)
    when the provider answers that it was paid already. The caller holds the assessment's and
    the payment's locks and the transaction."""
    if payment.provider and not get_provider(payment.provider).cancel_checkout(
        provider_ref=payment.provider_ref
    ):
        return False
    payment.move_to(PaymentStatus.CANCELLED)
    set_acting_user(payment, acting_user)
    payment.save(update_fields=["status", "updated_at"])
    outbox_event_record(
        topic=FeeTopic.PAYMENT_CANCELLED,
        aggregate_id=payment.pk,
        payload={
            "subject_ref": payment.assessment.subject_ref,
            "provider_ref": payment.provider_ref,
            "reason": reason,
        },
        acting_user=acting_user,
    )
    return True


def payment_card_cancel(*, payment: Payment, acting_user: Any) -> Payment:
    """Staff cancel a card checkout still waiting for the provider, so that the fee can be paid
    another way at once (cash at the counter, a transfer). It is cancelled at the provider
    first: the payer can no longer pay it. If the provider answers that it was paid just now,
    nothing is cancelled and the error says to wait for its confirmation; a success that
    arrives later anyway is recorded and flagged for a refund if the fee was paid meanwhile."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.ASSESSMENT_CHANGE)
    with transaction.atomic():
        assessment_lock(pk=payment.assessment_id)
        payment = payment_lock(pk=payment.pk)
        if not payment.can_cancel():
            raise ApplicationError(
                CommonError.BAD_TRANSITION,
                _("This card payment is no longer in progress: there is nothing to cancel."),
            )
        if not _card_checkout_cancel(
            payment=payment, reason=CancelReason.BY_STAFF, acting_user=acting_user
        ):
            raise ApplicationError(
                FeeError.CHECKOUT_COMPLETED,
                _(
                    "The payer has just paid this card payment; the provider's confirmation is "
                    "on its way. Reload the page in a moment instead of taking the money again."
                ),
            )
    return payment


def payment_webhook_receive(*, body: bytes, signature: str, provider_name: str = "test") -> str:
    """Apply one signed provider event exactly once; returns what happened.

    Duplicates (same event id) change nothing: deliveries of one event take turns (an advisory
    lock), and the first writes the event's row with its outcome, once (the row is never
    changed). Events that arrive out of order are judged by the payment's state machine: a
    decline after a success is ignored; a success after a decline or a timeout is applied (the
    money moved). The provider is not a user: what it changes is recorded as SYSTEM's.
    """
    provider = get_provider(provider_name)
    try:
        event = provider.verify_webhook(body=body, signature=signature)
    except SignatureError as error:
        raise ApplicationError(FeeError.BAD_SIGNATURE, _("Invalid signature.")) from error
    if event.event_type not in EVENT_STATUS:
        raise ApplicationError(FeeError.BAD_EVENT, _("Unknown event type."))
    with transaction.atomic():
        webhook_event_lock(provider=provider.name, event_id=event.event_id)
        if WebhookEvent.objects.filter(provider=provider.name, event_id=event.event_id).exists():
            return "duplicate"
        outcome = _apply_event(event=event, provider_name=provider.name)
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(
                    provider=provider.name,
                    event_id=event.event_id,
                    event_type=event.event_type,
                    provider_ref=event.provider_ref,
                    occurred_at=event.occurred_at,
                    outcome=outcome,
                )
        except IntegrityError:
            # recorded by a delivery that did not take the lock (none should): apply nothing
            transaction.set_rollback(True)
            return "duplicate"
    return outcome


def _apply_event(*, event: ProviderEvent, provider_name: str) -> str:
    payment = Payment.objects.filter(
        provider=provider_name, provider_ref=event.provider_ref
    ).first()
    if payment is None:
        return "unknown_checkout"
    assessment_lock(pk=payment.assessment_id)
    payment = payment_lock(pk=payment.pk)
    if event.amount_minor != payment.amount_minor or event.currency != payment.currency:
        return "amount_mismatch"
    target = EVENT_STATUS[event.event_type]
    if payment.status == target:
        return "already"
    if not payment.can_move_to(target):
        return "ignored_out_of_order"
    if target == PaymentStatus.SUCCEEDED:
        # The money moved, so the success is recorded whatever came before (a timeout, a
        # decline, a cancel). It pays the fee if the fee still needs it: what is left to pay
        # less the transfers expected; a card checkout still open gives way to money that
        # moved, and is cancelled below. Otherwise it is flagged for a refund, never refused.
        balance = assessment_balance(assessment=payment.assessment)
        room = balance.due - balance.paid - (balance.reserved - balance.reserved_card)
        payment.needs_refund = payment.amount > room
        _succeed(payment=payment, acting_user=SYSTEM, roll_forward=True)
        if not payment.needs_refund:
            _card_checkouts_beyond(assessment_id=payment.assessment_id, room=room - payment.amount)
        return "succeeded"
    payment.move_to(target)
    set_acting_user(payment, SYSTEM)
    payment.save(update_fields=["status", "updated_at"])
    outbox_event_record(
        topic=STATUS_TOPIC[target],
        aggregate_id=payment.pk,
        payload={
            "subject_ref": payment.assessment.subject_ref,
            "provider_ref": payment.provider_ref,
        },
        acting_user=SYSTEM,
    )
    return str(target)


def _card_checkouts_beyond(*, assessment_id: int, room: Money) -> None:
    """Cancel the card checkouts still open on an assessment that a payment just paid, as far
    as they no longer fit in what is left to pay (`room`), so the payer is not charged twice.
    One the provider already took stays pending: its success is flagged when it arrives."""
    for pending in Payment.objects.filter(
        assessment_id=assessment_id, method=PaymentMethod.CARD, status=PaymentStatus.PENDING
    ).order_by("id"):
        if pending.amount <= room:
            room = room - pending.amount
            continue
        _card_checkout_cancel(
            payment=payment_lock(pk=pending.pk),
            reason=CancelReason.PAID_OTHERWISE,
            acting_user=SYSTEM,
        )


def payment_bank_expect(
    *, assessment: Assessment, amount: Money, idempotency_key: str, acting_user: Any
) -> Payment:
    """A bank transfer the payer will make, with the reference they must quote.

    Idempotent by key, and also by assessment and amount: while a transfer of the same amount
    is still expected for the assessment, asking again (a second press, another tab) answers
    that payment and its reference rather than reserving the amount twice.
    """
    mission = current_mission()
    permission_require(user=acting_user, mission=mission, action=Action.BANK_TRANSFER_CHANGE)
    _check_request(assessment=assessment, amount=amount, idempotency_key=idempotency_key)
    fingerprint = _fingerprint(
        assessment=assessment, method=PaymentMethod.BANK_TRANSFER, amount=amount
    )
    with transaction.atomic():
        _existing(idempotency_key, fingerprint)  # the same key with other details is refused
        assessment_lock(pk=assessment.pk)
        expected = (
            Payment.objects.filter(
                assessment_id=assessment.pk,
                method=PaymentMethod.BANK_TRANSFER,
                status=PaymentStatus.PENDING,
                amount_minor=amount.amount_minor,
                currency=amount.currency,
            )
            .order_by("id")
            .first()
        )
        if expected is not None:
            return expected
        payment, created = _payment_new(
            assessment=assessment,
            method=PaymentMethod.BANK_TRANSFER,
            amount=amount,
            idempotency_key=idempotency_key,
            acting_user=acting_user,
        )
        if created:
            payment.bank_reference = f"{receipt_prefix(mission)}{mission.today():%y}" + (
                secrets.token_hex(4).upper()
            )
            set_acting_user(payment, acting_user)
            payment.save(update_fields=["bank_reference", "updated_at"])
    return payment


def _bank_line_recorded(
    *, bank_transaction_id: str, reference: str, amount: Money
) -> Payment | None:
    """The payment a statement line already paid, if any; the same line with other details is
    refused rather than posted twice."""
    done = Payment.objects.filter(bank_transaction_id=bank_transaction_id).first()
    if done is None:
        return None
    if done.bank_reference != reference or done.amount != amount:
        raise ApplicationError(
            FeeError.IDEMPOTENCY_MISMATCH,
            _(
                "The bank's transaction %(id)s is already recorded with another reference or "
                "amount. Nothing was posted."
            )
            % {"id": bank_transaction_id},
            field="bank_transaction_id",
        )
    return done


def payment_bank_match(
    *,
    reference: str,
    amount: Money,
    bank_transaction_id: str,
    value_date: dt.date,
    acting_user: Any,
) -> tuple[Payment, bool]:
    """A transfer arrived on the bank statement: match it by reference and exact amount.

    Idempotent by the bank's transaction id: the same statement line again answers the payment
    it paid (`created` False) and posts nothing. Anything refused changes nothing. Posted on
    the next open business day; the value date is kept on the payment.
    """
    mission = current_mission()
    permission_require(user=acting_user, mission=mission, action=Action.BANK_TRANSFER_CHANGE)
    bank_id = bank_transaction_id.strip()
    if not bank_id or len(bank_id) > 100:
        raise ApplicationError(
            FeeError.BANK_TRANSACTION_REQUIRED,
            _("Enter the bank's transaction id (at most 100 characters)."),
            field="bank_transaction_id",
        )
    if value_date > mission.today():
        raise ApplicationError(
            FeeError.VALUE_DATE_IN_FUTURE,
            _("The value date cannot be in the future."),
            field="value_date",
        )
    reference = reference.strip().upper()
    done = _bank_line_recorded(bank_transaction_id=bank_id, reference=reference, amount=amount)
    if done is not None:
        return done, False
    payment = Payment.objects.filter(bank_reference=reference).first() if reference else None
    if payment is None:
        raise ApplicationError(
            FeeError.UNKNOWN_REFERENCE,
            _("No transfer is expected with this reference. Nothing was posted."),
            field="reference",
        )
    with transaction.atomic():
        assessment_lock(pk=payment.assessment_id)
        payment = payment_lock(pk=payment.pk)
        # a twin request with the same statement line may have committed while we waited
        done = _bank_line_recorded(bank_transaction_id=bank_id, reference=reference, amount=amount)
        if done is not None:
            return done, False
        if payment.status != PaymentStatus.PENDING:
            raise ApplicationError(
                FeeError.ALREADY_DECIDED,
                _("The transfer with this reference is already recorded. Nothing was posted."),
                field="reference",
            )
        if amount.currency != payment.currency:
            raise ApplicationError(
                FeeError.WRONG_CURRENCY,
                _("This transfer is expected in %(currency)s, not %(other)s.")
                % {"currency": payment.currency, "other": amount.currency},
                field="amount",
            )
        if amount > payment.amount:
            raise ApplicationError(
                FeeError.OVERPAYMENT,
                _(
                    "The transfer is for %(got)s, more than the %(want)s expected. Overpayments "
                    "are refused: nothing was posted."
                )
                % {"got": amount.format(_lang()), "want": payment.amount.format(_lang())},
                field="amount",
            )
        if amount != payment.amount:
            raise ApplicationError(
                FeeError.BANK_MISMATCH,
                _("The transfer is for %(got)s but %(want)s is expected. Nothing was posted.")
                % {"got": amount.format(_lang()), "want": payment.amount.format(_lang())},
                field="amount",
            )
        payment.bank_transaction_id = bank_id
        payment.value_date = value_date
        set_acting_user(payment, acting_user)
        try:
            with transaction.atomic():
                payment.save(update_fields=["bank_transaction_id", "value_date", "updated_at"])
        except IntegrityError as error:
            # the same statement line recorded against another reference meanwhile
            raise ApplicationError(
                FeeError.IDEMPOTENCY_MISMATCH,
                _(
                    "The bank's transaction %(id)s is already recorded with another reference "
                    "or amount. Nothing was posted."
                )
                % {"id": bank_id},
                field="bank_transaction_id",
            ) from error
        _succeed(payment=payment, acting_user=acting_user, roll_forward=True)
    return payment, True


def payment_expire_stale(*, acting_user: Any, older_than_minutes: int = 30) -> int:
    """Pending card payments nobody answered for: closed at the provider and expired, so their
    amount is free again (one the provider says was paid stays, for its success to arrive).
    The platform's own work (beat, as SYSTEM): no staff action."""
    cutoff = timezone.now() - dt.timedelta(minutes=older_than_minutes)
    count = 0
    stale = Payment.objects.filter(
        status=PaymentStatus.PENDING, method=PaymentMethod.CARD, created_at__lt=cutoff
    ).values_list("pk", "assessment_id")
    for pk, assessment_id in stale:
        with transaction.atomic():
            assessment_lock(pk=assessment_id)
            payment = payment_lock(pk=pk)
            if not payment.can_expire():  # answered meanwhile
                continue
            if payment.provider and not get_provider(payment.provider).cancel_checkout(
                provider_ref=payment.provider_ref
            ):
                continue  # paid at the provider after all: its success is on its way
            payment.move_to(PaymentStatus.EXPIRED)
            set_acting_user(payment, acting_user)
            payment.save(update_fields=["status", "updated_at"])
            outbox_event_record(
                topic=FeeTopic.PAYMENT_EXPIRED,
                aggregate_id=payment.pk,
                payload={
                    "subject_ref": payment.assessment.subject_ref,
                    "provider_ref": payment.provider_ref,
                },
                acting_user=acting_user,
            )
            count += 1
    return count
