"""The passports demo (`seed_demo`, idempotent): a passport number block at HQ, so an approved
case can be personalised from HQ's passport page; a document-signing key and a block of
emergency travel document numbers at every mission, so an ETD can be issued and its seal
verified at HQ."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from missions.models import Mission

from .models import EtdNumberBlock
from .register.models import DocumentType, NumberBlock
from .register.seal_keys import seal_keys_set_up
from .register.services import number_block_add
from .services.etd import etd_block_allocate

# Each mission's demo block of ETD numbers: E000000001-E000001000 for the first, and so on.
ETD_BLOCK = 1000


def seed_demo(*, stdout: Any) -> None:
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants
    if not NumberBlock.objects.filter(document_type=DocumentType.PASSPORT).exists():
        block = number_block_add(
            document_type=DocumentType.PASSPORT,
            prefix="U",
            digits=8,
            first=10_000_000,
            last=19_999_999,
            acting_user=SYSTEM,
        )
        stdout.write(
            f"passports: number block {block.number(block.first)}-{block.number(block.last)}"
        )
    for signer in seal_keys_set_up():
        stdout.write(f"passports: document-signing key {signer.serial} for {signer.mission}")
    missions = Mission.objects.exclude(schema_name="public").filter(status="active")
    for position, mission in enumerate(missions.order_by("pk")):
        with schema_context(mission.schema_name):
            if EtdNumberBlock.objects.exists():
                continue
        first = position * ETD_BLOCK + 1
        etd_block_allocate(
            mission_code=mission.code, first=first, last=first + ETD_BLOCK - 1, acting_user=SYSTEM
        )
        stdout.write(f"passports: emergency travel document numbers for {mission.code}")
