"""The visas demo (`seed_demo`, idempotent): HQ's visa categories and watchlist
(`visas.reference.demo`), and a block of visa numbers at every mission, so a visa can be
issued. The visit service with the visa purpose is the appointments demo's."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from missions.models import Mission

from .models import VisaNumberBlock
from .reference.demo import seed_reference

# Each mission's demo block of visa numbers: V00100001-V00101000 for the first, and so on
# (clear of the emergency travel documents' demo blocks, which start at 1).
VISA_BLOCK = 1000
VISA_BLOCK_START = 100_000


def seed_demo(*, stdout: Any) -> None:
    seed_reference(stdout=stdout)
    from .services.issuance import visa_number_block_allocate

    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants
    missions = Mission.objects.exclude(schema_name="public").filter(status="active")
    for position, mission in enumerate(missions.order_by("pk")):
        with schema_context(mission.schema_name):
            if VisaNumberBlock.objects.exists():
                continue
        first = VISA_BLOCK_START + position * VISA_BLOCK + 1
        visa_number_block_allocate(
            mission_code=mission.code,
            first=first,
            last=first + VISA_BLOCK - 1,
            acting_user=SYSTEM,
        )
        stdout.write(f"visas: visa numbers for {mission.code}")
