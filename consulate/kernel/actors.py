"""Who acts when no person does: `SYSTEM`, the platform itself (beat, management commands, the
demo seeding). Services take `acting_user: User | SystemActor`; `None` is never an actor, so a
view that forgets to pass the user is refused instead of running unchecked."""

from __future__ import annotations

from typing import Final


class SystemActor:
    """Stands in for a user where the platform acts on its own; recorded as no user (id None)
    in history and the outbox. The permission table lets it do every action."""

    pk: Final = None
    is_authenticated: Final = False
    hq_role: Final = ""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM: Final = SystemActor()
