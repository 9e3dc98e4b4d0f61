"""Recording a month's statement as owed to HQ: the net money collected (less refunds) moves
from `remitted` to the `due_to_hq` liability, once per month, with an outbox event carrying
local and base amounts for HQ's revenue register."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from ..error_codes import FeeError
from ..events import FeeTopic
from ..models import AccountKind, Remittance
from ..selectors import remittance_statement
from .common import posting_date
from .ledger import account_get, ledger_post


def remittance_record(*, month: dt.date, base_currency: str, acting_user: Any) -> Remittance:
    """Record the statement of `month` (once it is over) as owed to HQ, once."""
    mission = current_mission()
    permission_require(user=acting_user, mission=mission, action=Action.REMITTANCE_CHANGE)
    first = month.replace(day=1)
    if first >= mission.today().replace(day=1):
        raise ApplicationError(
            FeeError.DAY_CLOSED, _("A month's statement is recorded once the month is over.")
        )
    with transaction.atomic():
        if Remittance.objects.filter(month=first).exists():
            raise ApplicationError(
                FeeError.ALREADY_DECIDED, _("This month's statement is already recorded.")
            )
        statement = remittance_statement(
            month=first, currency=mission.currency, base_currency=base_currency
        )
        remittance = Remittance(
            month=first,
            amount_minor=statement.collected.amount_minor,
            currency=statement.collected.currency,
            base_amount_minor=statement.collected_base.amount_minor,
            base_currency=statement.collected_base.currency,
            recorded_by_id=acting_user.pk,
        )
        set_acting_user(remittance, acting_user)
        try:
            with transaction.atomic():
                remittance.save()
        except IntegrityError as error:
            raise ApplicationError(
                FeeError.ALREADY_DECIDED, _("This month's statement is already recorded.")
            ) from error
        if statement.collected:
            ledger_post(
                kind="remittance",
                business_date=posting_date(roll_forward=True),
                legs=[
                    (account_get(kind=AccountKind.REMITTED), statement.collected),
                    (account_get(kind=AccountKind.DUE_TO_HQ), -statement.collected),
                ],
                acting_user=acting_user,
                source_type="remittance",
                source_id=remittance.pk,
                memo=f"{first:%Y-%m}",
            )
        outbox_event_record(
            topic=FeeTopic.REMITTANCE_RECORDED,
            aggregate_id=remittance.pk,
            payload={
                "month": f"{first:%Y-%m}",
                "currency": remittance.currency,
                "amount_minor": remittance.amount_minor,
                "base_currency": remittance.base_currency,
                "base_amount_minor": remittance.base_amount_minor,
            },
            acting_user=acting_user,
        )
    return remittance
