"""Helpers the fee services share: business dates, receipt prefixes, the account money sits in.

The mission is always the connection's (`missions.selectors.current_mission()`); who may act is
always the permission table's answer (`missions.permissions.permission_require`).
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from consulate.kernel.text import text_clean
from missions.models import Mission
from missions.selectors import current_mission

from ..error_codes import FeeError
from ..models import Account, AccountKind, DayClose, Payment, PaymentMethod
from .ledger import account_get

# Where the money of a payment that is not cash sits until it is banked.
CLEARING_ACCOUNT: dict[str, str] = {
    PaymentMethod.CARD: AccountKind.CARD_CLEARING,
    PaymentMethod.BANK_TRANSFER: AccountKind.BANK,
}


def posting_date(*, roll_forward: bool) -> dt.date:
    """The business day a posting goes to: today in the mission's time zone.

    Once today is closed, counter work (cash) is refused with a clear message; postings that
    cannot wait (a card success from the provider, an approved refund) go to the next open day.
    """
    day = current_mission().today()
    closed = set(
        DayClose.objects.filter(business_date__gte=day).values_list("business_date", flat=True)
    )
    if day not in closed:
        return day
    if not roll_forward:
        raise ApplicationError(
            FeeError.DAY_CLOSED,
            _("The day %(date)s is closed: no more postings. Corrections go to the next day.")
            % {"date": day.isoformat()},
        )
    while day in closed:
        day += dt.timedelta(days=1)
    return day


# A reason staff type (a refund's, a waiver's, a day's count that differs) is read by a consul
# and kept in the ledger's history: a paragraph, not a document.
REASON_LIMIT = 2000


def reason_clean(value: str, *, field: str) -> str:
    """A reason as it is kept (`consulate.kernel.text.text_clean`, at most REASON_LIMIT
    characters)."""
    return text_clean(value, field=field, limit=REASON_LIMIT, code=FeeError.INVALID_REASON)


def receipt_prefix(mission: Mission) -> str:
    """The first three letters of the mission's code: `ALP-2026-000123`."""
    return mission.code.replace("-", "")[:3].upper()


def payment_account(payment: Payment) -> Account:
    """The account a payment's money went into (and a refund of it comes out of): the
    cashier's drawer for cash, card clearing or the bank otherwise."""
    if payment.method == PaymentMethod.CASH:
        return account_get(
            kind=AccountKind.DRAWER,
            qualifier=payment.cashier_id or 0,
            name=f"Drawer of cashier {payment.cashier_id}",
        )
    return account_get(kind=CLEARING_ACCOUNT[payment.method])
