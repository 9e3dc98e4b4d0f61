"""What sync's commands share: the mission by its code, files read and written plainly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django_tenants.utils import get_tenant_model


def mission_get(code: str) -> Any:
    """The mission with this code (sync names missions by code and never imports `missions`)."""
    code = code.strip().lower()
    mission = get_tenant_model().objects.filter(code=code).first()
    if mission is None or mission.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise CommandError(f"no mission with the code {code!r}")
    return mission


def mission_served_here(code: str) -> Any:
    """The mission, if this database serves it: one moved to its own node (`node_url`) is
    frozen here, and a push, export or reconciliation from this copy would sign bundles that
    clash with the node's. Run those at the node."""
    mission = mission_get(code)
    node_url = getattr(mission, "node_url", "")
    if node_url:
        raise CommandError(
            f"{mission.code} is served by its own node at {node_url}: run this command there"
        )
    return mission


def missions_served_here() -> Any:
    """Every active mission this database serves (not those moved to their own node)."""
    return (
        get_tenant_model()
        .objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .filter(status="active", node_url="")
        .order_by("code")
    )


def file_read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from error


def file_write(path: str, data: bytes) -> None:
    """Write `data` whole or not at all (a half-written file on a USB stick is worse than none)."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.partial")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from error


def seq_range(first: int, last: int) -> str:
    return f"#{first:,}" if first == last else f"#{first:,}–#{last:,}"
