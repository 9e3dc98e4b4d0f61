"""HQ monitoring's figures and plots (docs/monitoring.md).

The plots are drawn on the server as SVG: a weekly series is a dozen bars or a line, which a
template draws in a few dozen lines, works without JavaScript (the site has none), passes the
Content-Security-Policy as it is and can be asserted on in tests. A charting library would
bring a script, its styles and a build or vendoring step for what these need. Every plot has
its table beside it (for screen readers and for reading exact figures) and a CSV link."""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django import template

from consulate.kernel import reference

from ..monitoring import Column, Trend, figure_text, share_text

register = template.Library()

# The picture scales to its box: a 390 px phone shows it at about 0.85 of these units, so the
# 13-unit labels stay about 11 px; on a wide screen it stops at 36rem.
WIDTH, HEIGHT = 420, 200
LEFT, RIGHT, TOP, BOTTOM = 60, 8, 12, 28


@register.simple_tag
def figure(column: Column, figures: dict[str, Any], zone: zoneinfo.ZoneInfo | str) -> str:
    """One figure of a row as the reader reads it (times in `zone`, named)."""
    tz = zone if isinstance(zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(str(zone))
    return figure_text(column, figures.get(column.key), zone=tz)


@register.filter
def share(value: float | None) -> str:
    """A share from 0 to 1 as a percentage in the reader's language (`share_text`: "33.3%",
    Turkish "%33,3"); nothing for no figure (the page says how it shows none)."""
    return "" if value is None else share_text(value)


def trend_value_text(trend: Trend, value: float | int | None) -> str:
    """A trend's value in the reader's language: money from minor units of `trend.unit`."""
    if value is None:
        return "–"
    locale = reference.active_babel_locale()
    if trend.kind == "money" and trend.unit:
        exponent = reference.currency_minor_units(trend.unit)
        amount = Decimal(int(value)).scaleb(-exponent)
        return format_currency(amount, trend.unit, locale=locale)
    if trend.kind == "percent":
        return share_text(value)
    if trend.kind == "days":
        return format_decimal(round(value, 1), format="#,##0.0", locale=locale)
    return format_decimal(value, locale=locale)


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above `value` (an axis's end); 0 for 0."""
    if value <= 0:
        return 0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _week_label(monday: dt.date) -> str:
    return format_date(monday, "d MMM", locale=reference.active_babel_locale())


def _ticks(low: float, high: float, *, whole: bool, empty: bool) -> list[float]:
    """The axis's values: its ends, 0 if between them, and the middle of each side when it is
    a whole number for a count or money (minor units); only 0 when every figure is 0 or none
    (an axis of "0.00, 0.01" would suggest figures there are not)."""
    if empty:
        return [0.0]
    ticks = {low, 0.0, high}
    for end in (low, high):
        middle = end / 2
        if end and (not whole or middle == int(middle)):
            ticks.add(middle)
    return sorted(ticks)


@register.inclusion_tag("missions/_trend_chart.html")
def trend_chart(trend: Trend, weeks: list[dt.date], chart_id: str) -> dict[str, Any]:
    """A weekly series as an SVG plot (bars for sums, a line for means and shares) with its
    table: the weeks in `weeks` (Mondays, oldest first). Bars go up from 0, or down for a
    negative week (net revenue after refunds)."""
    values = [trend.values.get(week) for week in weeks]
    present = [value for value in values if value is not None]
    high = _nice_ceiling(max([*present, 0]))
    low = -_nice_ceiling(-min([*present, 0]))
    if high == low:
        high = 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(weeks), 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (high - value) / (high - low), 1)

    bars, points = [], []
    as_line = trend.kind in {"days", "percent"}
    for index, value in enumerate(values):
        if value is None:
            continue
        x = LEFT + step * index
        if as_line:
            points.append(f"{round(x + step / 2, 1)},{y(value)}")
        else:
            top, bottom = sorted((y(value), y(0)))
            bars.append(
                {
                    "x": round(x + step * 0.15, 1),
                    "y": top,
                    "w": round(step * 0.7, 1),
                    "h": round(bottom - top, 1),
                }
            )
    whole = trend.kind in {"count", "money"}
    empty = not any(present)
    ticks = [
        {"y": y(value), "text": trend_value_text(trend, value)}
        for value in _ticks(low, high, whole=whole, empty=empty)
    ]
    labels = [
        {"x": round(LEFT + step * index + step / 2, 1), "text": _week_label(weeks[index])}
        for index in sorted({0, len(weeks) // 2, len(weeks) - 1})
        if weeks
    ]
    return {
        "trend": trend,
        "chart_id": chart_id,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right_edge": WIDTH - RIGHT,
        "baseline": TOP + plot_h,
        "bars": bars,
        "line": " ".join(points),
        "dots": [point.split(",") for point in points],
        "ticks": ticks,
        "labels": labels,
        "rows": [
            {"week": week, "label": _week_label(week), "text": trend_value_text(trend, value)}
            for week, value in zip(weeks, values, strict=True)
        ],
        # what the picture says, for a screen reader: the last week's figure and the highest
        "last_week": _week_label(weeks[-1]) if weeks else "",
        "latest": trend_value_text(trend, values[-1] if values else None),
        "highest": trend_value_text(trend, max(present) if present else None),
    }


@register.filter
def one_line(text: Any) -> str:
    """A text on one line: line breaks and other control characters as spaces (a name a
    mission sent cannot add lines to an e-mail HQ sends)."""
    return " ".join("".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in str(text)).split())
