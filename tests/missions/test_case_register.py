"""HQ's case register (missions/register/): built from the events that open and close the apps'
cases (here the fees app's waivers and refund requests), by `sync.registry.events_project` as
HQ's apply calls it. Each test tries to make it count a case twice, lose one, date it in the
wrong zone, or take a bad payload into its sums."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import IntegrityError, connection, transaction

from missions.register.cases import CaseType, case_projector, case_types
from missions.register.models import CaseDay, CaseMonth, RegisteredCase
from sync.hq.models import SkippedEvent
from sync.registry import ProjectionBatch, events_project, registers_rebuild
from tests.missions.case_events import (
    NOTE_REQUESTED,
    WAIVER_APPROVED,
    WAIVER_REQUESTED,
    Seqs,
    event,
    hq_missions,
)
from tests.registers import central_log, project_again, shuffled_batches

UTC = dt.UTC


def at(day: int, hour: int = 12, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


def register_state(mission: str | None = None) -> tuple[list, list]:
    cases = RegisteredCase.objects.order_by("mission", "case_type", "case_id")
    days = CaseDay.objects.order_by("mission", "case_type", "day")
    if mission:
        cases, days = cases.filter(mission=mission), days.filter(mission=mission)
    case_rows = list(
        cases.values_list(
            "mission", "case_type", "case_id", "opened_at", "opened_day", "opened_seq",
            "closed_at", "closed_day", "outcome", "closed_seq", "last_seq",
        )
    )  # fmt: skip
    day_rows = list(
        days.values_list(
            "mission", "case_type", "day", "opened", "closed", "granted", "refused", "withdrawn",
            "decision_days",
        )
    )  # fmt: skip
    assert_months_are_the_days_summed(day_rows)
    # a day every case has left keeps its row at zero: the same register as no row
    return case_rows, [row for row in day_rows if any(row[3:])]


def assert_months_are_the_days_summed(days: list[tuple]) -> None:
    summed: dict[tuple, list[int]] = {}
    for mission, case_type, day, *sums in days:
        key = (mission, case_type, day.replace(day=1))
        summed[key] = [a + b for a, b in zip(summed.get(key, [0] * 6), sums, strict=True)]
    months = {
        (m.mission, m.case_type, m.month): [
            m.opened, m.closed, m.granted, m.refused, m.withdrawn, m.decision_days,
        ]
        for m in CaseMonth.objects.filter(mission__in={key[0] for key in summed} or {""})
    }  # fmt: skip
    assert {k: v for k, v in months.items() if any(v)} == {
        k: v for k, v in summed.items() if any(v)
    }


def test_fees_registers_its_two_case_types_with_their_labels_and_targets():
    types = {t.code: t for t in case_types()}
    assert str(types["fees.waiver"].label) == "Fee waiver requests"
    assert str(types["fees.refund"].label) == "Refund requests"
    assert (types["fees.waiver"].target_days, types["fees.refund"].target_days) == (5, 10)
    assert types["fees.waiver"].closed_topics == {
        "fees.waiver.approved": "granted",
        "fees.waiver.rejected": "refused",
    }


def test_cases_open_and_close_on_the_missions_own_dates(mission_b, db):
    # given beta (Tokyo, UTC+9) and a mission in New York (UTC-5), and the same events at each:
    # a waiver asked at 20:00 UTC on 2 Nov, approved at 02:00 UTC on 5 Nov; a refund asked then
    west = hq_missions(1, prefix="w")[0]
    assert west.timezone == "America/New_York"
    for code in ("beta", west.code):
        seqs = Seqs()
        seqs.waiver("41", opened=at(2, 20), closed=at(5, 2), outcome="granted")
        seqs.refund("9", opened=at(5, 2))
        # when HQ projects them
        events_project(mission=code, events=seqs.events)
    # then in Tokyo the waiver was asked on 3 Nov and decided on 5 Nov (two days); in New York
    # asked on 2 Nov and decided on 4 Nov (two days); the refund is open at both
    cases, days = register_state()
    assert [(c[0], c[1], c[2], c[4], c[7], c[8]) for c in cases] == [
        ("beta", "fees.refund", "9", dt.date(2026, 11, 5), None, ""),
        ("beta", "fees.waiver", "41", dt.date(2026, 11, 3), dt.date(2026, 11, 5), "granted"),
        ("w01", "fees.refund", "9", dt.date(2026, 11, 4), None, ""),
        ("w01", "fees.waiver", "41", dt.date(2026, 11, 2), dt.date(2026, 11, 4), "granted"),
    ]
    assert days == [
        ("beta", "fees.refund", dt.date(2026, 11, 5), 1, 0, 0, 0, 0, 0),
        ("beta", "fees.waiver", dt.date(2026, 11, 3), 1, 0, 0, 0, 0, 0),
        ("beta", "fees.waiver", dt.date(2026, 11, 5), 0, 1, 1, 0, 0, 2),
        ("w01", "fees.refund", dt.date(2026, 11, 4), 1, 0, 0, 0, 0, 0),
        ("w01", "fees.waiver", dt.date(2026, 11, 2), 1, 0, 0, 0, 0, 0),
        ("w01", "fees.waiver", dt.date(2026, 11, 4), 0, 1, 1, 0, 0, 2),
    ]


def test_a_decision_seen_before_its_request_counts_once_the_request_comes(mission_a):
    # given a waiver's rejection, which reconciliation handed HQ before its request
    seqs = Seqs()
    seqs.waiver("5", opened=at(2), closed=at(3), outcome="refused")
    request, rejection = seqs.events
    events_project(mission="alpha", events=[rejection])
    # then the case is known, closed, and counts nowhere yet
    case = RegisteredCase.objects.get(mission="alpha", case_id="5")
    assert (case.opened_seq, case.outcome, case.closed_seq) == (None, "refused", 2)
    assert register_state("alpha")[1] == []
    # when the request comes
    events_project(mission="alpha", events=[request])
    # then it counts: opened on the 2nd, refused on the 3rd after one day
    assert register_state("alpha")[1] == [
        ("alpha", "fees.waiver", dt.date(2026, 11, 2), 1, 0, 0, 0, 0, 0),
        ("alpha", "fees.waiver", dt.date(2026, 11, 3), 0, 1, 0, 1, 0, 1),
    ]


def _many_cases(rng: random.Random) -> list[dict]:
    seqs = Seqs()
    for n in range(40):
        opened = at(1 + rng.randrange(20), rng.randrange(24))
        closed = opened + dt.timedelta(hours=rng.randrange(1, 400)) if n % 3 else None
        outcome = rng.choice(["granted", "refused"])
        if n % 2:
            seqs.waiver(f"w{n}", opened, closed, outcome)
        else:
            seqs.refund(f"r{n}", opened, closed, outcome)
    # a case decided twice (a correction): the later decision wins
    seqs.waiver("twice", at(3), at(4), "granted")
    seqs.add(WAIVER_APPROVED.replace("approved", "rejected"), "twice", at(6))
    # a case asked twice (a replayed request under another seq): the first request is its opening
    seqs.add(NOTE_REQUESTED, "r0", at(25))
    return seqs.events


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_order_and_any_replay_give_the_register_the_ordered_events_give(mission_a, seed):
    # given a mission's case events, projected once in order
    rng = random.Random(seed)
    events = _many_cases(rng)
    events_project(mission="alpha", events=events)
    expected = register_state("alpha")
    assert any(row[5] for row in expected[1])  # some decision days were summed
    twice = next(c for c in expected[0] if c[2] == "twice")
    assert (twice[8], twice[7]) == ("refused", dt.date(2026, 11, 6))
    r0 = next(c for c in expected[0] if c[2] == "r0")
    assert r0[5] == 1  # its first request
    RegisteredCase.objects.all().delete()
    CaseDay.objects.all().delete()
    CaseMonth.objects.all().delete()
    # when they come shuffled, some twice, in batches, then replayed
    for batch in shuffled_batches(events, rng):
        events_project(mission="alpha", events=batch)
    project_again("alpha", events)
    # then the register is the same
    assert register_state("alpha") == expected


def test_a_rebuild_from_the_central_log_equals_the_incremental_register(mission_a):
    # given the register built batch by batch, and HQ's central log of the same events
    events = _many_cases(random.Random(7))
    central_log("alpha", events)
    for start in range(0, len(events), 9):
        events_project(mission="alpha", events=events[start : start + 9])
    incremental = register_state("alpha")
    # and a row spoilt by hand
    RegisteredCase.objects.filter(mission="alpha").update(last_seq=0)
    # when every register of the mission is rebuilt
    read = registers_rebuild(mission="alpha")
    # then the case register reads every event again and is what it was
    assert read["fees.cases"] == len(events)
    assert register_state("alpha") == incremental


def test_a_rebuild_leaves_another_apps_case_types_alone(mission_a):
    # given a visa case type of another app, with a case at alpha
    visas = case_projector(
        name="tests.visas",
        case_types=[
            CaseType(
                code="tests.visa", label="Visa applications", target_days=15,
                opened_topics=frozenset({"tests.visa.applied"}),
                closed_topics={"tests.visa.issued": "granted"},
            )
        ],
    )  # fmt: skip
    visas.apply(ProjectionBatch("alpha", [event(1, "tests.visa.applied", "v1", at(2))]))
    seqs = Seqs()
    seqs.waiver("1", at(3))
    events = [dict(e, seq=e["seq"] + 1) for e in seqs.events]
    central_log("alpha", events)
    events_project(mission="alpha", events=events)
    # when the fees cases are rebuilt
    registers_rebuild(mission="alpha")
    # then the visa case is still there
    assert set(RegisteredCase.objects.values_list("case_type", "case_id")) == {
        ("tests.visa", "v1"),
        ("fees.waiver", "1"),
    }
    assert CaseDay.objects.get(case_type="tests.visa").opened == 1


def test_a_topic_may_belong_to_one_case_type_only():
    twice = CaseType(
        code="b", label="B", target_days=1,
        opened_topics=frozenset({"fees.waiver.requested"}), closed_topics={},
    )  # fmt: skip
    with pytest.raises(ValueError, match="more than one case type"):
        case_projector(name="x", case_types=[case_types()[0], twice])
    with pytest.raises(ValueError, match="outcome"):
        CaseType(
            code="c", label="C", target_days=1, opened_topics=frozenset({"c.open"}),
            closed_topics={"c.done": "maybe"},
        )  # fmt: skip


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {day} SET granted = granted + 1",  # closed no longer granted + refused + ...
        "UPDATE {day} SET opened = -1",
        "UPDATE {day} SET decision_days = -3",
        "UPDATE {month} SET month = month + 1",  # not a month's first day
        "UPDATE {case} SET outcome = '' WHERE closed_seq > 0",
        "UPDATE {case} SET opened_at = NULL WHERE opened_seq IS NOT NULL",
    ],
)
def test_the_database_refuses_sums_no_set_of_cases_could_give(mission_a, sql):
    seqs = Seqs()
    seqs.waiver("1", at(2), at(4), "granted")
    events_project(mission="alpha", events=seqs.events)
    tables = {
        "day": CaseDay._meta.db_table,
        "month": CaseMonth._meta.db_table,
        "case": RegisteredCase._meta.db_table,
    }
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.format(**tables))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"seq": "12"}, "seq is not a positive integer"),
        ({"seq": True}, "seq is not a positive integer"),
        ({"version": 2}, "version 2"),
        ({"aggregate_id": ""}, "aggregate_id"),
        ({"aggregate_id": "a\x00b"}, "aggregate_id"),
        ({"payload": ["not", "an", "object"]}, "payload"),
        ({"occurred_at": "2026-11-02"}, "occurred_at"),
        ({"occurred_at": "2026-11-02T10:00:00"}, "occurred_at has no time zone"),
        ({"occurred_at": "0001-01-01T00:00:00+00:00"}, "occurred_at is out of range"),
        ({"occurred_at": 1700000000}, "occurred_at"),
    ],
)
def test_an_event_that_breaks_its_contract_is_skipped_and_the_rest_applied(
    mission_a, change, reason
):
    # given a batch: a good request, a broken one, a good decision
    good = event(10, WAIVER_REQUESTED, "1", at(2))
    broken = {**event(11, WAIVER_REQUESTED, "2", at(2)), **change}
    decision = event(12, WAIVER_APPROVED, "1", at(3))
    # when HQ projects it
    events_project(mission="alpha", events=[good, broken, decision])
    # then the broken event is recorded with the reason, once, and the others are applied
    events_project(mission="alpha", events=[broken])
    skipped = SkippedEvent.objects.get(projector="fees.cases", mission="alpha")
    assert reason in skipped.reason
    assert list(RegisteredCase.objects.values_list("case_id", "outcome")) == [("1", "granted")]
