"""The fees app's staff services for the permission walk (tests/missions/test_permission_table.py).

Each `prepare(mission)` runs in the mission's schema and builds, as SYSTEM (or as a staff member
where the service needs a requester other than the approver), what the call needs; HQ's
reference data is seeded in the public schema first. Not walked here, because no staff role is
what lets them run: `payment_card_start` (the payer, holding the pay link),
`payment_webhook_receive` (the provider, by signature), `payment_expire_stale` (the platform, as
SYSTEM), and the internal steps `assessment_settle_if_paid` and `ledger_post`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from fees import exporters, selectors, services
from fees.money import Money
from fees.reference import services as reference_services
from missions.models import Mission
from missions.permissions import Action
from missions.selectors import current_mission
from tests.conftest import make_staff
from tests.fees.factories import (
    AssessmentFactory,
    BankTransferExpectedFactory,
    CreditNoteFactory,
    ReceiptFactory,
    WaiverFactory,
    seed_fee_reference,
)
from tests.permission_table import PermissionCase


def _key() -> str:
    return uuid.uuid4().hex


def _assessment(mission: Mission) -> Any:
    seed_fee_reference()
    return AssessmentFactory()


def _expected_transfer(mission: Mission) -> Any:
    seed_fee_reference()
    return BankTransferExpectedFactory()


def _receipt(mission: Mission) -> Any:
    seed_fee_reference()
    return ReceiptFactory()


def _waiver(mission: Mission) -> Any:
    seed_fee_reference()
    return WaiverFactory(acting_user=make_staff(mission, "officer"))


def _credit_note(mission: Mission) -> Any:
    seed_fee_reference()
    return CreditNoteFactory(acting_user=make_staff(mission, "officer"))


def _card_checkout(mission: Mission) -> Any:
    """A card checkout the payer started (the payer's own service: no staff role)."""
    seed_fee_reference()
    assessment = AssessmentFactory()
    payment, _url = services.payment_card_start(
        assessment=assessment,
        amount=selectors.assessment_balance(assessment=assessment).card_payable,
        idempotency_key=_key(),
        acting_user=None,
        return_path="/pay/walk/",
    )
    return payment


def _nothing(mission: Mission) -> Any:
    return mission


def _reference(mission: Mission) -> Any:
    seed_fee_reference()
    return mission


def _last_month(mission: Mission) -> dt.date:
    return (mission.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


# A date after the demo schedule's, different for every call (each call publishes a version).
_FUTURE = dt.date(2030, 1, 1)


def _publish(actor: Any, mission: Mission) -> Any:
    return reference_services.fee_schedule_entry_publish(
        service="notarial_act",
        amount=Money(3500, "EUR"),
        valid_from=_FUTURE + dt.timedelta(days=uuid.uuid4().int % 3000),
        acting_user=actor,
    )


CASES = [
    PermissionCase(
        service="assessment_create",
        action=Action.ASSESSMENT_CHANGE,
        prepare=_reference,
        call=lambda actor, mission: services.assessment_create(
            subject_type="walk_in",
            subject_ref="W-PERM",
            payer_name="Walk Permission",
            payer_language="en",
            services=["visa"],
            acting_user=actor,
        ),
    ),
    PermissionCase(
        service="assessment_cancel",
        action=Action.ASSESSMENT_CHANGE,
        prepare=_assessment,
        call=lambda actor, assessment: services.assessment_cancel(
            assessment=assessment, acting_user=actor
        ),
    ),
    PermissionCase(
        service="waiver_request",
        action=Action.ASSESSMENT_CHANGE,
        prepare=_assessment,
        call=lambda actor, assessment: services.waiver_request(
            line=assessment.lines.get(),
            category_code="humanitarian",
            reason="Flood victim",
            acting_user=actor,
        ),
    ),
    PermissionCase(
        service="waiver_decide",
        action=Action.FEES_APPROVE,
        prepare=_waiver,
        call=lambda actor, waiver: services.waiver_decide(
            waiver=waiver, approve=True, acting_user=actor
        ),
    ),
    PermissionCase(
        service="credit_note_request",
        action=Action.ASSESSMENT_CHANGE,
        prepare=_receipt,
        call=lambda actor, receipt: services.credit_note_request(
            receipt=receipt, amount=Money(100, receipt.currency), reason="x", acting_user=actor
        ),
    ),
    PermissionCase(
        service="credit_note_decide",
        action=Action.FEES_APPROVE,
        prepare=_credit_note,
        call=lambda actor, note: services.credit_note_decide(
            note=note, approve=True, acting_user=actor
        ),
    ),
    PermissionCase(
        service="payment_take_cash",
        action=Action.CASH_TAKE,
        prepare=_assessment,
        call=lambda actor, assessment: services.payment_take_cash(
            assessment=assessment,
            amount=Money(1000, assessment.currency),
            idempotency_key=_key(),
            acting_user=actor,
        ),
    ),
    PermissionCase(
        service="payment_card_cancel",
        action=Action.ASSESSMENT_CHANGE,
        prepare=_card_checkout,
        call=lambda actor, payment: services.payment_card_cancel(
            payment=payment, acting_user=actor
        ),
    ),
    PermissionCase(
        service="payment_bank_expect",
        action=Action.BANK_TRANSFER_CHANGE,
        prepare=_assessment,
        call=lambda actor, assessment: services.payment_bank_expect(
            assessment=assessment,
            amount=Money(1000, assessment.currency),
            idempotency_key=_key(),
            acting_user=actor,
        ),
    ),
    PermissionCase(
        service="payment_bank_match",
        action=Action.BANK_TRANSFER_CHANGE,
        prepare=_expected_transfer,
        call=lambda actor, expected: services.payment_bank_match(
            reference=expected.bank_reference,
            amount=expected.amount,
            bank_transaction_id=f"BNK-{_key()[:10]}",
            value_date=current_mission().today(),
            acting_user=actor,
        ),
    ),
    PermissionCase(
        service="day_close",
        action=Action.DAY_CLOSE,
        prepare=_nothing,
        call=lambda actor, mission: services.day_close(
            business_date=mission.today(), counted={}, reasons={}, acting_user=actor
        ),
    ),
    PermissionCase(
        service="remittance_record",
        action=Action.REMITTANCE_CHANGE,
        prepare=_nothing,
        call=lambda actor, mission: services.remittance_record(
            month=_last_month(mission), base_currency="EUR", acting_user=actor
        ),
    ),
    # reads that fetch and check in one call
    PermissionCase(
        service="assessment_get_for_staff",
        action=Action.FEES_VIEW,
        prepare=_assessment,
        call=lambda actor, assessment: selectors.assessment_get_for_staff(
            pk=assessment.pk, acting_user=actor
        ),
    ),
    PermissionCase(
        service="report_csv",
        action=Action.REPORT_VIEW,
        prepare=_nothing,
        call=lambda actor, mission: exporters.report_csv(
            date_from=mission.today().replace(day=1), date_to=mission.today(), acting_user=actor
        ),
    ),
    PermissionCase(
        service="remittance_csv",
        action=Action.REPORT_VIEW,
        prepare=_nothing,
        call=lambda actor, mission: exporters.remittance_csv(
            month=_last_month(mission), acting_user=actor
        ),
    ),
    # HQ's reference data
    PermissionCase(
        service="fee_schedule_entry_publish",
        action=Action.REFERENCE_DATA_MANAGE,
        prepare=_reference,
        call=_publish,
    ),
    PermissionCase(
        service="exchange_rate_record",
        action=Action.REFERENCE_DATA_MANAGE,
        prepare=_reference,
        call=lambda actor, mission: reference_services.exchange_rate_record(
            currency="KWD", rate=Decimal("0.3600"), effective_date=_FUTURE, acting_user=actor
        ),
    ),
    PermissionCase(
        service="exchange_rate_import_csv",
        action=Action.REFERENCE_DATA_MANAGE,
        prepare=_reference,
        call=lambda actor, mission: reference_services.exchange_rate_import_csv(
            text="currency,rate,effective_date\nUSD,1.10,2030-01-01\n",
            acting_user=actor,
            source="walk.csv",
        ),
    ),
    PermissionCase(
        service="rounding_rule_set",
        action=Action.REFERENCE_DATA_MANAGE,
        prepare=_reference,
        call=lambda actor, mission: reference_services.rounding_rule_set(
            currency="KWD", increment_minor=100, mode="up", acting_user=actor
        ),
    ),
    PermissionCase(
        service="exemption_category_set",
        action=Action.REFERENCE_DATA_MANAGE,
        prepare=_reference,
        call=lambda actor, mission: reference_services.exemption_category_set(
            category=reference_services.ExemptionCategoryInput(
                code="walk-test", name="Walk test", rule="humanitarian"
            ),
            acting_user=actor,
        ),
    ),
]
