"""HQ's register of visa cases, built from the missions' visa events (`visas.register.projector`)
and read by the screening (`visas.register.selectors.refusals_for_screening`)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection

from missions.models import Mission
from sync.hq.models import SkippedEvent
from sync.registry import events_project, projectors
from tests.registers import project_again, shuffled_batches
from tests.visas.reference import (
    REFUSAL_GROUNDS,
    case_steps,
    moment,
    passport_index_of,
    to_hq,
    visa_events_record,
)
from visas.events import VisaTopic
from visas.matching import screen
from visas.register.models import VisaCase
from visas.register.projector import NAME, visa_cases_rebuild
from visas.register.selectors import case_find, refusals_for_screening

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 10, 1)


def _row(mission: Mission, application_id: int) -> tuple[object, ...]:
    case = VisaCase.objects.get(mission=mission.code, application_id=application_id)
    return (
        case.reference,
        case.category,
        case.nationality,
        case.visa_type,
        case.submitted_at,
        case.admissible_at,
        case.decision_due_on,
        case.decided_at,
        case.outcome,
        case.grounds,
        case.surname,
        case.given_names,
        case.birth_date,
        case.passport_index,
        case.seq,
    )


def test_the_projector_is_registered() -> None:
    assert NAME in {projector.name for projector in projectors()}


def test_a_refused_case_is_in_the_register_with_who_it_was_for(mission_a: Mission) -> None:
    events = visa_events_record(
        mission_a,
        7,
        case_steps(
            submitted=DAY,
            admissible=DAY + dt.timedelta(days=2),
            decided=DAY + dt.timedelta(days=10),
            outcome="refused",
            category="business",
            nationality="UZB",
        ),
    )
    assert "surname" not in str(events)  # the applicant travels sealed only
    to_hq(mission_a, events)
    case = VisaCase.objects.get(mission="alpha", application_id=7)
    assert case.reference == "V000000007"
    assert case.category == "business"
    assert case.nationality == "UZB"
    assert case.outcome == "refused"
    assert case.grounds == REFUSAL_GROUNDS
    assert case.admissible_at == dt.datetime(2026, 10, 3, 10, tzinfo=dt.UTC)
    assert case.decision_due_on == dt.date(2026, 10, 18)
    assert case.decided_at == dt.datetime(2026, 10, 11, 10, tzinfo=dt.UTC)
    assert (case.surname, case.given_names, case.birth_date) == (
        "SMITH",
        "JOHN",
        dt.date(1985, 3, 14),
    )
    assert case.passport_index == passport_index_of("123456789")
    # kept encrypted
    with connection.cursor() as cursor:
        cursor.execute("SELECT surname::text FROM visas_register_visacase WHERE id = %s", [case.pk])
        assert "SMITH" not in cursor.fetchone()[0]
    assert case_find(mission="alpha", reference="V000000007") == case
    assert case_find(mission="alpha", application_id=7) == case
    assert case_find(mission="beta", application_id=7) is None


def test_replays_and_batches_in_any_split_give_the_same_row(mission_a: Mission) -> None:
    events = visa_events_record(
        mission_a,
        8,
        [
            *case_steps(submitted=DAY, admissible=DAY + dt.timedelta(days=1)),
            (VisaTopic.APPLICATION_EXTENDED, {"decision_due_on": "2026-11-10"}),
            *case_steps(submitted=DAY, decided=DAY + dt.timedelta(days=20), outcome="issued")[1:],
        ],
    )
    events += visa_events_record(
        mission_a, 80, case_steps(submitted=DAY, decided=DAY, outcome="withdrawn")
    )
    to_hq(mission_a, events)
    first = _row(mission_a, 8)
    assert first[6] == dt.date(2026, 11, 10)  # extended
    assert first[8] == "issued"
    project_again("alpha", events)
    assert _row(mission_a, 8) == first
    rng = random.Random(12)
    for _ in range(5):
        VisaCase.objects.all().delete()
        for batch in shuffled_batches(events, rng):
            events_project(mission="alpha", events=batch)
        # batches arrive in seq order per mission; a replayed older batch changes nothing
        events_project(mission="alpha", events=events)
        assert _row(mission_a, 8)[8] == "issued"
        assert _row(mission_a, 80)[8] == "withdrawn"
    # a rebuild from HQ's central log gives the same row
    VisaCase.objects.all().delete()
    assert visa_cases_rebuild(mission="alpha") == len(events)
    assert _row(mission_a, 8) == first


def test_an_older_event_after_a_newer_changes_nothing(mission_a: Mission) -> None:
    events = visa_events_record(
        mission_a,
        9,
        case_steps(
            submitted=DAY,
            admissible=DAY + dt.timedelta(days=1),
            decided=DAY + dt.timedelta(days=5),
            outcome="refused",
        ),
    )
    submitted, admissible, refused = events
    to_hq(mission_a, [submitted, refused])  # the admissible event arrives last
    assert _row(mission_a, 9)[8] == "refused"
    events_project(mission="alpha", events=[admissible])
    case = VisaCase.objects.get(mission="alpha", application_id=9)
    assert case.outcome == "refused"
    assert case.admissible_at is None  # older than what the row holds
    assert case.seq == refused["seq"]


def test_a_decision_whose_submission_hq_never_saw_makes_the_row(mission_a: Mission) -> None:
    events = visa_events_record(
        mission_a, 10, case_steps(submitted=DAY, decided=DAY, outcome="issued")
    )
    to_hq(mission_a, events[1:])
    case = VisaCase.objects.get(mission="alpha", application_id=10)
    assert case.outcome == "issued"
    assert case.submitted_at == dt.datetime.fromisoformat(events[1]["occurred_at"])


def test_an_appeal_allowed_takes_the_refusal_away_and_a_new_decision_counts(
    mission_a: Mission,
) -> None:
    events = visa_events_record(
        mission_a,
        11,
        [
            *case_steps(submitted=DAY, decided=DAY, outcome="refused"),
            (VisaTopic.APPEAL_DECIDED, {"upheld": False}),
        ],
    )
    to_hq(mission_a, events)
    case = VisaCase.objects.get(mission="alpha", application_id=11)
    assert (case.outcome, case.decided_at, case.grounds) == ("", None, [])
    assert refusals_for_screening() == []
    later = visa_events_record(
        mission_a,
        11,
        case_steps(submitted=DAY, decided=DAY + dt.timedelta(days=3), outcome="issued")[1:],
    )
    to_hq(mission_a, later)
    assert VisaCase.objects.get(mission="alpha", application_id=11).outcome == "issued"


def test_an_upheld_appeal_and_an_annulment(mission_a: Mission) -> None:
    events = visa_events_record(
        mission_a,
        12,
        [
            *case_steps(submitted=DAY, decided=DAY, outcome="refused"),
            (VisaTopic.APPEAL_DECIDED, {"upheld": True}),
        ],
    )
    events += visa_events_record(
        mission_a,
        13,
        [
            *case_steps(submitted=DAY, decided=DAY, outcome="issued"),
            (
                VisaTopic.VISA_ANNULLED,
                {"ended_at": moment(DAY + dt.timedelta(days=9)), "grounds": ["false_document"]},
            ),
        ],
    )
    to_hq(mission_a, events)
    assert VisaCase.objects.get(mission="alpha", application_id=12).outcome == "refused"
    annulled = VisaCase.objects.get(mission="alpha", application_id=13)
    assert annulled.outcome == "annulled"
    assert annulled.grounds == ["false_document"]
    assert annulled.decided_at == dt.datetime(2026, 10, 1, 10, tzinfo=dt.UTC)  # the decision's


def test_a_refusal_at_one_mission_is_found_by_anothers_screening(
    mission_a: Mission, mission_b: Mission
) -> None:
    refused = visa_events_record(
        mission_a,
        14,
        case_steps(
            submitted=DAY,
            decided=DAY,
            outcome="refused",
            applicant={
                "surname": "ALIEV",
                "given_names": "MUKHAMMAD",
                "birth_date": "1979-06-02",
                "passport_index": passport_index_of("AB1234567"),
            },
            nationality="UZB",
        ),
    )
    to_hq(mission_a, refused)
    # the same person applies at beta: beta's screening, in beta's schema, reads HQ's register
    to_hq(mission_b, visa_events_record(mission_b, 1, case_steps(submitted=DAY)))
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants
    from django_tenants.utils import schema_context

    with schema_context(mission_b.schema_name):
        records = refusals_for_screening(now=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert [(r.mission, r.reference) for r in records] == [("alpha", "V000000014")]
    record = records[0]
    assert record.passport_index == passport_index_of("AB1234567")
    assert record.grounds == tuple(REFUSAL_GROUNDS)
    matches = screen(
        surname="ALIYEV",
        given_names="MUHAMMAD",
        birth_date=dt.date(1979, 6, 2),
        nationality="UZB",
        candidates=[r.candidate() for r in records],
    )
    assert [m.candidate.reference for m in matches] == ["alpha/V000000014"]
    # older than five years, or the application itself, is left out
    assert refusals_for_screening(now=dt.datetime(2031, 10, 2, tzinfo=dt.UTC)) == []
    assert refusals_for_screening(exclude=("alpha", 14)) == []


def test_an_event_that_breaks_the_contract_is_skipped_with_its_reason(mission_a: Mission) -> None:
    events = visa_events_record(
        mission_a,
        15,
        [
            (VisaTopic.APPLICATION_SUBMITTED, {"submitted_at": "yesterday"}),
            (VisaTopic.APPLICATION_REFUSED, {"decided_at": moment(DAY), "grounds": []}),
            (
                VisaTopic.APPLICATION_REFUSED,
                {"decided_at": moment(DAY), "grounds": ["purpose", "not_a_ground"]},
            ),
        ],
    )
    to_hq(mission_a, events)
    assert not VisaCase.objects.filter(application_id=15).exists()
    reasons = set(
        SkippedEvent.objects.filter(projector=NAME, mission="alpha").values_list(
            "reason", flat=True
        )
    )
    assert reasons == {
        "submitted_at is not a time",
        "a refusal has no grounds",
        "grounds not in the standard list: not_a_ground",
    }


def test_a_sealed_applicant_hq_cannot_open_leaves_the_facts(mission_a: Mission) -> None:
    events = visa_events_record(
        mission_a, 16, case_steps(submitted=DAY, decided=DAY, outcome="refused")
    )
    events[1]["payload"]["sealed"]["ciphertext"] = events[0]["payload"].get("x", "00")
    to_hq(mission_a, events)
    case = VisaCase.objects.get(mission="alpha", application_id=16)
    assert case.outcome == "refused"
    assert case.surname == ""


def test_visa_applications_are_cases_in_hq_monitorings_register(mission_a: Mission) -> None:
    from missions.register.models import RegisteredCase

    events = visa_events_record(
        mission_a,
        17,
        case_steps(
            submitted=DAY,
            admissible=DAY + dt.timedelta(days=1),
            decided=DAY + dt.timedelta(days=4),
            outcome="refused",
        ),
    )
    # not registered with sync yet (visas/apps.py): its projector applied as sync would
    from sync.registry import ProjectionBatch
    from visas.register.projector import monitoring_cases_projector

    projector = monitoring_cases_projector()
    to_hq(mission_a, events)
    projector.apply(
        ProjectionBatch(
            mission="alpha", events=[e for e in events if e["topic"] in projector.topics]
        )
    )
    case = RegisteredCase.objects.get(mission="alpha", case_type="visas.application")
    assert case.case_id == "17"
    # opened when the file was admissible (the event's time: the legal clock)
    assert case.opened_at == dt.datetime.fromisoformat(events[1]["occurred_at"])
    assert case.outcome == "refused"
