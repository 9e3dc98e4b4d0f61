"""HQ-side data for the monitoring and wait-times tests: missions as HQ's table knows them and
the events their registers are built from, projected the way HQ's apply does.

HQ's pages read only HQ's own tables (the Mission rows and the registers), never a mission's
schema, so the extra missions here are Mission rows alone: cloning a schema for each of twelve
missions would test nothing these pages do, and cost seconds a mission."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from missions.models import Mission
from sync.registry import events_project

_seq = itertools.count(1)


def hq_mission(
    code: str,
    *,
    city: str,
    country: str,
    zone: str,
    name: str = "",
    name_tr: str = "",
    status: str = "active",
    wait_target_days: int | None = None,
) -> Mission:
    return Mission.objects.create(
        code=code,
        schema_name=code.replace("-", "_"),
        name_en=name or f"Consulate-General in {city}",
        name_tr=name_tr or None,
        kind="consulate_general",
        host_country=country,
        city=city,
        timezone=zone,
        currency="EUR",
        languages=["en"],
        status=status,
        wait_target_days=wait_target_days,
    )


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None


def booking_event(
    topic: str,
    booking: str,
    *,
    occurred_at: dt.datetime,
    starts_at: dt.datetime | None = None,
    channel: str | None = None,
    service: str = "passport",
) -> dict[str, Any]:
    """An `appointments.booking.<topic>` event as the services write it."""
    payload: dict[str, Any] = {"reference": f"BK-{booking}"}
    if topic == "created":
        assert starts_at is not None
        payload |= {"service": service, "starts_at": starts_at.isoformat(), "persons": 1}
        if channel is not None:
            payload["channel"] = channel
    return {
        "seq": next(_seq),
        "topic": f"appointments.booking.{topic}",
        "aggregate_type": "booking",
        "aggregate_id": booking,
        "payload": payload,
        "version": 1,
        "actor_id": None,
        "occurred_at": _iso(occurred_at),
    }


def report_event(
    service: str,
    *,
    occurred_at: dt.datetime,
    next_bookable: dt.datetime | None,
    free: int,
    names: dict[str, str] | None = None,
    mode: str = "open",
) -> dict[str, Any]:
    """An `appointments.service.availability_reported` event."""
    return {
        "seq": next(_seq),
        "topic": "appointments.service.availability_reported",
        "aggregate_type": "service",
        "aggregate_id": service,
        "payload": {
            "service": service,
            "release_mode": mode,
            "next_bookable": _iso(next_bookable),
            "next_release": None,
            "lottery_closes": None,
            "free_places_30d": free,
            "names": names if names is not None else {"en": service.title()},
        },
        "version": 1,
        "actor_id": None,
        "occurred_at": _iso(occurred_at),
    }


def project(mission: str, events: list[dict[str, Any]]) -> None:
    events_project(mission=mission, events=sorted(events, key=lambda e: e["seq"]))
