"""Issuing a visa (`visas.services.issuance`): numbers from HQ's blocks, gapless, given back by
a rolled-back decision, never two blocks over one number at any missions or of any kind; the
MRZ composed with valid check digits and the names transliterated; the dates and stay the
passport and category allow; HQ's register of issued documents fed by the visa's events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from passports.mrz import MrzFormat, mrz_parse
from passports.register.etd_projector import document_index_of
from passports.register.seals import IssuedTravelDocument
from passports.register.services import number_block_add
from passports.services import etd_block_allocate
from sync.hq.models import SkippedEvent
from sync.registry import events_project, projectors, registers_rebuild
from tests.conftest import make_staff
from tests.factories import UserFactory
from tests.passports.seals import etd_events_record, issued_payload
from tests.registers import central_log, outbox_on_the_wire, project_again
from tests.visas.factories_casework import visa_recommended
from visas.events import VisaTopic
from visas.locks import application_lock
from visas.models import VisaApplication, VisaNumberBlock
from visas.register import issued_projector
from visas.services import casework
from visas.services.issuance import (
    IssuedVisa,
    visa_issue,
    visa_number_block_allocate,
    visa_numbers_left,
)

pytestmark = pytest.mark.django_db


def block(mission: Mission, first: int = 1, last: int = 100, prefix: str = "V") -> None:
    visa_number_block_allocate(
        mission_code=mission.code, first=first, last=last, prefix=prefix, acting_user=SYSTEM
    )


def validity(mission: Mission, **changes: Any) -> dict[str, Any]:
    start = mission.today() + dt.timedelta(days=30)
    values = {
        "valid_from": start,
        "valid_until": start + dt.timedelta(days=29),
        "entries": "1",
        "duration_days": 14,
    }
    return {**values, **changes}


def decide(mission: Mission, application: VisaApplication, **changes: Any) -> VisaApplication:
    with schema_context(mission.schema_name):
        return casework.application_decide(
            application=application,
            issue=True,
            note="",
            acting_user=make_staff(mission, "consul"),
            **validity(mission, **changes),
        )


def issue_in_transaction(
    mission: Mission, application: VisaApplication, **changes: Any
) -> IssuedVisa:
    """`visa_issue` as the decision runs it: on the locked application, in its transaction."""
    with schema_context(mission.schema_name), transaction.atomic():
        locked = application_lock(pk=application.pk)
        return visa_issue(
            application=locked,
            acting_user=make_staff(mission, "consul"),
            **validity(mission, **changes),
        )


class Rollback(Exception):
    pass


# --- numbers --------------------------------------------------------------------------------


def test_numbers_are_gapless_and_a_rolled_back_decision_gives_its_number_back(mission_a):
    # given a block of visa numbers and three recommended applications
    block(mission_a, first=41, last=50)
    first, second, third = (visa_recommended(mission_a) for _ in range(3))
    # when the first is issued, the second's decision rolls back after its number was taken
    assert decide(mission_a, first).visa_number == "V00000041"
    taken: list[str] = []

    def issue_then_fail() -> None:
        with schema_context(mission_a.schema_name), transaction.atomic():
            locked = application_lock(pk=second.pk)
            consul = make_staff(mission_a, "consul")
            visa = visa_issue(application=locked, acting_user=consul, **validity(mission_a))
            taken.append(visa.number)
            raise Rollback

    with pytest.raises(Rollback):
        issue_then_fail()
    assert taken == ["V00000042"]
    # then the next issue takes the number given back: no gap
    assert decide(mission_a, third).visa_number == "V00000042"
    assert decide(mission_a, second).visa_number == "V00000043"
    with schema_context(mission_a.schema_name):
        assert visa_numbers_left() == 7
        row = VisaNumberBlock.objects.get()
        assert row.next_number == 44


def test_no_number_left_is_a_clear_refusal_and_nothing_changes(mission_a):
    application = visa_recommended(mission_a)
    with pytest.raises(ApplicationError) as refused:
        decide(mission_a, application)
    assert refused.value.code.value == "visas.no_numbers"
    assert "HQ" in str(refused.value.message)
    with schema_context(mission_a.schema_name):
        application.refresh_from_db()
        assert application.status == "recommended"
        assert application.visa_number == ""


def test_blocks_never_overlap_across_missions_or_document_kinds(mission_a, mission_b):
    from consulate.kernel.accounts.models import HqRole

    admin = UserFactory(hq_role=HqRole.ADMIN)
    visa_number_block_allocate(
        mission_code=mission_a.code, first=1, last=100, prefix="V", acting_user=admin
    )
    # another mission's overlapping visa block
    with pytest.raises(ApplicationError) as overlap:
        visa_number_block_allocate(
            mission_code=mission_b.code, first=100, last=200, prefix="V", acting_user=admin
        )
    assert overlap.value.code.value == "visas.block_overlap"
    assert "Consulate-General in Berlin" in str(overlap.value.message)
    # an ETD block over visa numbers, and a visa block over ETD numbers
    with pytest.raises(ApplicationError) as etd_over_visas:
        etd_block_allocate(
            mission_code=mission_b.code, first=50, last=60, prefix="V", acting_user=admin
        )
    assert etd_over_visas.value.code.value == "passports.etd_block_overlap"
    etd_block_allocate(mission_code=mission_b.code, first=1, last=10, prefix="E", acting_user=admin)
    with pytest.raises(ApplicationError):
        visa_number_block_allocate(
            mission_code=mission_a.code, first=5, last=6, prefix="E", acting_user=admin
        )
    # a visa block over HQ's passport numbers of nine characters
    connection.set_schema_to_public()
    number_block_add(document_type="P", prefix="W", digits=8, first=1, last=9, acting_user=admin)
    with pytest.raises(ApplicationError) as over_passports:
        visa_number_block_allocate(
            mission_code=mission_a.code, first=9, last=20, prefix="W", acting_user=admin
        )
    assert over_passports.value.code.value == "visas.block_overlap"
    assert "HQ's passport numbers" in str(over_passports.value.message)
    # a bad range or prefix, an unknown mission, someone who is not an HQ admin
    for first, last, prefix in [(1, 10**8, "V"), (5, 1, "V"), (0, 5, "V"), (1, 5, "V1")]:
        with pytest.raises(ApplicationError) as bad:
            visa_number_block_allocate(
                mission_code=mission_b.code, first=first, last=last, prefix=prefix,
                acting_user=admin,
            )  # fmt: skip
        assert bad.value.code.value == "visas.invalid"
    with pytest.raises(ApplicationError) as unknown:
        visa_number_block_allocate(mission_code="nowhere", first=300, last=400, acting_user=admin)
    assert unknown.value.http_status == 404
    for actor in (make_staff(mission_b, "mission_admin"), make_staff(mission_b, "consul")):
        with pytest.raises(ApplicationError):
            visa_number_block_allocate(
                mission_code=mission_b.code, first=300, last=400, acting_user=actor
            )
    # the range next to it is fine, written into the mission's schema with its event
    visa_number_block_allocate(
        mission_code=mission_b.code, first=101, last=200, prefix="V", acting_user=admin
    )
    with schema_context(mission_b.schema_name):
        assert list(VisaNumberBlock.objects.values_list("prefix", "first", "last")) == [
            ("V", 101, 200)
        ]
        assert [e["payload"] for e in outbox_on_the_wire("visas.number_block")] == [
            {"prefix": "V", "first": 101, "last": 200}
        ]


# --- the MRZ and the checks -------------------------------------------------------------------


def test_the_mrz_reads_back_with_valid_check_digits_and_transliterated_names(mission_a):
    block(mission_a)
    application = visa_recommended(mission_a, surname="Öztürk", given_names="Ayşe Gül")
    issued = decide(mission_a, application)
    reading = mrz_parse(issued.visa_mrz.splitlines())
    assert not reading.problems
    assert reading.mrz_format is MrzFormat.MRVA
    assert reading.document_code == "VC"
    assert reading.surname == "OEZTUERK"
    assert reading.given_names == "AYSE GUEL"
    assert reading.document_number == issued.visa_number
    assert reading.expiry_date == issued.visa_valid_until
    assert reading.birth_date == issued.birth_date
    assert reading.nationality == "USA"
    # and the visa's facts are written, its number indexed under HQ's key
    assert issued.visa_number_index == document_index_of(issued.visa_number)
    assert (issued.visa_entries, issued.visa_duration_days) == ("1", 14)
    assert issued.issued_at is not None


def test_an_mrv_b_is_composed_on_request(mission_a):
    block(mission_a)
    issued = issue_in_transaction(mission_a, visa_recommended(mission_a), mrz_format="mrvb")
    assert issued.mrz_format is MrzFormat.MRVB
    assert [len(line) for line in issued.mrz] == [36, 36]
    assert not mrz_parse(list(issued.mrz)).problems
    assert issued.payload()["visa_number_index"] == document_index_of(issued.number)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"valid_until_days": -1}, "valid_until"),  # ends before it starts
        ({"valid_from": dt.date(2000, 1, 1)}, "valid_from"),  # in the past
        ({"valid_until": dt.date(9999, 12, 31)}, "valid_until"),  # the calendar's end
        ({"valid_from": dt.date.min}, "valid_from"),
        ({"duration_days": 91}, "duration_days"),  # over the category's 90 days
        ({"duration_days": 0}, "duration_days"),
        ({"duration_days": 31}, "duration_days"),  # longer than the validity
        ({"entries": "7"}, "entries"),
        ({"valid_from": "2030-01-01"}, "valid_from"),  # not a date
    ],
)
def test_dates_and_stay_out_of_bounds_are_refused_and_nothing_is_taken(mission_a, changes, field):
    block(mission_a)
    application = visa_recommended(mission_a)
    if "valid_until_days" in changes:
        start = validity(mission_a)["valid_from"]
        changes = {"valid_until": start + dt.timedelta(days=changes.pop("valid_until_days"))}
    with pytest.raises(ApplicationError) as refused:
        issue_in_transaction(mission_a, application, **changes)
    assert refused.value.code.value == "visas.invalid"
    assert refused.value.field == field
    with schema_context(mission_a.schema_name):
        assert visa_numbers_left() == 100


def test_every_date_and_the_stay_are_refused_at_once(mission_a):
    # given a case and its numbers
    block(mission_a)
    application = visa_recommended(mission_a)
    # when the consul gives a first day ten years ahead, the calendar's last day, a stay of 400
    # days and no such entries
    with pytest.raises(ApplicationError) as refused:
        issue_in_transaction(
            mission_a, application, valid_from=mission_a.today() + dt.timedelta(days=3660),
            valid_until=dt.date(9999, 12, 31), duration_days=400, entries="7",
        )  # fmt: skip
    # then each is named with its reason, the first day's first, and no number is taken
    assert refused.value.field == "valid_from"
    assert {field: len(reasons) for field, reasons in refused.value.errors.items()} == {
        "valid_from": 1, "valid_until": 1, "entries": 1, "duration_days": 1,
    }  # fmt: skip
    assert "five years" in refused.value.errors["valid_until"][0]
    with schema_context(mission_a.schema_name):
        assert visa_numbers_left() == 100


def test_a_short_stay_visa_ends_three_months_before_the_passport(mission_a):
    block(mission_a)
    today = mission_a.today()
    expires = today + dt.timedelta(days=120)
    application = visa_recommended(mission_a)
    with schema_context(mission_a.schema_name):  # the passport expires sooner than declared
        VisaApplication.objects.filter(pk=application.pk).update(passport_expires_on=expires)
    start = today + dt.timedelta(days=1)
    with pytest.raises(ApplicationError) as refused:
        issue_in_transaction(
            mission_a, application, valid_from=start, valid_until=expires - dt.timedelta(days=60)
        )
    assert refused.value.field == "valid_until"
    assert "three months" in str(refused.value.message)
    issued = issue_in_transaction(
        mission_a, application, valid_from=start, valid_until=expires - dt.timedelta(days=95)
    )
    assert issued.valid_until == expires - dt.timedelta(days=95)


# --- HQ's register ----------------------------------------------------------------------------


def visa_events(mission: Mission) -> list[dict[str, Any]]:
    with schema_context(mission.schema_name):
        return [e for e in outbox_on_the_wire("visas.") if e["topic"] in issued_projector.TOPICS]


def test_the_projector_is_registered_for_its_three_topics():
    # by the visas app's ready(), nothing else (a projector left out is a register never fed)
    mine = [p for p in projectors() if p.name == issued_projector.NAME]
    assert len(mine) == 1
    assert mine[0].topics == {
        "visas.application.issued",
        "visas.visa.annulled",
        "visas.visa.revoked",
    }


def test_an_issued_visa_is_registered_by_its_index_and_its_ending_marks_it(mission_a):
    # given a visa issued at mission A
    block(mission_a)
    issued = decide(mission_a, visa_recommended(mission_a))
    wire = visa_events(mission_a)
    # when HQ applies its event
    events_project(mission="alpha", events=wire)
    # then the register knows it by its number's index, with its validity
    row = IssuedTravelDocument.objects.get()
    assert row.document_index == document_index_of(issued.visa_number)
    assert (row.kind, row.mission, row.seq) == ("visa", "alpha", wire[0]["seq"])
    assert row.valid_until == issued.visa_valid_until
    assert row.issued_on == timezone.localdate(issued.issued_at, mission_a.zone)
    assert not row.is_revoked
    # and once the consul revokes it, the register says so; replays change nothing
    with schema_context(mission_a.schema_name):
        casework.visa_end(
            application=issued, revoke=True, grounds=["purpose"], note="",
            acting_user=make_staff(mission_a, "consul"),
        )  # fmt: skip
    wire = visa_events(mission_a)
    events_project(mission="alpha", events=wire[1:])
    row.refresh_from_db()
    assert row.is_revoked
    assert row.revocation_reason == "revoked: purpose"
    state = list(IssuedTravelDocument.objects.values_list())
    project_again("alpha", wire)
    assert list(IssuedTravelDocument.objects.values_list()) == state


def test_a_broken_payload_is_skipped_and_another_mission_cannot_end_the_visa(mission_a, mission_b):
    block(mission_a)
    issued = decide(mission_a, visa_recommended(mission_a))
    events_project(mission="alpha", events=visa_events(mission_a))
    # a revocation from mission B of A's visa, and an issue without its index
    from sync.services import outbox_event_record

    with schema_context(mission_b.schema_name):
        outbox_event_record(
            topic=VisaTopic.VISA_REVOKED, aggregate_id=1, acting_user=SYSTEM,
            payload={"visa_number_index": issued.visa_number_index, "grounds": ["x"]},
        )  # fmt: skip
        outbox_event_record(
            topic=VisaTopic.APPLICATION_ISSUED, aggregate_id=2, acting_user=SYSTEM,
            payload={"visa_number_index": "V1", "valid_until": "2030-01-01"},
        )  # fmt: skip
    events_project(mission="beta", events=visa_events(mission_b))
    assert not IssuedTravelDocument.objects.get().is_revoked
    reasons = sorted(
        SkippedEvent.objects.filter(projector=issued_projector.NAME).values_list(
            "reason", flat=True
        )
    )
    assert len(reasons) == 2
    assert any("blind index" in reason for reason in reasons)


def test_rebuilding_the_visas_leaves_the_etds_and_the_reverse(mission_a):
    # given an ETD and a visa of mission A in the register, and HQ's central log of both
    block(mission_a)
    decide(mission_a, visa_recommended(mission_a))
    etd_wire = etd_events_record(mission_a, ("issued", issued_payload("E7654321", serial="7F")))
    visa_wire = visa_events(mission_a)
    for wire in (etd_wire, visa_wire):
        central_log("alpha", wire)
        events_project(mission="alpha", events=wire)
    state = sorted(IssuedTravelDocument.objects.values_list("kind", "document_index", "seq"))
    assert [kind for kind, _index, _seq in state] == ["etd", "visa"]
    # when every register of the mission is rebuilt (ETDs' first, then visas')
    registers_rebuild(mission="alpha")
    # then both kinds are there, as before
    assert sorted(IssuedTravelDocument.objects.values_list("kind", "document_index", "seq")) == (
        state
    )
