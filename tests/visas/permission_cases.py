"""The visas app's staff services of the mission's casework for the permission walk
(tests/missions/test_permission_table.py). Not walked here, because no staff role is what lets
them run: the applicant's own verbs (visas/services/application.py), the platform's beat
(`corrections_expire`, `application_deem_withdrawn`, as SYSTEM) and the issuance step
`visa_issue`, which `application_decide` calls after its own check."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from missions.models import Mission
from missions.permissions import Action
from tests.conftest import make_staff
from tests.permission_table import PermissionCase
from tests.visas.factories import visa_submitted
from tests.visas.factories_casework import (
    accept_all,
    numbers_allocate,
    visa_appealed,
    visa_attended,
    visa_issued,
    visa_paid,
    visa_recommended,
    visa_refused,
    visa_screened,
)
from tests.visas.permission_cases_hq import HQ_CASES
from visas.models import ScreeningHit
from visas.reference.models import WatchlistEntry
from visas.services import casework, issuance, screening


def _screened_with_a_match(mission: Mission) -> ScreeningHit:
    """A submitted application whose screening found one match on the watchlist."""
    application = visa_submitted(
        mission, surname="Varga", given_names="Zoltan Bela", birth_date="1977-07-07"
    )
    last = WatchlistEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    WatchlistEntry.objects.create(
        id=last + 1000, names="VARGA ZOLTAN BELA", birth_date=dt.date(1977, 7, 7), reason="Test."
    )
    run = screening.screening_run(
        application=application, acting_user=make_staff(mission, "officer")
    )
    return run.hits.get()


def _recommended_with_numbers(mission: Mission) -> Any:
    application = visa_recommended(mission)
    numbers_allocate(mission)
    return application


def _admissible_date(application: Any) -> dt.date:
    return casework.local_date(application.admissible_at)


CASES = [
    PermissionCase(
        service="completeness_review",
        action=Action.VISA_PROCESS,
        prepare=visa_submitted,
        call=lambda actor, application: casework.completeness_review(
            application=application, decisions=accept_all(application), acting_user=actor
        ),
    ),
    PermissionCase(
        service="application_attend",
        action=Action.VISA_PROCESS,
        prepare=visa_paid,
        call=lambda actor, application: casework.application_attend(
            application=application, identity_confirmed=True, acting_user=actor
        ),
    ),
    PermissionCase(
        service="screening_run",
        action=Action.VISA_PROCESS,
        prepare=visa_attended,
        call=lambda actor, application: screening.screening_run(
            application=application, acting_user=actor
        ),
    ),
    PermissionCase(
        service="screening_hit_resolve",
        action=Action.VISA_PROCESS,
        prepare=_screened_with_a_match,
        call=lambda actor, hit: screening.screening_hit_resolve(
            hit=hit, resolution="cleared", reason="Another person.", acting_user=actor
        ),
    ),
    PermissionCase(
        service="application_recommend",
        action=Action.VISA_PROCESS,
        prepare=visa_screened,
        call=lambda actor, application: casework.application_recommend(
            application=application, issue=True, acting_user=actor
        ),
    ),
    PermissionCase(
        service="application_decide",
        action=Action.VISA_DECIDE,
        prepare=_recommended_with_numbers,
        call=lambda actor, application: casework.application_decide(
            application=application, issue=True, acting_user=actor
        ),
    ),
    PermissionCase(
        service="application_return",
        action=Action.VISA_DECIDE,
        prepare=visa_recommended,
        call=lambda actor, application: casework.application_return(
            application=application, reason="Check the invitation again.", acting_user=actor
        ),
    ),
    PermissionCase(
        service="deadline_extend",
        action=Action.VISA_DECIDE,
        prepare=visa_attended,
        call=lambda actor, application: casework.deadline_extend(
            application=application,
            until=_admissible_date(application) + dt.timedelta(days=30),
            reason="Consulting the host's authorities.",
            acting_user=actor,
        ),
    ),
    PermissionCase(
        service="appeal_record",
        action=Action.VISA_PROCESS,
        prepare=visa_refused,
        call=lambda actor, application: casework.appeal_record(
            application=application,
            lodged_on=casework.local_date(application.decided_at),
            statement="The invitation was misread.",
            acting_user=actor,
        ),
    ),
    PermissionCase(
        service="appeal_decide",
        action=Action.VISA_DECIDE,
        prepare=visa_appealed,
        call=lambda actor, appeal: casework.appeal_decide(
            appeal=appeal, uphold=True, note="No new facts.", acting_user=actor
        ),
    ),
    PermissionCase(
        service="visa_end",
        action=Action.VISA_DECIDE,
        prepare=visa_issued,
        call=lambda actor, application: casework.visa_end(
            application=application, revoke=True, grounds=["public_policy"], acting_user=actor
        ),
    ),
]

# HQ's visa number blocks (issuance) and reference data (tests/visas/permission_cases_hq.py)
CASES += [
    PermissionCase(
        service="visa_number_block_allocate",
        action=Action.MISSION_MANAGE,
        prepare=lambda mission: mission,
        call=lambda actor, mission: issuance.visa_number_block_allocate(
            mission_code=mission.code,
            first=(first := 1 + secrets.randbelow(10**6) * 10),
            last=first + 9,
            prefix="W",
            acting_user=actor,
        ),
    ),
]
CASES += HQ_CASES
