"""One shape for every workflow: a `Status(TextChoices)`, one `TRANSITIONS` table that shows the
whole machine in one place, `can_<verb>()` predicates that read it, and `move_to()`, the one
transition helper every service uses to change the state.

    class Booking(Workflow, TimeStampedModel):
        TRANSITIONS = BOOKING_TRANSITIONS
        status = models.CharField(choices=BookingStatus.choices, ...)

        def can_cancel(self) -> bool:
            return self.can_move_to(BookingStatus.CANCELLED) and ...

    booking.move_to(BookingStatus.CANCELLED)   # raises ApplicationError(BAD_TRANSITION)
    booking.save(update_fields=["status", "updated_at"])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from .errors import ApplicationError, CommonError


def transitions_check(table: Mapping[str, frozenset[str] | set[str]], states: Any) -> None:
    """Raise if `table` does not name every state of `states` (a TextChoices) exactly once as a
    key, or names a target that is not a state: the table must show the whole machine."""
    values = set(states.values)
    if set(table) != values:
        raise ValueError(f"transitions table keys {sorted(table)} != states {sorted(values)}")
    for source, targets in table.items():
        if not set(targets) <= values:
            raise ValueError(f"{source} moves to unknown states {sorted(set(targets) - values)}")


class Workflow:
    """Mixin for a model with a `status` field and a `TRANSITIONS` table."""

    TRANSITIONS: ClassVar[Mapping[str, frozenset[str] | set[str]]]
    status: Any

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, ())

    def move_to(self, status: str) -> None:
        """Set `status` if the table allows it from the current one; else refuse, saying both
        states in the reader's language. The caller saves (`update_fields`) in its transaction."""
        if not self.can_move_to(status):
            labels = dict(self._meta.get_field("status").flatchoices)  # type: ignore[attr-defined]
            raise ApplicationError(
                CommonError.BAD_TRANSITION,
                _("This is “%(status)s” and cannot become “%(new)s”.")
                % {
                    "status": labels.get(self.status, self.status),
                    "new": labels.get(status, status),
                },
                field="status",
            )
        self.status = status
