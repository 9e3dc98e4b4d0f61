"""Cashier day close: each drawer's expected cash against what was counted; the difference is
posted with a reason, the counted cash goes from the drawer to the bank, and the day closes:
the database refuses any later posting dated on it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from ..error_codes import FeeError
from ..events import FeeTopic
from ..locks import day_lock
from ..models import AccountKind, DayClose, DrawerCount
from ..money import Money
from ..selectors import drawer_expected
from .common import reason_clean
from .ledger import account_get, ledger_post


def day_close(
    *,
    business_date: dt.date,
    counted: dict[int, Money],
    reasons: dict[int, str],
    acting_user: Any,
) -> DayClose:
    """Close `business_date`. `counted` maps a drawer's cashier id to the cash counted in it."""
    mission = current_mission()
    permission_require(user=acting_user, mission=mission, action=Action.DAY_CLOSE)
    if business_date > mission.today():
        raise ApplicationError(FeeError.DAY_CLOSED, _("A day can be closed only once it began."))
    with transaction.atomic():
        # Exclusive against every posting to this day and against a second closer: what is
        # counted is final.
        day_lock(business_date=business_date)
        if DayClose.objects.filter(business_date=business_date).exists():
            raise ApplicationError(
                FeeError.DAY_CLOSED,
                _("The day %(date)s is already closed.") % {"date": business_date.isoformat()},
            )
        drawers = drawer_expected(business_date=business_date)
        users = get_user_model().objects.in_bulk([int(a.qualifier) for a, _m in drawers])
        rows = []
        for account, expected in drawers:
            cashier_id = int(account.qualifier)
            got = counted.get(cashier_id)
            if got is None or got.currency != expected.currency or got.amount_minor < 0:
                raise ApplicationError(
                    FeeError.INVALID_AMOUNT,
                    _("Enter the cash counted in every drawer."),
                    field=f"counted_{cashier_id}",
                )
            difference = got - expected
            reason = reason_clean(reasons.get(cashier_id, ""), field=f"reason_{cashier_id}")
            if difference and not reason:
                raise ApplicationError(
                    FeeError.REASON_REQUIRED,
                    _("Say why the count differs from what is expected."),
                    field=f"reason_{cashier_id}",
                )
            over_short = account_get(kind=AccountKind.CASH_OVER_SHORT)
            legs = [(account, difference), (over_short, -difference)] if difference else []
            if got.amount_minor:
                legs += [(account_get(kind=AccountKind.BANK), got), (account, -got)]
            if legs:
                # dated on the day being closed, before it closes
                ledger_post(
                    kind="day_close",
                    business_date=business_date,
                    legs=legs,
                    acting_user=acting_user,
                    source_type="drawer",
                    source_id=cashier_id,
                    memo=reason,
                )
            user = users.get(cashier_id)
            rows.append(
                DrawerCount(
                    cashier_id=cashier_id,
                    cashier_email=getattr(user, "email", str(cashier_id)),
                    currency=expected.currency,
                    expected_minor=expected.amount_minor,
                    counted_minor=got.amount_minor,
                    difference_minor=difference.amount_minor,
                    reason=reason,
                )
            )
        day = DayClose(business_date=business_date, closed_by_id=acting_user.pk)
        set_acting_user(day, acting_user)
        day.save()
        for row in rows:
            row.day = day
            set_acting_user(row, acting_user)
            row.save()
        outbox_event_record(
            topic=FeeTopic.DAY_CLOSE_RECORDED,
            aggregate_id=day.pk,
            payload={
                "business_date": business_date.isoformat(),
                "drawers": [
                    {
                        "cashier": r.cashier_id,
                        "currency": r.currency,
                        "expected_minor": r.expected_minor,
                        "counted_minor": r.counted_minor,
                        "difference_minor": r.difference_minor,
                        "reason": r.reason,
                    }
                    for r in rows
                ],
            },
            acting_user=acting_user,
        )
    return day
