"""What every app gives the one permission-table test (tests/missions/test_permission_table.py).

Each app lists its staff services in `tests/<app>/permission_cases.py` as `CASES`, one
`PermissionCase` per service: `prepare` sets up, as `SYSTEM` or through fixtures' services,
what the call needs at the mission (the connection is already in the mission's schema) and
returns it; `call` invokes the service as `actor` on that state. A call that is allowed must
succeed; a refused one must raise ApplicationError NOT_ALLOWED or NOT_FOUND and change nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from missions.models import Mission
from missions.permissions import Action


@dataclasses.dataclass(frozen=True)
class PermissionCase:
    service: str  # the service function's name, e.g. "closure_create"
    action: Action  # the row of the table it must check
    prepare: Callable[[Mission], Any]  # returns the state `call` needs
    call: Callable[[Any, Any], Any]  # call(actor, state): invokes the service as `actor`

    def __str__(self) -> str:
        return self.service
