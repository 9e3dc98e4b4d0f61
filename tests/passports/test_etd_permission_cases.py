"""The ETD's staff services for the permission walk (tests/missions/test_permission_table.py),
to be added to `tests/passports/permission_cases.py` (`CASES += ETD_CASES`); `etd_apply` is the
citizen's own and joins `NOT_STAFF_SERVICES`. The signer is HQ's (not merged yet): the calls that
issue stand a test signer in its place."""

from __future__ import annotations

import inspect
import secrets
from typing import Any
from unittest import mock

from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from missions.permissions import Action
from passports import selectors, services
from passports.services import etd as etd_module
from tests.passports.photos import photo_bytes
from tests.passports.test_etd_services import Signer, etd_issued, etd_paid
from tests.permission_table import PermissionCase

_SIGNER = Signer()


def _signed(call: Any) -> Any:
    with mock.patch.object(
        etd_module, "document_signer_active", return_value=(_SIGNER.key, _SIGNER.certificate)
    ):
        return call()


def _with_block(mission: Mission) -> Mission:
    first = 1 + secrets.randbelow(10**7) * 10
    services.etd_block_allocate(
        mission_code=mission.code, first=first, last=first + 9, prefix="W", acting_user=SYSTEM
    )
    return mission


def _paid_with_block(mission: Mission) -> Any:
    _with_block(mission)
    return etd_paid(mission)


def _issued_with_block(mission: Mission) -> Any:
    _with_block(mission)
    return _signed(lambda: etd_issued(mission))


ETD_CASES = [
    PermissionCase(
        service="etd_photo_add",
        action=Action.ETD_REQUEST,
        prepare=etd_paid,
        call=lambda actor, etd: services.etd_photo_add(
            etd=etd, data=photo_bytes(), acting_user=actor
        ),
    ),
    PermissionCase(
        service="etd_request_record",
        action=Action.ETD_REQUEST,
        prepare=lambda mission: _seeded(mission),
        call=lambda actor, values: services.etd_request_record(
            values=values, email="", language="en", acting_user=actor
        ),
    ),
    PermissionCase(
        service="etd_issue",
        action=Action.ETD_ISSUE,
        prepare=_paid_with_block,
        call=lambda actor, etd: _signed(lambda: services.etd_issue(etd=etd, acting_user=actor)),
    ),
    PermissionCase(
        service="etd_revoke",
        action=Action.ETD_ISSUE,
        prepare=_issued_with_block,
        call=lambda actor, etd: services.etd_revoke(etd=etd, reason="Found", acting_user=actor),
    ),
    PermissionCase(
        service="etd_settings_change",
        action=Action.ETD_ISSUE,
        prepare=lambda mission: mission,
        call=lambda actor, mission: services.etd_settings_change(max_days=10, acting_user=actor),
    ),
    PermissionCase(
        service="etd_block_allocate",
        action=Action.MISSION_MANAGE,
        prepare=lambda mission: mission,
        call=lambda actor, mission: services.etd_block_allocate(
            mission_code=mission.code,
            first=(first := 1 + secrets.randbelow(10**7) * 10),
            last=first + 9,
            prefix="V",
            acting_user=actor,
        ),
    ),
    PermissionCase(
        service="etd_get_for_staff",
        action=Action.PASSPORT_VIEW,
        prepare=lambda mission: etd_paid(mission),
        call=lambda actor, etd: selectors.etd_get_for_staff(
            reference=etd.reference, acting_user=actor
        ),
    ),
    PermissionCase(
        service="etd_list_for_staff",
        action=Action.PASSPORT_VIEW,
        prepare=lambda mission: mission,
        call=lambda actor, mission: list(selectors.etd_list_for_staff(acting_user=actor)),
    ),
]


def _seeded(mission: Mission) -> dict[str, Any]:
    from tests.fees.factories import seed_fee_reference
    from tests.passports.test_etd_services import request_values

    seed_fee_reference()
    return request_values()


def test_every_etd_staff_service_has_a_case():
    staff = {
        name
        for name, function in inspect.getmembers(etd_module, inspect.isfunction)
        if function.__module__ == etd_module.__name__
        and not name.startswith("_")
        and "acting_user" in inspect.signature(function).parameters
    }
    assert staff - {case.service for case in ETD_CASES} == {"etd_apply"}
