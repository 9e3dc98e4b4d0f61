"""Assessing fees, waivers (four eyes) and cancelling an unpaid assessment."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from consulate.kernel.reference import day_written_short
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from ..error_codes import FeeError
from ..events import FeeTopic
from ..locks import assessment_lock, reference_lock, waiver_lock
from ..models import (
    AccountKind,
    ApprovalStatus,
    Assessment,
    AssessmentStatus,
    FeeLine,
    SubjectType,
    Waiver,
)
from ..money import Money
from ..reference.models import ExemptionCategory, ExemptionRule
from ..selectors import (
    FeesCharged,
    assessment_balance,
    fee_quote,
    reference_fees_charged,
    reference_is_a_case,
)
from .common import posting_date, reason_clean
from .ledger import account_get, ledger_post

WAIVER_DECIDED_TOPIC = {
    ApprovalStatus.APPROVED: FeeTopic.WAIVER_APPROVED,
    ApprovalStatus.REJECTED: FeeTopic.WAIVER_REJECTED,
}


def assessment_create(
    *,
    subject_type: str,
    subject_ref: str,
    payer_name: str,
    payer_language: str,
    services: list[str],
    acting_user: Any,
    visa_category: str = "",
    nationality: str = "",
    subject_path: str = "",
) -> Assessment:
    """Assess the fees for `services` (a service and its options) at today's rate, frozen on
    each line; post receivable against revenue per service. `subject_path`: the payer's page
    of what the fee is for, which the pay page links back to (a path on this host).

    A fee is charged once per reference: a service that a case's assessment of `subject_ref`
    (case of letters does not count), open or settled, charges already is refused
    (`ALREADY_CHARGED`, on `subject_ref`, naming the receipt that paid it or the assessment to
    pay instead); a cancelled assessment charges nothing, nor one whose payments were refunded
    in full (a part refund still charges). Another fee for the same reference is assessed. A
    walk-in that quotes a case's reference is charged as that case's (`subject_type` case), so
    that it holds the fee in turn. Under `reference_lock`, and the database's trigger says the
    same (migrations 0011 and 0012)."""
    mission = current_mission()
    permission_require(user=acting_user, mission=mission, action=Action.ASSESSMENT_CHANGE)
    if subject_type not in SubjectType.values or not subject_ref.strip():
        raise ApplicationError(
            CommonError.INVALID, _("Say what the fees are for."), field="subject_ref"
        )
    if not payer_name.strip():
        raise ApplicationError(
            CommonError.INVALID, _("Enter the payer's name."), field="payer_name"
        )
    if not services:
        raise ApplicationError(FeeError.NO_FEE, _("Choose at least one service."))
    if subject_path and not (subject_path.startswith("/") and not subject_path.startswith("//")):
        raise ValueError("subject_path must be a path on this host")  # a caller's mistake
    if payer_language not in dict(settings.LANGUAGES):
        payer_language = "en"
    lines = [
        fee_quote(service=service, visa_category=visa_category, nationality=nationality)
        for service in services
    ]
    with transaction.atomic():
        # a fee is charged once per reference: the same reference assessed at once waits here
        reference_lock(reference=subject_ref.strip()[:64])
        charged = reference_fees_charged(reference=subject_ref.strip()[:64], services=services)
        if charged:
            raise _already_charged(charged[0], reference=subject_ref.strip()[:64])
        if subject_type == SubjectType.WALK_IN and reference_is_a_case(
            reference=subject_ref.strip()[:64]
        ):
            subject_type = SubjectType.CASE
        day = posting_date(roll_forward=False)
        assessment = Assessment(
            subject_type=subject_type,
            subject_ref=subject_ref.strip()[:64],
            subject_path=subject_path,
            payer_name=payer_name.strip()[:200],
            payer_language=payer_language,
            currency=mission.currency,
            assessed_on=day,
            created_by_id=acting_user.pk,
        )
        set_acting_user(assessment, acting_user)
        assessment.save()
        receivable = account_get(kind=AccountKind.RECEIVABLE)
        legs = []
        for line in lines:
            line.assessment = assessment
            set_acting_user(line, acting_user)
            line.save()
            if line.amount_minor:
                revenue = account_get(
                    kind=AccountKind.REVENUE,
                    qualifier=line.service,
                    name=f"Fee revenue: {line.service}",
                )
                legs += [(receivable, line.amount), (revenue, -line.amount)]
        if legs:
            ledger_post(
                kind="assessment",
                business_date=day,
                legs=legs,
                acting_user=acting_user,
                source_type="assessment",
                source_id=assessment.pk,
            )
        outbox_event_record(
            topic=FeeTopic.ASSESSMENT_CREATED,
            aggregate_id=assessment.pk,
            payload={
                "subject_type": subject_type,
                "subject_ref": assessment.subject_ref,
                "currency": assessment.currency,
                "assessed_on": day.isoformat(),
                "lines": [
                    {
                        "service": line.service,
                        "amount_minor": line.amount_minor,
                        "base_amount_minor": line.base_amount_minor,
                        "base_currency": line.base_currency,
                        "rate": str(line.rate),
                        "rate_date": line.rate_date.isoformat(),
                    }
                    for line in lines
                ],
            },
            acting_user=acting_user,
        )
    return assessment


def _already_charged(charged: FeesCharged, *, reference: str) -> ApplicationError:
    """The refusal of fees charged already for `reference`, naming where: the receipt that
    paid them, or the assessment still open (to be paid there) or settled without a payment."""
    assessment, receipt = charged.assessment, charged.receipt
    values = {
        "fees": charged.fees_named,
        "reference": reference,
        "receipt": receipt.number if receipt else "",
        "day": day_written_short(charged.day),
    }
    if assessment.status == AssessmentStatus.OPEN:
        message = _(
            "Already charged for %(reference)s on %(day)s and not paid yet: %(fees)s. Take the "
            "payment on that assessment instead of charging again."
        )
    elif receipt is not None:
        message = _(
            "Already paid: receipt %(receipt)s on %(day)s, for %(fees)s (%(reference)s). Only a "
            "fee not charged yet can be assessed for this reference."
        )
    else:
        message = _(
            "Already settled without payment on %(day)s: %(fees)s (%(reference)s). Only a fee "
            "not charged yet can be assessed for this reference."
        )
    return ApplicationError(
        FeeError.ALREADY_CHARGED,
        message % values,
        field="subject_ref",
        details={"assessment_id": assessment.pk},
    )


def assessment_cancel(*, assessment: Assessment, acting_user: Any) -> Assessment:
    """Cancel an assessment nothing was paid on; its remaining receivable is reversed."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.ASSESSMENT_CHANGE)
    with transaction.atomic():
        assessment = assessment_lock(pk=assessment.pk)
        if not assessment.can_cancel():
            raise ApplicationError(FeeError.ASSESSMENT_NOT_OPEN, _("This is no longer open."))
        balance = assessment_balance(assessment=assessment)
        if balance.paid or balance.reserved:
            raise ApplicationError(
                FeeError.ASSESSMENT_NOT_OPEN,
                _("Payments were made: refund them with a credit note instead."),
            )
        receivable = account_get(kind=AccountKind.RECEIVABLE)
        legs = []
        for line in assessment.lines.all():
            waived = sum(
                w.amount_minor for w in line.waivers.all() if w.status == ApprovalStatus.APPROVED
            )
            left = Money(line.amount_minor - waived, line.currency)
            if left:
                revenue = account_get(kind=AccountKind.REVENUE, qualifier=line.service)
                legs += [(revenue, left), (receivable, -left)]
        assessment.move_to(AssessmentStatus.CANCELLED)
        set_acting_user(assessment, acting_user)
        assessment.save(update_fields=["status", "updated_at"])
        if legs:
            ledger_post(
                kind="assessment_cancelled",
                business_date=posting_date(roll_forward=True),
                legs=legs,
                acting_user=acting_user,
                source_type="assessment",
                source_id=assessment.pk,
            )
        outbox_event_record(
            topic=FeeTopic.ASSESSMENT_CANCELLED,
            aggregate_id=assessment.pk,
            payload={
                "subject_type": assessment.subject_type,
                "subject_ref": assessment.subject_ref,
            },
            acting_user=acting_user,
        )
    return assessment


