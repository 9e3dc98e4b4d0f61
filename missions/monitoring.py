"""Where apps plug into HQ monitoring (docs/monitoring.md): the dashboard's columns, a mission's
tables, the weekly trends and the alerts. Each app contributes its own figures, read from its
own HQ registers (never from a mission's schema); this module imports no app.

A contributor is registered once, in its app's `AppConfig.ready()`, with
`monitoring_register(contributor)`. The dashboard asks every contributor, in registration
order, and each answers for every mission at once in a fixed number of queries (its figures
come from aggregates its projector keeps as events apply), so a page costs the same number of
queries with 3 missions as with 300 (tests/missions/test_monitoring_dashboard.py, and each
contributor's own test).

Figures are plain values (int, float, datetime, None: "no figure") keyed by the column's
`key`; a column says how its value is shown (`kind`), and may bring its own `display` and
`csv` (money, which only the fees app can format). `None` shows as "–" and sorts last.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

from babel import Locale
from babel.dates import format_timedelta
from babel.numbers import format_decimal, format_percent
from django.utils.functional import Promise

from consulate.kernel import reference

if TYPE_CHECKING:
    from .models import Mission

Kind = Literal["count", "days", "minutes", "percent", "moment", "money", "text", "code"]
Severity = Literal["warning", "critical"]


@dataclass(frozen=True)
class Column:
    """One figure per mission on the dashboard (and its CSV), or one column of a section.

    - `count`: an int; `days`: a float of days (shown with one decimal); `minutes`: an int of
      minutes (shown as a person says a duration: "3 hours"); `percent`: a share from 0 to 1
      (shown as a percentage); `moment`: an aware datetime (shown in the mission's zone, the
      zone named); `text`: a string; `code`: a `Coded` (a label in the reader's language with
      its stable code: a release mode, a case type, a service); `money`: whatever `display`
      and `csv` read, `csv` writing "<decimal amount> <ISO 4217 code>".
    - In a CSV (`csv_header`, `figure_csv_cells`) a `money` column is two: `<key>` the amount,
      `<key>.currency` its code; a `code` column is two: `<key>` the stable code, `<key>.label`
      the label in the reader's language. So a spreadsheet sums the amounts, and files in two
      languages join on the codes.
    - `help` says in one sentence what the figure is (shown under the table and in the CSV's
      documentation), so an analyst never has to guess what "wait" means."""

    key: str  # unique over all contributors: "<app>.<figure>"
    label: str | Promise
    kind: Kind
    help: str | Promise = ""
    display: Callable[[Any], str] | None = None
    csv: Callable[[Any], str] | None = None
    # a higher value is worse (a backlog, a wait): the dashboard sorts those columns worst first
    worse_high: bool = True


class Coded(str):
    """A label in the reader's language that carries its stable code: shown (and compared,
    sorted) as the label, written to a CSV as the code beside the label (a `code` column)."""

    code: str

    def __new__(cls, label: str | Promise, code: str) -> Coded:
        coded = super().__new__(cls, str(label))
        coded.code = code
        return coded


@dataclass(frozen=True)
class Alert:
    mission: str  # the mission's code
    kind: str  # "<app>.<rule>", such as "sync.silent" or "appointments.wait_above_target"
    severity: Severity
    message: str  # in the reader's language (built when read, under the active language)
    since: dt.datetime | None = None  # when the condition began, where known


@dataclass(frozen=True)
class Trend:
    """A weekly series for the plots, with the table behind it. `values` maps each week's
    Monday (the weeks asked for, oldest first) to its figure, None where there is none."""

    key: str
    label: str | Promise
    kind: Kind  # as Column.kind; "money" trends are in HQ's base currency, minor units
    values: dict[dt.date, float | int | None]
    unit: str = ""  # shown beside the axis: "EUR", "days"; never part of `label`

    @property
    def title(self) -> str:
        """The plot's title, composed here once: the label and its unit ("Mean time to decide
        (days)"). A label holding its unit too read "(gün) (gün)" in Turkish."""
        return f"{self.label} ({self.unit})" if self.unit else str(self.label)


@dataclass(frozen=True)
class Section:
    """A table on a mission's monitoring page (per service, per case type): `rows` map column
    keys to values, in the order shown."""

    key: str
    title: str | Promise
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    empty: str | Promise = ""  # said when there are no rows
    note: str | Promise = ""  # what a figure counts, said under the title


class Contributor(Protocol):
    """What an app gives HQ monitoring. Every method reads a fixed number of queries,
    whatever the number of missions, from the app's HQ registers."""

    name: str
    columns: tuple[Column, ...]

    def figures(
        self, *, missions: Sequence[Mission], now: dt.datetime
    ) -> dict[str, dict[str, Any]]:
        """{mission code: {column key: value}} for the dashboard's rows (a mission or a key
        missing means "no figure")."""
        ...

    def alerts(
        self,
        *,
        missions: Sequence[Mission],
        figures: dict[str, dict[str, Any]],
        now: dt.datetime,
    ) -> list[Alert]:
        """The alerts this app raises; `figures` is every contributor's figures already read."""
        ...

    def trends(self, *, missions: Sequence[Mission], weeks: Sequence[dt.date]) -> list[Trend]:
        """Weekly series summed over `missions` (every mission on the dashboard, one on a
        mission's page); money in HQ's base currency."""
        ...

    def sections(self, *, mission: Mission, now: dt.datetime) -> list[Section]:
        """The tables of one mission's page."""
        ...


