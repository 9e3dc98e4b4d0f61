"""Reads of HQ's bookings register for HQ pages: one query each, whatever the number of
missions or events (the sums are kept as events apply: `projector.py`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncWeek

from sync.hq.projection import array_literal

from .models import (
    BOOKING_SUMS,
    BookingDay,
    BookingMonth,
    RegisteredBooking,
    ServiceAvailability,
)


def booking_days(
    *, mission: str, date_from: dt.date, date_to: dt.date, service: str = ""
) -> QuerySet[BookingDay]:
    """A mission's bookings per service per day of the appointment, `date_from` to `date_to`
    inclusive (the mission's local dates), ordered by day and service."""
    days = BookingDay.objects.filter(mission=mission, day__gte=date_from, day__lte=date_to)
    if service:
        days = days.filter(service=service)
    return days.order_by("day", "service")


def _with_mean_lead(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["mean_lead_days"] = row["lead_days"] / row["booked"] if row["booked"] else None
    return rows


def booking_totals_per_mission(*, date_from: dt.date, date_to: dt.date) -> list[dict[str, Any]]:
    """Every mission's bookings for appointments from `date_from` to `date_to`: the sums of
    `BOOKING_SUMS` and `mean_lead_days` (days from booking to appointment), one row per mission."""
    rows = (
        BookingDay.objects.filter(day__gte=date_from, day__lte=date_to)
        .values("mission")
        .annotate(**{name: Sum(name) for name in BOOKING_SUMS})
        .order_by("mission")
    )
    return _with_mean_lead([dict(row) for row in rows])


def booking_totals_per_service(
    *, mission: str, date_from: dt.date, date_to: dt.date
) -> list[dict[str, Any]]:
    """One mission's bookings per service over the dates, as `booking_totals_per_mission`."""
    rows = (
        BookingDay.objects.filter(mission=mission, day__gte=date_from, day__lte=date_to)
        .values("service")
        .annotate(**{name: Sum(name) for name in BOOKING_SUMS})
        .order_by("service")
    )
    return _with_mean_lead([dict(row) for row in rows])


def booking_totals_per_mission_per_month(
    *, date_from: dt.date, date_to: dt.date, mission: str = ""
) -> list[dict[str, Any]]:
    """Per mission and month of the appointments (its first day), all services: the sums of
    `BOOKING_SUMS` and `mean_lead_days`, for the months from `date_from`'s to `date_to`'s (whole
    months, from the month sums: a year of every mission is twelve rows a service)."""
    months = BookingMonth.objects.filter(month__gte=date_from.replace(day=1), month__lte=date_to)
    if mission:
        months = months.filter(mission=mission)
    rows = (
        months.values("mission", "month")
        .annotate(**{name: Sum(name) for name in BOOKING_SUMS})
        .order_by("mission", "month")
    )
    return _with_mean_lead([dict(row) for row in rows])


def registered_booking_get(*, mission: str, reference: str) -> RegisteredBooking | None:
    return RegisteredBooking.objects.filter(mission=mission, reference=reference).first()


def booking_totals_in_windows(
    *, windows: dict[str, tuple[dt.date, dt.date]], per_service: bool = False
) -> list[dict[str, Any]]:
    """The sums of `BOOKING_SUMS` and `mean_lead_days` per mission (and service, with
    `per_service`) over each mission's own dates: `windows` maps a mission's code to its first
    and last day (its local dates, inclusive), so missions in different time zones each get
    their own "last 30 days". One query whatever the number of missions: the windows travel as
    arrays and are joined to the day sums."""
    if not windows:
        return []
    codes = sorted(windows)
    group = "d.mission, d.service" if per_service else "d.mission"
    sums = ", ".join(f"SUM(d.{name})::bigint AS {name}" for name in BOOKING_SUMS)
    sql = (
        f"SELECT {group}, {sums} FROM {BookingDay._meta.db_table} AS d"  # noqa: S608 (ours)
        " JOIN unnest(%s::text[], %s::date[], %s::date[]) AS w(mission, date_from, date_to)"
        " ON d.mission = w.mission AND d.day BETWEEN w.date_from AND w.date_to"
        # the windows' span as a plain range too: the (day, mission) index then reads only
        # those days instead of every mission's whole history (bench/hq_monitoring.py)
        " WHERE d.day BETWEEN %s AND %s"
        f" GROUP BY {group} ORDER BY {group}"
    )
    params: list[Any] = [
        array_literal(codes),
        array_literal([windows[code][0] for code in codes]),
        array_literal([windows[code][1] for code in codes]),
        min(first for first, _last in windows.values()),
        max(last for _first, last in windows.values()),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description or ()]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return _with_mean_lead(rows)


def booking_totals_per_week(
    *, missions: list[str], date_from: dt.date, date_to: dt.date
) -> list[dict[str, Any]]:
    """Summed over `missions`, per week of the appointments (its Monday), from `date_from` to
    `date_to` inclusive: `week`, the sums of `BOOKING_SUMS` and `mean_lead_days`."""
    rows = (
        BookingDay.objects.filter(mission__in=missions, day__gte=date_from, day__lte=date_to)
        .annotate(week=TruncWeek("day"))
        .values("week")
        .annotate(**{name: Sum(name) for name in BOOKING_SUMS})
        .order_by("week")
    )
    return _with_mean_lead([dict(row) for row in rows])


def availability_list(*, missions: list[str]) -> list[ServiceAvailability]:
    """What the missions last reported of each service they still offer, by mission and
    service: one query."""
    return list(
        ServiceAvailability.objects.filter(mission__in=missions, offered=True).order_by(
            "mission", "service"
        )
    )
