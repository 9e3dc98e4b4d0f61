"""The passports demo: a passport number block at HQ, so an approved case can be personalised
from HQ's passport page (`seed_demo`, idempotent)."""

from __future__ import annotations

from typing import Any

from django.db import connection

from consulate.kernel.actors import SYSTEM

from .register.models import DocumentType, NumberBlock
from .register.services import number_block_add


def seed_demo(*, stdout: Any) -> None:
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants
    if NumberBlock.objects.filter(document_type=DocumentType.PASSPORT).exists():
        return
    block = number_block_add(
        document_type=DocumentType.PASSPORT,
        prefix="U",
        digits=8,
        first=10_000_000,
        last=19_999_999,
        acting_user=SYSTEM,
    )
    stdout.write(f"passports: number block {block.number(block.first)}-{block.number(block.last)}")
