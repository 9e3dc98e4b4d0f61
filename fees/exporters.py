"""Files people download: the revenue report and the monthly statement as CSV.

Columns: date, section ("assessed" by service, "collected" by payment method), item, currency,
amount (major units, exact), base currency, base amount. Amounts are written from minor units
with the currency's exponent, never through floats.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from missions.permissions import Action, permission_require
from missions.selectors import current_mission

from .selectors import ReportRow, remittance_statement, revenue_report

REPORT_COLUMNS = ["date", "section", "item", "currency", "amount", "base_currency", "base_amount"]


def report_rows_csv(rows: Iterable[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.day.isoformat(),
                r.section,
                r.key,
                r.currency,
                f"{r.amount.to_decimal():f}",
                r.base_currency,
                f"{r.base_amount.to_decimal():f}",
            ]
        )
    return out.getvalue()


def report_csv(*, date_from: dt.date, date_to: dt.date, acting_user: Any) -> str:
    """The revenue report of the period, for someone who may read the mission's reports."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.REPORT_VIEW)
    return report_rows_csv(revenue_report(date_from=date_from, date_to=date_to))


def remittance_csv(*, month: dt.date, acting_user: Any) -> str:
    """The month's statement to HQ, for someone who may read the mission's reports."""
    mission = current_mission()
    permission_require(user=acting_user, mission=mission, action=Action.REPORT_VIEW)
    statement = remittance_statement(
        month=month, currency=mission.currency, base_currency=settings.CONSULATE_BASE_CURRENCY
    )
    return report_rows_csv(statement.rows)
