"""The passports app's staff services for the permission walk
(tests/missions/test_permission_table.py). Not walked here, because no staff role is what lets
them run: the citizen's own verbs (`application_start`, `application_draft_save`,
`application_photo_add`, `application_submit`, `application_visit_book`,
`application_withdraw`, `document_report_by_citizen`) and the internal step
`document_report_record`."""

from __future__ import annotations

import uuid

from missions.permissions import Action
from passports import services
from tests.passports.factories import (
    application_biometrics_taken,
    application_paid,
    application_recommended,
)
from tests.permission_table import PermissionCase


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
