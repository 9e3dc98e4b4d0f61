"""Assessing fees, waivers (four eyes) and cancelling an unpaid assessment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from missions.models import Mission
from sync.services import outbox_event_record

from ..error_codes import FeeError
from ..lock_objects import assessment_lock
from ..models import (
    AccountKind,
    ApprovalStatus,
    Assessment,
    AssessmentStatus,
    FeeLine,
    SubjectType,
    Waiver,
)
from ..money import Money, convert
from ..reference.models import ExemptionCategory, ExemptionRule, ServiceCode
from ..reference.selectors import (
    exchange_rate_in_force,
    fee_schedule_entry_in_force,
    rounding_rule_for,
)
from ..selectors import assessment_balance
from .common import APPROVER_ROLES, STAFF_ROLES, mission_today, posting_date, require_role
from .ledger import account_get, ledger_post


def fee_quote(
    *, mission: Mission, service: str, visa_category: str = "", nationality: str = ""
) -> FeeLine:
    """An unsaved fee line for `service` today: schedule fee → local currency at today's rate,
    rounded by the currency's rule. Raises when the schedule or the rate is missing."""
    today = mission_today(mission)
    entry = fee_schedule_entry_in_force(
        service=service, on=today, visa_category=visa_category, nationality=nationality
    )
    if entry is None:
        raise ApplicationError(
            FeeError.NO_FEE,
            _("There is no fee in force for %(service)s.")
            % {"service": ServiceCode(service).label if service in ServiceCode else service},
        )
    base = Money(entry.amount_minor, entry.currency)
    if mission.currency == base.currency:
        rate_value, rate_date, local = None, today, base
    else:
        rate = exchange_rate_in_force(currency=mission.currency, on=today)
        if rate is None:
            raise ApplicationError(
                FeeError.NO_RATE,
                _("HQ has set no exchange rate for %(currency)s yet.")
                % {"currency": mission.currency},
            )
        rate_value, rate_date = rate.rate, rate.effective_date
        rule = rounding_rule_for(currency=mission.currency)
        local = convert(
            base,
            to_currency=mission.currency,
            rate=rate.rate,
            increment_minor=rule.increment_minor if rule else 1,
            mode=rule.mode if rule else "half_up",
        )
    line = FeeLine(
        service=service,
        schedule_entry_id=entry.pk,
        base_amount_minor=base.amount_minor,
        base_currency=base.currency,
        rate=rate_value if rate_value is not None else Decimal(1),
        rate_date=rate_date,
        amount_minor=local.amount_minor,
        currency=local.currency,
    )
    return line


