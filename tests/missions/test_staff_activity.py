"""HQ's staff activity register (`StaffActivityDay`): who of a mission's staff acted on a day,
from topics only staff perform, each app naming its own (`activity_projector`); fees' here."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import IntegrityError, connection, transaction

from missions.register.models import StaffActivityDay
from sync.hq.models import SkippedEvent
from sync.registry import events_project, registers_rebuild
from tests.missions.case_events import (
    DAY_CLOSED,
    NOTE_APPROVED,
    NOTE_REQUESTED,
    PAYMENT_SUCCEEDED,
    WAIVER_APPROVED,
    WAIVER_REQUESTED,
    Seqs,
    event,
    hq_missions,
)
from tests.registers import central_log, project_again, shuffled_batches

UTC = dt.UTC


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=UTC)


def activity(mission: str | None = None) -> list[tuple]:
    rows = StaffActivityDay.objects.order_by("mission", "day", "actor_id")
    if mission:
        rows = rows.filter(mission=mission)
    return list(rows.values_list("mission", "day", "actor_id"))


def payment(method: str) -> dict:
    return {"method": method, "amount_minor": 100, "currency": "EUR"}


def test_staff_who_decide_take_money_at_the_counter_or_close_the_day_are_counted(mission_a):
    seqs = Seqs()
    seqs.add(WAIVER_APPROVED, 1, at(2), actor=11)
    seqs.add(NOTE_APPROVED, 2, at(2, 13), actor=11)  # the same person again that day
    seqs.add(PAYMENT_SUCCEEDED, 3, at(2), actor=12, payload=payment("cash"))
    seqs.add(PAYMENT_SUCCEEDED, 4, at(3), actor=13, payload=payment("card"))  # at the terminal
    seqs.add(DAY_CLOSED, 5, at(3), actor=14)
    # not staff activity: a request (a citizen may make it), a card confirmed by the provider
    # (no actor), a bank transfer, anything with no actor
    seqs.add(WAIVER_REQUESTED, 6, at(4), actor=21)
    seqs.add(NOTE_REQUESTED, 7, at(4), actor=21)
    seqs.add(PAYMENT_SUCCEEDED, 8, at(4), actor=None, payload=payment("card"))
    seqs.add(PAYMENT_SUCCEEDED, 9, at(4), actor=22, payload=payment("bank_transfer"))
    seqs.add(DAY_CLOSED, 10, at(4), actor=None)
    events_project(mission="alpha", events=seqs.events)
    assert activity() == [
        ("alpha", dt.date(2026, 11, 2), 11),
        ("alpha", dt.date(2026, 11, 2), 12),
        ("alpha", dt.date(2026, 11, 3), 13),
        ("alpha", dt.date(2026, 11, 3), 14),
    ]
    assert not SkippedEvent.objects.filter(projector="fees.activity").exists()  # no actor: no fault


def test_the_day_is_the_missions_own(mission_b, db):
    # given beta (Tokyo) and a New York mission, the same person acting at 02:00 UTC on the 5th
    west = hq_missions(1, prefix="w")[0]
    for code in ("beta", west.code):
        events_project(mission=code, events=[event(1, WAIVER_APPROVED, 1, at(5, 2), actor=11)])
    # then it is the 5th in Tokyo and the 4th in New York
    assert activity() == [
        ("beta", dt.date(2026, 11, 5), 11),
        ("w01", dt.date(2026, 11, 4), 11),
    ]


def test_any_order_replay_and_rebuild_give_the_same_rows(mission_a):
    rng = random.Random(3)
    seqs = Seqs()
    for n in range(60):
        seqs.add(WAIVER_APPROVED, n, at(1 + rng.randrange(10), rng.randrange(24)),
                 actor=rng.choice([11, 12, 13, None]))  # fmt: skip
    events_project(mission="alpha", events=seqs.events)
    expected = activity("alpha")
    assert len(expected) > 10
    StaffActivityDay.objects.all().delete()
    for batch in shuffled_batches(seqs.events, rng):
        events_project(mission="alpha", events=batch)
    project_again("alpha", seqs.events)
    assert activity("alpha") == expected
    # and built again from HQ's central log
    central_log("alpha", seqs.events)
    StaffActivityDay.objects.filter(mission="alpha").first().delete()  # a row lost
    read = registers_rebuild(mission="alpha")
    assert read["fees.activity"] == 60
    assert activity("alpha") == expected


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"actor_id": "11"}, "actor_id"),
        ({"actor_id": True}, "actor_id"),
        ({"actor_id": 0}, "actor_id"),
        ({"actor_id": 2**64}, "actor_id"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"seq": -1}, "seq"),
    ],
)
def test_an_event_with_a_broken_actor_or_time_is_skipped(mission_a, change, reason):
    good = event(1, WAIVER_APPROVED, 1, at(2), actor=11)
    broken = {**event(2, WAIVER_APPROVED, 2, at(2), actor=12), **change}
    events_project(mission="alpha", events=[good, broken])
    assert activity() == [("alpha", dt.date(2026, 11, 2), 11)]
    assert reason in SkippedEvent.objects.get(projector="fees.activity").reason


def test_the_database_refuses_a_second_row_for_a_person_and_day(mission_a):
    events_project(mission="alpha", events=[event(1, WAIVER_APPROVED, 1, at(2), actor=11)])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {StaffActivityDay._meta.db_table} (mission, day, actor_id)"
            " VALUES ('alpha', '2026-11-02', 11)"
        )


def test_a_payment_whose_method_is_no_text_is_skipped_not_a_blocked_chain(mission_a):
    from sync.hq.models import SkippedEvent
    from sync.registry import events_project

    # a signed bundle whose payment names its method as a list (a broken or hostile mission)
    events = [
        {
            "seq": 1,
            "topic": "fees.payment.succeeded",
            "aggregate_type": "payment",
            "aggregate_id": "1",
            "payload": {"method": ["cash"]},
            "version": 1,
            "actor_id": 6,
            "occurred_at": "2026-12-01T10:00:00Z",
        }
    ]
    # applies without an error: the staff activity register counts no one
    events_project(mission="alpha", events=events)
    from missions.register.models import StaffActivityDay

    assert not StaffActivityDay.objects.filter(mission="alpha").exists()
    # and the revenue register, which cannot read it, records it as skipped, with the reason
    assert SkippedEvent.objects.filter(mission="alpha", seq=1, projector="fees.revenue").exists()


def test_a_projector_that_fails_in_python_skips_its_batch(mission_a, monkeypatch):
    from sync import registry
    from sync.hq.models import SkippedEvent

    def broken(batch):  # type: ignore[no-untyped-def]
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setitem(
        registry._projectors,
        "test.broken",
        registry.Projector(name="test.broken", topics=frozenset({"test.thing.done"}), apply=broken),
    )
    event = {
        "seq": 7,
        "topic": "test.thing.done",
        "payload": {},
        "occurred_at": "2026-12-01T10:00:00Z",
    }
    registry.events_project(mission="alpha", events=[event])
    skipped = SkippedEvent.objects.get(mission="alpha", seq=7, projector="test.broken")
    assert skipped.reason == "the projector refused: TypeError"
