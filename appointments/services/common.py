"""Helpers shared by the appointments services."""

from __future__ import annotations

import zoneinfo

from django.db import connection

from consulate.kernel.tenancy import current_schema
from missions.models import Mission


def current_mission() -> Mission:
    """The mission whose schema the connection is set to (Mission lives in public, which is on
    every mission's search path). In a request django-tenants has already loaded it."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Mission) and tenant.schema_name == current_schema():
        return tenant
    return Mission.objects.get(schema_name=current_schema())


def mission_zone(mission: Mission) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(mission.timezone)
