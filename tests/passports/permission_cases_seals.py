"""The seal keys' HQ services for the permission walk (tests/missions/test_permission_table.py).
Not walked automatically: the walk reads `CASES` of `tests/<app>/permission_cases.py`; add
`SEAL_CASES` there (`CASES += SEAL_CASES`) to walk them. Both are checked against the mission
whose key it is; only HQ admins may."""

from __future__ import annotations

from missions.models import Mission
from missions.permissions import Action
from passports.register.seal_keys import document_signer_issue, document_signer_revoke
from passports.register.seals import SealSigner
from tests.passports.seals import signer_issue
from tests.permission_table import PermissionCase


def _signed(mission: Mission) -> tuple[Mission, SealSigner]:
    return mission, signer_issue(mission)


SEAL_CASES = [
    PermissionCase(
        service="document_signer_issue",
        action=Action.SEAL_KEYS_MANAGE,
        prepare=lambda mission: mission,
        call=lambda actor, mission: document_signer_issue(mission=mission, acting_user=actor),
    ),
    PermissionCase(
        service="document_signer_revoke",
        action=Action.SEAL_KEYS_MANAGE,
        prepare=_signed,
        call=lambda actor, state: document_signer_revoke(
            mission=state[0], serial=state[1].serial, reason="Key leaked", acting_user=actor
        ),
    ),
]
