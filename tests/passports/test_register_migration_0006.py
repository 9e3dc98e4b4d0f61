"""The data step of passports_register 0006 (one passport per person): cases HQ printed before it
take their holder's index from the register of issued documents, and a case whose passport its
mission handed over is marked so; after that, the migration's constraints hold on what it left.

The tables are brought back to what 0006 found (no holder index, handed-over passports still
"printed", the constraints that need them not there yet) inside the test's transaction, and the
migration's own operations are run on them."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.db import connection, migrations
from django.db.migrations.executor import MigrationExecutor

from passports.register import services as register_services
from passports.register.models import IssuedDocument, PersonalisationCase
from tests.passports.test_personalisation import _approved, _to_hq, handed_over

pytestmark = pytest.mark.django_db

MIGRATION = ("passports_register", "0006_one_passport_per_person")


def _operations() -> list[migrations.operations.base.Operation]:
    return import_module(
        "passports.register.migrations.0006_one_passport_per_person"
    ).Migration.operations


def _printed(mission, hq_admin):  # type: ignore[no-untyped-def]
    application, events = _approved(mission)
    _to_hq(mission, events)
    case = PersonalisationCase.objects.get(reference=application.reference)
    register_services.personalisation_run(case=case, acting_user=hq_admin)
    return application


def _as_before_0006() -> None:
    """The cases as 0006 found them: no holder index, a handed-over passport's case "printed",
    and none of the constraints 0006 adds (they are put back by the migration's operations)."""
    state = MigrationExecutor(connection).loader.project_state(MIGRATION)
    with connection.schema_editor() as editor:
        for operation in _operations():
            if isinstance(operation, migrations.AddConstraint):
                model = state.apps.get_model("passports_register", operation.model_name)
                editor.remove_constraint(model, operation.constraint)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE passports_register_personalisationcase SET holder_index = '',"
            " status = CASE WHEN status = 'collected' THEN 'printed' ELSE status END"
        )


def test_printed_cases_take_their_holders_index_and_handed_over_ones_are_marked(
    mission_a, mission_b, hq_admin, block
):
    # given a passport printed and handed over at Berlin, one printed and on its way at Tokyo,
    # and one case still waiting at Tokyo
    handed = _printed(mission_a, hq_admin)
    handed_over(mission_a, handed)
    on_its_way = _printed(mission_b, hq_admin)
    waiting, events = _approved(mission_b)
    _to_hq(mission_b, events)
    expected = {
        case.reference: (case.status, case.holder_index)
        for case in PersonalisationCase.objects.all()
    }
    assert {status for status, _ in expected.values()} == {"collected", "printed", "queued"}
    # and the tables as 0006 found them
    _as_before_0006()
    assert set(PersonalisationCase.objects.values_list("holder_index", flat=True)) == {""}
    assert PersonalisationCase.objects.get(reference=handed.reference).status == "printed"
    # when the migration's data step and then its constraints run
    state = MigrationExecutor(connection).loader.project_state(MIGRATION)
    with connection.schema_editor() as editor:
        for operation in _operations():
            if isinstance(operation, migrations.RunSQL):
                operation.database_forwards("passports_register", editor, state, state)
            if isinstance(operation, migrations.AddConstraint):
                model = state.apps.get_model("passports_register", operation.model_name)
                editor.add_constraint(model, operation.constraint)
    # then each printed case has its holder's index from the register, the handed-over one is
    # "collected", the waiting one is left as it was (no index: it has no passport yet)
    after = {
        case.reference: (case.status, case.holder_index)
        for case in PersonalisationCase.objects.all()
    }
    assert after[handed.reference] == expected[handed.reference]
    assert after[on_its_way.reference] == expected[on_its_way.reference]
    assert after[waiting.reference] == ("queued", "")
    printed_index = IssuedDocument.objects.get(
        number=PersonalisationCase.objects.get(reference=on_its_way.reference).document_number
    ).holder_index
    assert after[on_its_way.reference][1] == printed_index != ""
