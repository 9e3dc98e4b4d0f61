"""What HQ's projectors share beyond `sync.hq.projection`: the mission's time zone as HQ knows it
(the bookings, case and staff activity registers date their rows in it)."""

from __future__ import annotations

import zoneinfo

from missions.models import Mission


def mission_zone(code: str) -> zoneinfo.ZoneInfo:
    """The mission's time zone (its Mission row); UTC for a code HQ has no row for, so its
    events still count (on UTC days). One query."""
    name = Mission.objects.filter(code=code).values_list("timezone", flat=True).first()
    try:
        return zoneinfo.ZoneInfo(name) if name else zoneinfo.ZoneInfo("UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")