_contributors: dict[str, Contributor] = {}


def monitoring_register(contributor: Contributor) -> None:
    """Register (or, by the same name, replace) a contributor. Column keys must be unique."""
    taken = {
        column.key
        for name, other in _contributors.items()
        if name != contributor.name
        for column in other.columns
    }
    clash = taken & {column.key for column in contributor.columns}
    if clash:
        raise ValueError(f"monitoring columns registered twice: {sorted(clash)}")
    _contributors[contributor.name] = contributor


def contributors() -> list[Contributor]:
    return list(_contributors.values())


# "Over the last 30 days", in every contributor: the mission's today and the 29 days before
WINDOW_DAYS = 30


def mission_today(mission: Mission, now: dt.datetime) -> dt.date:
    """`now` as a date at the mission (its business day): Tokyo's today is not New York's."""
    return now.astimezone(mission.zone).date()


def window(mission: Mission, now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The mission's last `WINDOW_DAYS` days: its local dates up to and including its today."""
    today = mission_today(mission, now)
    return today - dt.timedelta(days=WINDOW_DAYS - 1), today


def month_back(month: dt.date, months: int) -> dt.date:
    """The first day of the month `months` before `month`'s."""
    index = month.year * 12 + month.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def share_text(value: float) -> str:
    """A share from 0 to 1 as the reader's language writes a percentage, with a decimal only
    where it has one: "50%", "33.3%"; Turkish "%50", "%33,3". The one way every HQ page and
    message writes a share (the `share` filter in templates)."""
    locale = reference.active_babel_locale()
    return str(format_percent(value, format=_percent_pattern(locale), locale=locale))


@cache
def _percent_pattern(locale: Locale) -> str:
    """The locale's own percentage pattern ("#,##0%", Turkish "%#,##0") with up to one
    decimal: where the sign goes and its spacing are the language's."""
    pattern = str(locale.percent_formats[None].pattern)
    whole = pattern.rfind("0")
    return pattern[: whole + 1] + ".#" + pattern[whole + 1 :]


def weeks_ending(today: dt.date, count: int) -> list[dt.date]:
    """The Mondays of the `count` weeks up to and including `today`'s, oldest first."""
    monday = today - dt.timedelta(days=today.weekday())
    return [monday - dt.timedelta(weeks=count - 1 - i) for i in range(count)]


def figure_text(column: Column, value: Any, *, zone: zoneinfo.ZoneInfo) -> str:
    """A figure as the reader reads it, in the active language; "–" for no figure."""
    if value is None:
        return "–"
    if column.display is not None:
        return column.display(value)
    locale = reference.active_babel_locale()
    if column.kind == "count":
        return format_decimal(value, locale=locale)
    if column.kind == "days":
        return format_decimal(round(value, 1), format="#,##0.0", locale=locale)
    if column.kind == "minutes":
        return format_timedelta(
            dt.timedelta(minutes=value), threshold=1.5, granularity="minute", locale=locale
        )
    if column.kind == "percent":
        return share_text(value)
    if column.kind == "moment":
        # as every page writes a time: "Mon 7 Dec 2026, 14:05", the zone named
        return f"{reference.day_and_time_written_short(value.astimezone(zone))} ({zone.key})"
    return str(value)


def figure_csv(column: Column, value: Any) -> str:
    """A figure for a CSV file: machine-readable whatever the reader's language (a dot for
    decimals, ISO 8601 times in UTC, shares from 0 to 1); empty for no figure."""
    if value is None:
        return ""
    if column.csv is not None:
        return column.csv(value)
    if column.kind in {"days", "percent"}:
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if column.kind == "moment":
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    return str(value)


def csv_header(column: Column) -> list[str]:
    """The CSV header cells of `column`: its key, and beside a money column `<key>.currency`,
    beside a code column `<key>.label`."""
    if column.kind == "money":
        return [column.key, f"{column.key}.currency"]
    if column.kind == "code":
        return [column.key, f"{column.key}.label"]
    return [column.key]


def figure_csv_cells(column: Column, value: Any) -> list[str]:
    """A figure's CSV cells, as many as `csv_header(column)`: money as its decimal amount and
    its currency's code in two cells (a spreadsheet cannot sum "234.00 USD"), a code and its
    label in two, anything else as `figure_csv`. The one way every HQ monitoring CSV writes a
    figure."""
    if column.kind == "money":
        # a money column's `csv` writes "<amount> <code>" (docs/monitoring.md, "CSV")
        amount, _, currency = figure_csv(column, value).partition(" ")
        return [amount, currency]
    if column.kind == "code":
        if value is None:
            return ["", ""]
        return [getattr(value, "code", str(value)), str(value)]
    return [figure_csv(column, value)]


def figure_sort_key(value: Any) -> tuple[int, Any]:
    """Sorts figures of one column with "no figure" last in either direction (the caller
    reverses the first element back when sorting descending)."""
    if value is None:
        return (1, 0)
    if isinstance(value, dt.datetime):
        return (0, value.timestamp())
    return (0, value)
