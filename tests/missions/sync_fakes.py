"""A stand-in for the transport (`sync.export`) in the sync pages' tests: the pages and their
services are tested on their own; the transport has its own tests in tests/sync/."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from django.utils import timezone

import sync
from sync.models import OutboxCounter, SyncLink

FILE_BYTES = b"CSB1\x00sealed-for-hq"


def push_acknowledging_everything(*, code: str) -> dict[str, Any]:
    """What a successful round trip leaves behind: HQ applied every event recorded so far."""
    now = timezone.now()
    last = OutboxCounter.objects.get(pk=1).last_seq
    SyncLink.objects.filter(pk=1).update(
        acked_seq=last, last_bundled_seq=last, last_attempt_at=now, last_success_at=now,
        failures=0, last_error="", next_attempt_at=None,
    )  # fmt: skip
    return {"code": code, "acked_seq": last}


def file_export_bytes(*, code: str, sealed: bool = True) -> bytes:
    return FILE_BYTES


@contextlib.contextmanager
def export_replaced(
    push: Callable[..., Any] = push_acknowledging_everything,
    file_export: Callable[..., bytes] = file_export_bytes,
) -> Iterator[list[tuple[str, str]]]:
    """`sync.export` replaced while the block runs; yields the calls made, as (name, code)."""
    calls: list[tuple[str, str]] = []
    module = types.ModuleType("sync.export")

    def recorded_push(*, code: str) -> Any:
        calls.append(("push", code))
        return push(code=code)

    def recorded_file_export(*, code: str, sealed: bool = True) -> bytes:
        calls.append(("file_export", code))
        return file_export(code=code, sealed=sealed)

    module.push = recorded_push  # type: ignore[attr-defined]
    module.file_export = recorded_file_export  # type: ignore[attr-defined]
    with (
        mock.patch.dict(sys.modules, {"sync.export": module}),
        mock.patch.object(sync, "export", module, create=True),
    ):
        yield calls
