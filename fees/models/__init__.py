"""A mission's money: assessments and fee lines, waivers, payments, receipts, credit notes,
the double-entry ledger and the cashier day close. All in the mission's schema.

Amounts are BigIntegers of ISO 4217 minor units next to a 3-letter currency (fees.money).
The database holds the rules that must never break, whatever writes to it (migrations 0002,
0003 and 0006): every ledger transaction balances per currency at commit, ledger rows,
receipts, credit notes and provider events are never updated or deleted, amounts of payments
and fee lines never change, receipt numbers come from a counter row locked until commit that
only ever steps by one (gapless), and no ledger transaction lands on a closed day.

One module per area; everything is re-exported here, so `from fees.models import Payment` and
the migrations keep working (app label and model names are unchanged).
"""

from .approval import APPROVAL_TRANSITIONS, ApprovalStatus, CreditNote, Waiver
from .assessment import (
    ASSESSMENT_TRANSITIONS,
    Assessment,
    AssessmentStatus,
    FeeLine,
    SubjectType,
    new_token,
)
from .ledger import (
    Account,
    AccountKind,
    DayClose,
    DrawerCount,
    LedgerEntry,
    LedgerTransaction,
    Remittance,
)
from .payment import (
    PAYMENT_TRANSITIONS,
    NumberCounter,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Receipt,
    WebhookEvent,
)

__all__ = [
    "APPROVAL_TRANSITIONS",
    "ASSESSMENT_TRANSITIONS",
    "PAYMENT_TRANSITIONS",
    "Account",
    "AccountKind",
    "ApprovalStatus",
    "Assessment",
    "AssessmentStatus",
    "CreditNote",
    "DayClose",
    "DrawerCount",
    "FeeLine",
    "LedgerEntry",
    "LedgerTransaction",
    "NumberCounter",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "Receipt",
    "Remittance",
    "SubjectType",
    "Waiver",
    "WebhookEvent",
    "new_token",
]