def assessment_create(
    *,
    mission: Mission,
    subject_type: str,
    subject_ref: str,
    payer_name: str,
    payer_language: str,
    services: list[str],
    acting_user: Any,
    visa_category: str = "",
    nationality: str = "",
) -> Assessment:
    """Assess the fees for `services` (a service and its options) at today's rate, frozen on
    each line; post receivable against revenue per service."""
    require_role(
        mission=mission, user=acting_user, roles=STAFF_ROLES, message=_("Only staff assess fees.")
    )
    if subject_type not in SubjectType.values or not subject_ref.strip():
        raise ApplicationError(FeeError.NOT_FOUND, _("Say what the fees are for."))
    if not payer_name.strip():
        raise ApplicationError(
            FeeError.INVALID_AMOUNT, _("Enter the payer's name."), field="payer_name"
        )
    if not services:
        raise ApplicationError(FeeError.NO_FEE, _("Choose at least one service."))
    if payer_language not in dict(settings.LANGUAGES):
        payer_language = "en"
    lines = [
        fee_quote(
            mission=mission, service=service, visa_category=visa_category, nationality=nationality
        )
        for service in services
    ]
    with transaction.atomic():
        day = posting_date(mission=mission, roll_forward=False)
        assessment = Assessment(
            subject_type=subject_type,
            subject_ref=subject_ref.strip()[:64],
            payer_name=payer_name.strip()[:200],
            payer_language=payer_language,
            currency=mission.currency,
            assessed_on=day,
            created_by_id=getattr(acting_user, "pk", None),
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
            topic="fees.assessment.created",
            aggregate_type="assessment",
            aggregate_id=str(assessment.pk),
            payload={
                "subject_type": subject_type,
                "subject_ref": assessment.subject_ref,
                "currency": assessment.currency,
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


def assessment_cancel(*, assessment: Assessment, acting_user: Any, mission: Mission) -> Assessment:
    """Cancel an assessment nothing was paid on; its remaining receivable is reversed."""
    require_role(
        mission=mission, user=acting_user, roles=STAFF_ROLES, message=_("Only staff cancel.")
    )
    with transaction.atomic():
        assessment = assessment_lock(assessment.pk)
        balance = assessment_balance(assessment=assessment)
        if not assessment.can_move_to(AssessmentStatus.CANCELLED):
            raise ApplicationError(FeeError.ASSESSMENT_NOT_OPEN, _("This is no longer open."))
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
        assessment.status = AssessmentStatus.CANCELLED
        set_acting_user(assessment, acting_user)
        assessment.save(update_fields=["status", "updated_at"])
        if legs:
            ledger_post(
                kind="assessment_cancelled",
                business_date=posting_date(mission=mission, roll_forward=True),
                legs=legs,
                acting_user=acting_user,
                source_type="assessment",
                source_id=assessment.pk,
            )
        outbox_event_record(
            topic="fees.assessment.cancelled",
            aggregate_type="assessment",
            aggregate_id=str(assessment.pk),
            payload={},
            acting_user=acting_user,
        )
    return assessment


def assessment_settle_if_paid(*, assessment: Assessment, acting_user: Any) -> None:
    """Open → settled once nothing is left to pay (caller holds the assessment lock)."""
    if (
        assessment.status == AssessmentStatus.OPEN
        and not assessment_balance(assessment=assessment).outstanding
    ):
        assessment.status = AssessmentStatus.SETTLED
        set_acting_user(assessment, acting_user)
        assessment.save(update_fields=["status", "updated_at"])


def waiver_request(
    *,
    line: FeeLine,
    category_code: str,
    reason: str,
    acting_user: Any,
    mission: Mission,
    applicant_age: int | None = None,
    applicant_nationality: str = "",
) -> Waiver:
    """Ask for an exemption from a fee line; nothing changes until a consul approves it."""
    require_role(mission=mission, user=acting_user, roles=STAFF_ROLES, message=_("Only staff ask."))
    category = ExemptionCategory.objects.filter(code=category_code, is_active=True).first()
    if category is None:
        raise ApplicationError(
            FeeError.EXEMPTION_RULE, _("Choose an exemption category."), field="category"
        )
    if not reason.strip():
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
        assessment = assessment_lock(line.assessment_id)
        if assessment.status != AssessmentStatus.OPEN:
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
            reason=reason.strip(),
            amount_minor=amount,
            currency=line.currency,
            requested_by_id=acting_user.pk,
        )
        set_acting_user(waiver, acting_user)
        waiver.save()
        outbox_event_record(
            topic="fees.waiver.requested",
            aggregate_type="waiver",
            aggregate_id=str(waiver.pk),
            payload={"line": line.pk, "category": category.code, "amount_minor": amount},
            acting_user=acting_user,
        )
    return waiver


def waiver_decide(*, waiver: Waiver, approve: bool, acting_user: Any, mission: Mission) -> Waiver:
    """A consul (not the requester) approves — posting waivers against receivable — or rejects."""
    require_role(
        mission=mission,
        user=acting_user,
        roles=APPROVER_ROLES,
        message=_("Only a consul or the mission admin approves waivers."),
    )
    if waiver.requested_by_id == acting_user.pk:
        raise ApplicationError(
            FeeError.FOUR_EYES, _("A second person must approve: you asked for this waiver.")
        )
    with transaction.atomic():
        assessment = assessment_lock(waiver.line.assessment_id)
        waiver = Waiver.objects.select_for_update().get(pk=waiver.pk)
        if waiver.status != ApprovalStatus.REQUESTED:
            raise ApplicationError(FeeError.ALREADY_DECIDED, _("This was already decided."))
        if approve and assessment.status != AssessmentStatus.OPEN:
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
        waiver.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        waiver.decided_by_id = acting_user.pk
        waiver.decided_at = timezone.now()
        set_acting_user(waiver, acting_user)
        waiver.save(update_fields=["status", "decided_by_id", "decided_at", "updated_at"])
        if approve:
            amount = Money(waiver.amount_minor, waiver.currency)
            ledger_post(
                kind="waiver",
                business_date=posting_date(mission=mission, roll_forward=True),
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
            topic=f"fees.waiver.{waiver.status}",
            aggregate_type="waiver",
            aggregate_id=str(waiver.pk),
            payload={"amount_minor": waiver.amount_minor, "currency": waiver.currency},
            acting_user=acting_user,
        )
    return waiver
