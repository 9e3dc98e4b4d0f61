"""Event topics: the contract between a mission and HQ (docs/events.md).

Each app lists its topics in `<app>/events.py` as members of an `EventTopic` subclass, named
`<app>.<entity>.<verb>`; `sync.services.outbox_event_record` takes nothing else. The entity part
is the event's aggregate type, and the aggregate id is always the primary key of that row, as
text; numbers and codes people read go in the payload, never personal data in clear.
"""

from __future__ import annotations

import enum
import re

TOPIC_PATTERN = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*\.[a-z][a-z_]*$")


class EventTopic(enum.StrEnum):
    """Base of every app's topic enum."""

    @property
    def app(self) -> str:
        return self.value.split(".")[0]

    @property
    def aggregate_type(self) -> str:
        return self.value.split(".")[1]
