"""HQ monitoring's tables as CSV (docs/monitoring.md, "CSV"): the dashboard with its filters,
the weekly trends, and each table of a mission's page.

Machine-readable whatever the reader's language: a header of stable keys (the column keys of
`missions.monitoring`), a dot for decimals, shares from 0 to 1, times in ISO 8601 UTC, money
as a decimal amount with its currency's code in the next column (`<key>.currency`) or named in
the key, a coded value (a release mode, a case type) as its stable code with its label in the
reader's language in the next column (`<key>.label`), every figure through
`monitoring.figure_csv_cells`, regions by
their English names ("americas": a code such as 019 loses its zero in a spreadsheet). A text cell
that a spreadsheet would run as a formula (starting with = + - @) is prefixed with an
apostrophe. Each export checks the permission table itself."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from consulate.kernel import reference

from .models import Mission, WorldRegion
from .monitoring import Coded, Column, Trend, csv_header, figure_csv_cells
from .permissions import Action, permission_require
from .selectors import mission_hq
from .selectors_monitoring import (
    DashboardFilters,
    dashboard_read,
    mission_monitoring_read,
    trends_read,
)

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The dashboard's own column of a mission's status: its code, and beside it the label the page
# shows, as every coded figure is written.
STATUS = Column(key="status", label=_("Status"), kind="code")


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def _write(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _cells(columns: Sequence[Column], figures: dict[str, Any]) -> list[str]:
    """A row's figures, a column's cells beside each other (`figure_csv_cells`), a text a
    spreadsheet would run as a formula made plain."""
    cells = []
    for column in columns:
        written = figure_csv_cells(column, figures.get(column.key))
        if column.kind == "text":
            written = [_text(cell) for cell in written]
        elif column.kind == "code":
            written = [written[0], _text(written[1])]
        cells += written
    return cells


def _allowed(acting_user: Any) -> None:
    permission_require(user=acting_user, mission=mission_hq(), action=Action.HQ_DASHBOARD_VIEW)


def dashboard_csv(*, filters: DashboardFilters, acting_user: Any) -> str:
    """The dashboard's rows as shown (filters and sort applied), one column per figure."""
    _allowed(acting_user)
    dashboard = dashboard_read(filters=filters)
    header = ["mission", "name", "region", "country", "city", *csv_header(STATUS), "currency"]
    header += [cell for column in dashboard.columns for cell in csv_header(column)] + ["alerts"]
    rows = []
    for row in dashboard.rows:
        mission = row.mission
        rows.append(
            [
                mission.code,
                _text(str(mission.name)),
                WorldRegion(mission.region).name.lower() if mission.region else "",
                mission.host_country,
                _text(mission.city),
                *_cells(
                    [STATUS], {STATUS.key: Coded(mission.get_status_display(), mission.status)}
                ),
                mission.currency,
                *_cells(dashboard.columns, row.figures),
                " | ".join(alert.kind for alert in row.alerts),
            ]
        )
    return _write(header, rows)


def _trend_csv_value(trend: Trend, value: float | int | None) -> str:
    if value is None:
        return ""
    if trend.kind == "money" and trend.unit:
        exponent = reference.currency_minor_units(trend.unit)
        return f"{Decimal(int(value)).scaleb(-exponent):f}"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def _trends_rows(weeks: Sequence[Any], trends: Sequence[Trend]) -> str:
    # money names its currency (a code); any other unit is a word in the reader's language
    header = ["week"] + [
        f"{trend.key} ({trend.unit})" if trend.kind == "money" and trend.unit else trend.key
        for trend in trends
    ]
    rows = [
        [week.isoformat(), *(_trend_csv_value(trend, trend.values.get(week)) for trend in trends)]
        for week in weeks
    ]
    return _write(header, rows)


def trends_csv(*, missions: Sequence[Mission], acting_user: Any) -> str:
    """The weekly trends over `missions`: one row per week (its Monday), one column per series."""
    _allowed(acting_user)
    weeks, trends = trends_read(missions=missions)
    return _trends_rows(weeks, trends)


def mission_table_csv(*, code: str, table: str, acting_user: Any) -> str | None:
    """A table of a mission's page: `trends`, or a section by its key. None when there is no
    such mission or table."""
    _allowed(acting_user)
    page = mission_monitoring_read(code=code)
    if page is None:
        return None
    if table == "trends":
        return _trends_rows(page.weeks, page.trends)
    section = next((section for section in page.sections if section.key == table), None)
    if section is None:
        return None
    header = [cell for column in section.columns for cell in csv_header(column)]
    return _write(header, [_cells(section.columns, row) for row in section.rows])