def assessment_settle_if_paid(*, assessment: Assessment, acting_user: Any) -> None:
    """Open → settled once nothing is left to pay (a payment still in progress, which may yet
    be cancelled, does not count as paid). An internal step of the payment and waiver
    services, which checked who acts and hold the assessment lock and the transaction."""
    if assessment.can_settle() and not assessment_balance(assessment=assessment).left_to_pay:
        assessment.move_to(AssessmentStatus.SETTLED)
        set_acting_user(assessment, acting_user)
        assessment.save(update_fields=["status", "updated_at"])


def waiver_request(
    *,
    line: FeeLine,
    category_code: str,
    reason: str,
    acting_user: Any,
    applicant_age: int | None = None,
    applicant_nationality: str = "",
) -> Waiver:
    """Ask for an exemption from a fee line; nothing changes until a consul approves it."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.ASSESSMENT_CHANGE)
    category = ExemptionCategory.objects.filter(code=category_code, is_active=True).first()
    if category is None:
        raise ApplicationError(
            FeeError.EXEMPTION_RULE, _("Choose an exemption category."), field="category"
        )
    reason = reason_clean(reason, field="reason")
    if not reason:
        raise ApplicationError(
            FeeError.REASON_REQUIRED, _("A waiver needs a reason."), field="reason"
        )
    if category.rule == ExemptionRule.CHILD_UNDER_AGE and (
        applicant_age is None or applicant_age >= (category.age_under or 0)
    ):
        raise ApplicationError(
            FeeError.EXEMPTION_RULE,
            _("This exemption is for children under %(age)s.") % {"age": category.age_under},
            field="applicant_age",
        )
    if category.rule == ExemptionRule.RECIPROCITY and applicant_nationality.upper() not in (
        category.nationalities.split()
    ):
        raise ApplicationError(
            FeeError.EXEMPTION_RULE,
            _("Reciprocity does not cover this nationality."),
            field="applicant_nationality",
        )
    with transaction.atomic():
        assessment = assessment_lock(pk=line.assessment_id)
        if not assessment.can_take_payment():
            raise ApplicationError(FeeError.ASSESSMENT_NOT_OPEN, _("This is no longer open."))
        if line.waivers.filter(status__in=["requested", "approved"]).exists():
            raise ApplicationError(FeeError.ALREADY_DECIDED, _("This fee already has a waiver."))
        amount = line.amount_minor * category.percent_waived // 100
        balance = assessment_balance(assessment=assessment)
        if amount <= 0:
            raise ApplicationError(FeeError.INVALID_AMOUNT, _("Nothing to waive."))
        if amount > balance.outstanding.amount_minor:
            raise ApplicationError(
                FeeError.OVERPAYMENT,
                _("The fee is already paid: refund it with a credit note instead."),
            )
        waiver = Waiver(
            line=line,
            category_code=category.code,
            reason=reason,
            amount_minor=amount,
            currency=line.currency,
            requested_by_id=acting_user.pk,
        )
        set_acting_user(waiver, acting_user)
        waiver.save()
        outbox_event_record(
            topic=FeeTopic.WAIVER_REQUESTED,
            aggregate_id=waiver.pk,
            payload={
                "subject_ref": assessment.subject_ref,
                "line": line.pk,
                "service": line.service,
                "category": category.code,
                "amount_minor": amount,
                "currency": line.currency,
            },
            acting_user=acting_user,
        )
    return waiver


def waiver_decide(*, waiver: Waiver, approve: bool, acting_user: Any) -> Waiver:
    """A consul (not the requester) approves — posting waivers against receivable — or rejects."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.FEES_APPROVE)
    if waiver.requested_by_id == acting_user.pk:
        raise ApplicationError(
            FeeError.FOUR_EYES, _("A second person must approve: you asked for this waiver.")
        )
    with transaction.atomic():
        assessment = assessment_lock(pk=waiver.line.assessment_id)
        waiver = waiver_lock(pk=waiver.pk)
        if not waiver.can_decide():
            raise ApplicationError(FeeError.ALREADY_DECIDED, _("This was already decided."))
        if approve and not assessment.can_take_payment():
            raise ApplicationError(FeeError.ASSESSMENT_NOT_OPEN, _("This is no longer open."))
        if (
            approve
            and waiver.amount_minor
            > assessment_balance(assessment=assessment).outstanding.amount_minor
        ):
            raise ApplicationError(
                FeeError.OVERPAYMENT,
                _("The fee was paid meanwhile: refund it with a credit note instead."),
            )
        waiver.move_to(ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED)
        waiver.decided_by_id = acting_user.pk
        waiver.decided_at = timezone.now()
        set_acting_user(waiver, acting_user)
        waiver.save(update_fields=["status", "decided_by_id", "decided_at", "updated_at"])
        if approve:
            amount = Money(waiver.amount_minor, waiver.currency)
            ledger_post(
                kind="waiver",
                business_date=posting_date(roll_forward=True),
                legs=[
                    (account_get(kind=AccountKind.WAIVERS), amount),
                    (account_get(kind=AccountKind.RECEIVABLE), -amount),
                ],
                acting_user=acting_user,
                source_type="waiver",
                source_id=waiver.pk,
            )
            assessment_settle_if_paid(assessment=assessment, acting_user=acting_user)
        outbox_event_record(
            topic=WAIVER_DECIDED_TOPIC[ApprovalStatus(waiver.status)],
            aggregate_id=waiver.pk,
            payload={
                "subject_ref": assessment.subject_ref,
                "category": waiver.category_code,
                "amount_minor": waiver.amount_minor,
                "currency": waiver.currency,
            },
            acting_user=acting_user,
        )
    return waiver
