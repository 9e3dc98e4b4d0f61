"""The casework's permission cases (tests/visas/permission_cases.py), walked for the roles that
matter here: the officer and the consul at their own mission, a consul of another mission and
a mission's cashier. The whole table walks them too (tests/missions/test_permission_table.py)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.errors import ApplicationError
from missions.permissions import PERMISSIONS
from sync.models import OutboxEvent
from tests.conftest import make_staff
from tests.visas.permission_cases import CASES

ACTORS = [("officer", "own"), ("consul", "own"), ("cashier", "own"), ("consul", "other")]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "where"), ACTORS, ids=[f"{r}@{w}" for r, w in ACTORS])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_service_does_what_the_table_says(case, role, where, mission_a, mission_b):
    actor = make_staff(mission_a if where == "own" else mission_b, role)
    allowed = where == "own" and role in PERMISSIONS[case.action]
    with schema_context(mission_a.schema_name):
        state = case.prepare(mission_a)
        before = OutboxEvent.objects.count()
        if allowed:
            case.call(actor, state)
            assert OutboxEvent.objects.count() >= before
            return
        with pytest.raises(ApplicationError) as refused:
            case.call(actor, state)
        expected = {"NOT_FOUND"} if where == "other" else {"NOT_ALLOWED", "NOT_FOUND"}
        assert refused.value.code.name in expected
        assert OutboxEvent.objects.count() == before
