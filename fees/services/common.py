"""Helpers the fee services share: the current mission, roles, business dates."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from missions.permissions import roles_held

from ..error_codes import FeeError
from ..models import DayClose

APPROVER_ROLES = frozenset({"consul", "mission_admin"})
CASH_ROLES = frozenset({"cashier"})
STAFF_ROLES = frozenset({"officer", "cashier", "consul", "mission_admin"})


def current_mission() -> Mission:
    """The mission whose schema the connection is set to."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Mission) and not tenant.is_hq:
        return tenant
    return Mission.objects.get(schema_name=connection.schema_name)  # type: ignore[attr-defined]


def require_role(*, mission: Mission, user: Any, roles: frozenset[str], message: Any) -> None:
    if user is None or not (roles_held(user=user, mission=mission) & roles):
        raise ApplicationError(FeeError.NOT_ALLOWED, message)


def mission_today(mission: Mission) -> dt.date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(mission.timezone))


def posting_date(*, mission: Mission, roll_forward: bool) -> dt.date:
    """The business day a posting goes to: today in the mission's time zone.

    Once today is closed, counter work (cash) is refused with a clear message; postings that
    cannot wait (a card success from the provider, an approved refund) go to the next open day.
    """
    day = mission_today(mission)
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


def user_id(user: Any) -> int | None:
    return getattr(user, "pk", None)
