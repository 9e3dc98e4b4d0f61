"""The missions app's staff services for the permission-table walk (tests/permission_table.py).

Opening missions and managing accounts are checked at HQ's row; the others at the mission
they change. Those are `MISSION_MANAGE`: HQ admins only. Pushing to HQ and exporting a file are
`SYNC_PUSH`, with the transport (`sync.export`) replaced: the walk tests the table, not the link.
Importing HQ's answer at the mission is `SYNC_PUSH` too, and a mission's file at HQ (and HQ's
answer to it) `MISSION_MANAGE`; those files are real, made with the real export and HQ answer.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from missions.permissions import Action
from missions.services import (
    account_create,
    account_password_set,
    account_update,
    membership_grant,
    membership_revoke,
    mission_create,
    mission_data_key_rotate,
    mission_update,
)
from missions.services.node import mission_node_export
from missions.services.sync import (
    sync_file_export,
    sync_file_import,
    sync_hq_answer_export,
    sync_hq_file_import,
    sync_push_now,
)
from sync.export import file_export
from sync.hq.answer import push_answer
from tests.factories import MissionParams, UserFactory
from tests.missions.sync_fakes import export_replaced
from tests.permission_table import PermissionCase


def _new_mission_params(mission: Mission) -> dict[str, Any]:
    return dict(MissionParams(code=f"p{uuid.uuid4().hex[:10]}"))


def _new_email(mission: Mission) -> str:
    return f"new.{uuid.uuid4().hex[:8]}@example.org"


def _account(mission: Mission) -> Any:
    return UserFactory()


def _grantee(mission: Mission) -> tuple[Any, Mission]:
    return UserFactory(), mission


def _membership(mission: Mission) -> Any:
    return membership_grant(user=UserFactory(), mission=mission, role="cashier", acting_user=SYSTEM)


def _same(mission: Mission) -> Mission:
    return mission


def _mission_file(mission: Mission) -> tuple[Mission, bytes]:
    """A file of the mission's bundles, sealed for HQ, after one more event."""
    _membership(mission)
    with schema_context(mission.schema_name):
        return mission, file_export(code=mission.code, sealed=True)


def _answer_file(mission: Mission) -> tuple[Mission, bytes]:
    """HQ's answer to the mission's file, as HQ builds it."""
    _, data = _mission_file(mission)
    with schema_context("public"):
        return mission, push_answer(data, reference_version=0, source="file")


def _with_new_folder(mission: Mission) -> tuple[Mission, Path]:
    return mission, Path(tempfile.mkdtemp()) / "move"


CASES = [
    PermissionCase(
        service="mission_create",
        action=Action.MISSION_MANAGE,
        prepare=_new_mission_params,
        call=lambda actor, params: mission_create(acting_user=actor, **params),
    ),
    PermissionCase(
        service="mission_update",
        action=Action.MISSION_MANAGE,
        prepare=_same,
        call=lambda actor, mission: mission_update(
            mission=mission, acting_user=actor, name="Renamed", status="suspended"
        ),
    ),
    PermissionCase(
        service="mission_data_key_rotate",
        action=Action.MISSION_MANAGE,
        prepare=_same,
        call=lambda actor, mission: mission_data_key_rotate(mission=mission, acting_user=actor),
    ),
    PermissionCase(
        service="membership_grant",
        action=Action.MISSION_MANAGE,
        prepare=_grantee,
        call=lambda actor, state: membership_grant(
            user=state[0], mission=state[1], role="officer", acting_user=actor
        ),
    ),
    PermissionCase(
        service="membership_revoke",
        action=Action.MISSION_MANAGE,
        prepare=_membership,
        call=lambda actor, membership: membership_revoke(membership=membership, acting_user=actor),
    ),
    PermissionCase(
        service="account_create",
        action=Action.MISSION_MANAGE,
        prepare=_new_email,
        call=lambda actor, email: account_create(
            email=email, password="correct horse battery", acting_user=actor
        ),
    ),
    PermissionCase(
        service="account_update",
        action=Action.MISSION_MANAGE,
        prepare=_account,
        call=lambda actor, user: account_update(
            user=user, acting_user=actor, first_name="Renamed", hq_role="admin"
        ),
    ),
    PermissionCase(
        service="account_password_set",
        action=Action.MISSION_MANAGE,
        prepare=_account,
        call=lambda actor, user: account_password_set(
            user=user, password="another horse battery", acting_user=actor
        ),
    ),
    PermissionCase(
        service="sync_push_now",
        action=Action.SYNC_PUSH,
        prepare=_same,
        call=lambda actor, mission: _with_export_replaced(sync_push_now, actor, mission),
    ),
    PermissionCase(
        service="mission_node_export",
        action=Action.MISSION_MANAGE,
        prepare=_with_new_folder,
        call=lambda actor, prepared: mission_node_export(
            mission=prepared[0],
            node_url="http://node.test:8001",
            out_dir=prepared[1],
            acting_user=actor,
        ),
    ),
    PermissionCase(
        service="sync_file_export",
        action=Action.SYNC_PUSH,
        prepare=_same,
        call=lambda actor, mission: _with_export_replaced(sync_file_export, actor, mission),
    ),
    PermissionCase(
        service="sync_file_import",
        action=Action.SYNC_PUSH,
        prepare=_answer_file,
        call=lambda actor, prepared: sync_file_import(
            mission=prepared[0], acting_user=actor, data=prepared[1]
        ),
    ),
    PermissionCase(
        service="sync_hq_file_import",
        action=Action.MISSION_MANAGE,
        prepare=_mission_file,
        call=lambda actor, prepared: sync_hq_file_import(
            mission=prepared[0], acting_user=actor, data=prepared[1]
        ),
    ),
    PermissionCase(
        service="sync_hq_answer_export",
        action=Action.MISSION_MANAGE,
        prepare=_same,
        call=lambda actor, mission: sync_hq_answer_export(mission=mission, acting_user=actor),
    ),
]


def _with_export_replaced(service: Any, actor: Any, mission: Mission) -> Any:
    with export_replaced():
        return service(mission=mission, acting_user=actor)
