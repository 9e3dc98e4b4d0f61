"""Two HQ operators printing the same person's passport at the same moment, one from Berlin's
case and one from Tokyo's, each on their own connection: one passport is printed, the other
case is held naming the first, and the number the held one would have taken is not used."""

from __future__ import annotations

import datetime as dt
import threading

from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from passports.events import PassportTopic
from passports.register import services as register_services
from passports.register.models import IssuedDocument, NumberBlock, PersonalisationCase
from sync.services import sealed_seal
from tests.factories import UserFactory
from tests.passports.factories import national_id

OPERATORS = 2


def _case(mission: Mission, application_id: str, person: str) -> PersonalisationCase:
    """An approved case as it reaches HQ: the holder's data sealed by the mission."""
    holder = {
        "surname": "Yılmaz",
        "given_names": "Ayşe",
        "birth_date": "1988-04-12",
        "sex": "F",
        "national_id": person,
        "child": False,
    }
    with schema_context(mission.schema_name):
        sealed = sealed_seal(
            mission=mission.code,
            topic=str(PassportTopic.APPLICATION_APPROVED),
            aggregate_id=application_id,
            data=holder,
        )
    return PersonalisationCase.objects.create(
        mission=mission.code,
        seq=10**9 + int(application_id),
        application_id=application_id,
        reference=f"PRACE{application_id:0>5}",
        kind="first",
        sealed=sealed,
        received_at=timezone.now(),
    )


def _clean(cases: list[PersonalisationCase], block: NumberBlock | None, admin: User) -> None:
    connection.set_schema_to_public()
    numbers = [case.document_number for case in PersonalisationCase.objects.filter(
        pk__in=[case.pk for case in cases]
    )]  # fmt: skip
    IssuedDocument.history.filter(number__in=numbers).delete()  # type: ignore[attr-defined]
    IssuedDocument.objects.filter(number__in=numbers).delete()
    PersonalisationCase.history.filter(  # type: ignore[attr-defined]
        id__in=[case.pk for case in cases]
    ).delete()
    PersonalisationCase.objects.filter(pk__in=[case.pk for case in cases]).delete()
    if block is not None:
        NumberBlock.history.filter(id=block.pk).delete()  # type: ignore[attr-defined]
        block.delete()
    admin.delete()


def test_two_operators_printing_one_person_at_once_print_one_passport(committed_db):
    # given the same person's approved cases from Berlin and Tokyo at HQ, and a number block
    connection.set_schema_to_public()
    alpha, beta = Mission.objects.get(code="alpha"), Mission.objects.get(code="beta")
    admin = UserFactory(hq_role="admin")
    person = national_id()
    cases: list[PersonalisationCase] = []
    block = None
    try:
        cases = [_case(alpha, "71001", person), _case(beta, "71002", person)]
        block = register_services.number_block_add(
            document_type="P", prefix="R", digits=8, first=1, last=50, acting_user=admin
        )
        barrier = threading.Barrier(OPERATORS)
        refusals: list[ApplicationError] = []
        errors: list[BaseException] = []

        def personalise(case: PersonalisationCase) -> None:
            try:
                connection.set_schema_to_public()
                barrier.wait()
                register_services.personalisation_run(
                    case=case, acting_user=admin, today=dt.date(2026, 12, 7)
                )
            except ApplicationError as refusal:
                refusals.append(refusal)
            except BaseException as error:
                errors.append(error)
            finally:
                connections.close_all()

        # when both operators press "Personalise and print" at the same moment
        threads = [threading.Thread(target=personalise, args=(case,)) for case in cases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # then one passport is printed and the other case is held, naming the printed one
        assert not errors
        assert [refusal.code.value for refusal in refusals] == ["passports.held_same_person"]
        rows = {case.mission: case for case in PersonalisationCase.objects.filter(
            pk__in=[case.pk for case in cases]
        )}  # fmt: skip
        statuses = sorted(case.status for case in rows.values())
        assert statuses == ["held", "printed"]
        printed = next(case for case in rows.values() if case.status == "printed")
        held = next(case for case in rows.values() if case.status == "held")
        assert (held.held_mission, held.held_reference) == (printed.mission, printed.reference)
        assert held.holder_index == printed.holder_index
        # and one number was used, the first; the held case took none
        assert printed.document_number == "R00000001"
        assert IssuedDocument.objects.filter(number__startswith="R").count() == 1
        block.refresh_from_db()
        assert block.next_value == 2
    finally:
        _clean(cases, block, admin)
