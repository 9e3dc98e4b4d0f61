"""Visa applications at each point of the mission's casework, made through the real services
(the applicant's, the cashier's, the officer's, the consul's), in the current mission schema
(each call switches to `mission`'s schema for its work and back)."""

from __future__ import annotations

import uuid
from typing import Any

from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from fees.models import Assessment
from missions.models import Mission
from tests.conftest import make_staff
from tests.fees.conftest import pay_cash
from tests.visas.factories import visa_submitted
from visas.models import FORM_ITEM, Appeal, VisaApplication
from visas.services import casework, screening
from visas.services.issuance import visa_number_block_allocate


def accept_all(application: VisaApplication) -> dict[str, tuple[bool, str]]:
    """The officer's word on every item of the checklist and on the form (last: a test takes
    the first item as a document's): accepted."""
    items = {item.code: (True, "") for item in casework.checklist_of(application)}
    return items | {FORM_ITEM: (True, "")}


def visa_complete(mission: Mission, *, officer: User | None = None, **kw: Any) -> VisaApplication:
    """Submitted, and every item accepted by an officer: admissible, the clock running."""
    application = visa_submitted(mission, **kw)
    with schema_context(mission.schema_name):
        return casework.completeness_review(
            application=application,
            decisions=accept_all(application),
            acting_user=officer or make_staff(mission, "officer"),
        )


def visa_paid(mission: Mission, **kw: Any) -> VisaApplication:
    application = visa_complete(mission, **kw)
    with schema_context(mission.schema_name):
        pay_cash(
            Assessment.objects.get(pk=application.assessment_id), make_staff(mission, "cashier")
        )
        application.refresh_from_db()
        return application


def visa_attended(mission: Mission, **kw: Any) -> VisaApplication:
    application = visa_paid(mission, **kw)
    with schema_context(mission.schema_name):
        return casework.application_attend(
            application=application,
            identity_confirmed=True,
            acting_user=make_staff(mission, "officer"),
        )


def visa_screened(mission: Mission, **kw: Any) -> VisaApplication:
    """Seen at the visit and screened with no match left open (any match cleared)."""
    application = visa_attended(mission, **kw)
    with schema_context(mission.schema_name):
        officer = make_staff(mission, "officer")
        run = screening.screening_run(application=application, acting_user=officer)
        for hit in run.hits.all():
            screening.screening_hit_resolve(
                hit=hit, resolution="cleared", reason="Another person.", acting_user=officer
            )
        application.refresh_from_db()
        return application


def visa_recommended(
    mission: Mission,
    *,
    officer: User | None = None,
    issue: bool = True,
    grounds: list[str] | None = None,
    **kw: Any,
) -> VisaApplication:
    application = visa_screened(mission, **kw)
    with schema_context(mission.schema_name):
        return casework.application_recommend(
            application=application,
            issue=issue,
            grounds=grounds if grounds is not None else ([] if issue else ["purpose"]),
            note="",
            acting_user=officer or make_staff(mission, "officer"),
        )


def numbers_allocate(mission: Mission, count: int = 20) -> None:
    """A block of visa numbers for `mission`, from HQ (a range no other test takes)."""
    first = uuid.uuid4().int % 10**6 * 100 + 1
    visa_number_block_allocate(
        mission_code=mission.code, first=first, last=first + count - 1, acting_user=SYSTEM
    )


def visa_refused(
    mission: Mission, *, consul: User | None = None, grounds: list[str] | None = None, **kw: Any
) -> VisaApplication:
    application = visa_recommended(mission, issue=False, grounds=grounds, **kw)
    with schema_context(mission.schema_name):
        return casework.application_decide(
            application=application,
            issue=False,
            grounds=grounds or ["purpose"],
            note="",
            acting_user=consul or make_staff(mission, "consul"),
        )


def visa_issued(mission: Mission, *, consul: User | None = None, **kw: Any) -> VisaApplication:
    application = visa_recommended(mission, **kw)
    numbers_allocate(mission)
    with schema_context(mission.schema_name):
        return casework.application_decide(
            application=application,
            issue=True,
            note="",
            acting_user=consul or make_staff(mission, "consul"),
        )


def visa_appealed(mission: Mission, **kw: Any) -> Appeal:
    application = visa_refused(mission, **kw)
    with schema_context(mission.schema_name):
        return casework.appeal_record(
            application=application,
            lodged_on=mission.today(),
            statement="The invitation letter was misread.",
            acting_user=make_staff(mission, "officer"),
        )
