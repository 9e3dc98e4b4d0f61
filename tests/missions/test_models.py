"""The mission's status machine: one table, closed is final."""

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from consulate.kernel.workflows import transitions_check
from missions.models import MISSION_TRANSITIONS, MissionStatus
from missions.services import mission_update
from sync.models import OutboxEvent


def test_the_table_names_every_status():
    transitions_check(MISSION_TRANSITIONS, MissionStatus)


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("active", "suspended", True),
        ("suspended", "active", True),
        ("active", "closed", True),
        ("suspended", "closed", True),
        ("closed", "active", False),
        ("closed", "suspended", False),
    ],
)
def test_moves(mission_a, source, target, allowed):
    mission_a.status = source
    assert mission_a.can_move_to(target) is allowed


def test_closing_then_reactivating_is_refused_and_changes_nothing(mission_a):
    # given a mission that was closed
    closed = mission_update(mission=mission_a, acting_user=SYSTEM, status="closed")
    assert closed.status == MissionStatus.CLOSED
    with schema_context(mission_a.schema_name):
        events_before = OutboxEvent.objects.count()
    # when someone sets it active again (with a new name in the same change)
    with pytest.raises(ApplicationError) as refused:
        mission_update(mission=closed, acting_user=SYSTEM, status="active", name="Reopened")
    # then it is refused, saying why, and the mission stays closed and unchanged
    assert refused.value.code.name == "BAD_TRANSITION"
    assert refused.value.field == "status"
    assert "“Closed” and cannot become “Active”" in str(refused.value.message)
    mission_a.refresh_from_db()
    assert (mission_a.status, mission_a.name) == ("closed", "Consulate-General in Berlin")
    with schema_context(mission_a.schema_name):
        assert OutboxEvent.objects.count() == events_before


def test_suspending_and_reopening_is_allowed(mission_a):
    suspended = mission_update(mission=mission_a, acting_user=SYSTEM, status="suspended")
    reopened = mission_update(mission=suspended, acting_user=SYSTEM, status="active")
    assert reopened.status == MissionStatus.ACTIVE
    assert [h.status for h in reopened.history.order_by("history_id")][-2:] == [
        "suspended",
        "active",
    ]
