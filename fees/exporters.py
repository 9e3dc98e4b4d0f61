"""Files people download: the revenue report and the monthly statement as CSV.

Columns: date, section ("assessed" by service, "collected" by payment method), item, currency,
amount (major units, exact), base currency, base amount. Amounts are written from minor units
with the currency's exponent, never through floats.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from .selectors import ReportRow

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
