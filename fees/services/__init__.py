"""Every write of the fees app. Each service takes `acting_user`, checks the permission table
first (staff services), runs in one transaction and writes the change, its history, its ledger
postings and its outbox events together. The mission is the connection's
(`missions.selectors.current_mission()`). Re-exported so callers import from one place."""

from .assessment import (
    assessment_cancel,
    assessment_create,
    assessment_settle_if_paid,
    waiver_decide,
    waiver_request,
)
from .day_close import day_close
from .ledger import account_get, ledger_post
from .payment import (
    payment_bank_expect,
    payment_bank_match,
    payment_card_cancel,
    payment_card_start,
    payment_expire_stale,
    payment_request_check,
    payment_take_cash,
    payment_webhook_receive,
)
from .refund import credit_note_decide, credit_note_request
from .remittance import remittance_record

__all__ = [
    "account_get",
    "assessment_cancel",
    "assessment_create",
    "assessment_settle_if_paid",
    "credit_note_decide",
    "credit_note_request",
    "day_close",
    "ledger_post",
    "payment_bank_expect",
    "payment_bank_match",
    "payment_card_cancel",
    "payment_card_start",
    "payment_expire_stale",
    "payment_request_check",
    "payment_take_cash",
    "payment_webhook_receive",
    "remittance_record",
    "waiver_decide",
    "waiver_request",
]
