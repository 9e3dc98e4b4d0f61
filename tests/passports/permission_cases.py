"""The passports app's staff services for the permission walk
(tests/missions/test_permission_table.py). Not walked here, because no staff role is what lets
them run: the citizen's own verbs (`application_start`, `application_draft_save`,
`application_photo_add`, `application_submit`, `application_visit_book`,
`application_withdraw`, `document_report_by_citizen`) and the internal step
`document_report_record`."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection

from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from missions.permissions import Action
from passports import services
from passports.models import Application
from passports.register import services as register_services
from passports.register.models import PersonalisationCase
from sync.registry import events_project
from tests.conftest import make_staff
from tests.passports.factories import (
    application_biometrics_taken,
    application_paid,
    application_recommended,
)
from tests.passports.permission_cases_seals import SEAL_CASES
from tests.passports.test_etd_permission_cases import ETD_CASES
from tests.permission_table import PermissionCase
from tests.registers import central_log, outbox_on_the_wire


def _block_number() -> int:
    return uuid.uuid4().int % 10**7


def _queued_case(mission: Mission) -> Any:
    """An approved application whose event HQ has applied: a case waiting to be personalised,
    with numbers to take."""
    application = application_recommended(mission)
    services.application_decide(
        application=application,
        approve=True,
        reason="",
        acting_user=make_staff(mission, "consul"),
    )
    events = outbox_on_the_wire("passports.application.approved")
    schema = connection.schema_name
    connection.set_schema_to_public()
    central_log(mission.code, events)
    events_project(mission=mission.code, events=events)
    start = _block_number() * 10
    register_services.number_block_add(
        document_type="P", prefix="Q", digits=8, first=start, last=start + 9, acting_user=SYSTEM
    )
    case = PersonalisationCase.objects.get(mission=mission.code, reference=application.reference)
    connection.set_schema(schema)
    return case


def _dispatched(mission: Mission) -> Any:
    """A passport HQ printed, which the mission has learnt of."""
    case = _queued_case(mission)
    schema = connection.schema_name
    connection.set_schema_to_public()
    register_services.personalisation_run(case=case, acting_user=SYSTEM)
    connection.set_schema(schema)
    services.dispatches_receive()
    return Application.objects.get(pk=case.application_id)


def _ready(mission: Mission) -> Any:
    application = _dispatched(mission)
    return services.application_arrival_record(
        application=application, acting_user=make_staff(mission, "officer")
    )


def _block_add(actor: Any) -> Any:
    first = _block_number() * 10
    return register_services.number_block_add(
        document_type="P", prefix="W", digits=8, first=first, last=first + 9, acting_user=actor
    )


def _number() -> str:
    return "R" + uuid.uuid4().hex[:7].upper()


CASES = [
    PermissionCase(
        service="application_biometrics_take",
        action=Action.PASSPORT_PROCESS,
        prepare=application_paid,
        call=lambda actor, application: services.application_biometrics_take(
            application=application, identity_confirmed=True, acting_user=actor
        ),
    ),
    PermissionCase(
        service="application_recommend",
        action=Action.PASSPORT_PROCESS,
        prepare=application_biometrics_taken,
        call=lambda actor, application: services.application_recommend(
            application=application, recommendation="issue", reason="", acting_user=actor
        ),
    ),
    PermissionCase(
        service="application_decide",
        action=Action.PASSPORT_DECIDE,
        prepare=application_recommended,
        call=lambda actor, application: services.application_decide(
            application=application, approve=True, reason="", acting_user=actor
        ),
    ),
    PermissionCase(
        service="application_return",
        action=Action.PASSPORT_DECIDE,
        prepare=application_recommended,
        call=lambda actor, application: services.application_return(
            application=application, reason="Check the height again", acting_user=actor
        ),
    ),
    PermissionCase(
        service="document_report_take",
        action=Action.PASSPORT_PROCESS,
        prepare=lambda mission: mission,
        call=lambda actor, mission: services.document_report_take(
            kind="stolen", document_number=_number(), circumstances="", acting_user=actor
        ),
    ),
]

# emergency travel documents (tests/passports/test_etd_permission_cases.py)
CASES += ETD_CASES

# HQ's personalisation (passports/register/services.py); `number_next` is its internal step
CASES += [
    PermissionCase(
        service="application_arrival_record",
        action=Action.PASSPORT_PROCESS,
        prepare=_dispatched,
        call=lambda actor, application: services.application_arrival_record(
            application=application, acting_user=actor
        ),
    ),
    PermissionCase(
        service="application_collect",
        action=Action.PASSPORT_PROCESS,
        prepare=_ready,
        call=lambda actor, application: services.application_collect(
            application=application,
            identity_confirmed=True,
            old_document_cancelled=True,
            signed_for=True,
            acting_user=actor,
        ),
    ),
    PermissionCase(
        service="personalisation_run",
        action=Action.PASSPORT_PERSONALISE,
        prepare=_queued_case,
        call=lambda actor, case: register_services.personalisation_run(
            case=case, acting_user=actor
        ),
    ),
    PermissionCase(
        service="number_block_add",
        action=Action.PASSPORT_PERSONALISE,
        prepare=lambda mission: mission,
        call=lambda actor, mission: _block_add(actor),
    ),
]

# HQ's document-signing keys (tests/passports/permission_cases_seals.py)
CASES += SEAL_CASES
