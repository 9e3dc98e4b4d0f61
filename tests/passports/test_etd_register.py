"""HQ's register of issued emergency travel documents (`passports/register/etd_projector.py`),
built from the `passports.etd.issued` and `passports.etd.revoked` events a mission records,
the way HQ's apply hands them over. Each test tries to make it keep two rows for one number,
let one mission revoke another's document, change on a replay, or take a broken payload in."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.utils import timezone

from passports.register import etd_projector
from passports.register.etd_projector import NAME, document_index_of
from passports.register.seals import IssuedTravelDocument
from sync.hq.models import SkippedEvent
from sync.registry import events_project, projectors, registers_rebuild
from tests.passports.seals import etd_events_record, issued_payload
from tests.registers import central_log, project_again, shuffled_batches

pytestmark = pytest.mark.django_db

SERIAL = "7F3A01"


def register_state() -> list[tuple]:
    return list(
        IssuedTravelDocument.objects.order_by("document_index").values_list(
            "document_index", "kind", "mission", "seq", "signer_serial", "issued_on",
            "valid_until", "revoked_at", "revoked_seq", "revocation_reason",
        )
    )  # fmt: skip


def skipped(mission: str) -> dict[int, str]:
    return dict(
        SkippedEvent.objects.filter(projector=NAME, mission=mission).values_list("seq", "reason")
    )


def test_the_projector_is_registered_for_its_two_topics():
    mine = [projector for projector in projectors() if projector.name == NAME]
    assert len(mine) == 1
    assert mine[0].topics == {"passports.etd.issued", "passports.etd.revoked"}
    assert mine[0].rebuild is not None


def test_an_issued_etd_is_registered_by_its_index_never_its_number(mission_a):
    # given an ETD issued at mission A
    wire = etd_events_record(mission_a, ("issued", issued_payload("E7654321", serial=SERIAL)))
    # when HQ applies its event
    events_project(mission="alpha", events=wire)
    # then the register holds it under its number's blind index, with the event's facts
    row = IssuedTravelDocument.objects.get()
    assert row.document_index == document_index_of("E7654321")
    assert (row.kind, row.mission, row.seq, row.signer_serial) == (
        "etd",
        "alpha",
        wire[0]["seq"],
        SERIAL,
    )
    assert row.valid_until == timezone.now().date() + dt.timedelta(days=30)
    assert row.issued_at == dt.datetime.fromisoformat(wire[0]["occurred_at"])
    assert not row.is_revoked
    # and the number is nowhere in the table
    with connection.cursor() as cursor:
        cursor.execute("SELECT t::text FROM passports_register_issuedtraveldocument t")
        assert all("E7654321" not in text for (text,) in cursor.fetchall())


def test_a_revocation_at_the_mission_reaches_the_register(mission_a):
    wire = etd_events_record(
        mission_a,
        ("issued", issued_payload("E1", serial=SERIAL)),
        ("revoked", {"number": "E1", "reason": "Holder found their passport"}),
    )
    events_project(mission="alpha", events=wire)
    row = IssuedTravelDocument.objects.get()
    assert row.is_revoked
    assert row.revoked_seq == wire[1]["seq"]
    assert row.revocation_reason == "Holder found their passport"


def test_the_first_revocation_stays_and_replays_change_nothing(mission_a):
    wire = etd_events_record(
        mission_a,
        ("issued", issued_payload("E1", serial=SERIAL)),
        ("issued", issued_payload("E2", serial=SERIAL)),
        ("revoked", {"number": "E1", "reason": "first"}),
        ("revoked", {"number": "E1", "reason": "second"}),
    )
    events_project(mission="alpha", events=wire)
    state = register_state()
    # replayed whole, one by one, in halves, and shuffled into batches
    project_again("alpha", wire)
    for batch in shuffled_batches(wire, random.Random(7)):
        events_project(mission="alpha", events=batch)
    assert register_state() == state
    assert (
        IssuedTravelDocument.objects.get(document_index=document_index_of("E1")).revocation_reason
        == "first"
    )
    assert len(state) == 2


def test_a_mission_cannot_revoke_or_reissue_another_missions_document(mission_a, mission_b):
    # given E1 issued at A
    wire_a = etd_events_record(mission_a, ("issued", issued_payload("E1", serial=SERIAL)))
    events_project(mission="alpha", events=wire_a)
    state = register_state()
    # when B says it issued E1 too, and revokes it
    wire_b = etd_events_record(
        mission_b,
        ("issued", issued_payload("E1", serial="ABC")),
        ("revoked", {"number": "E1", "reason": "mine now"}),
    )
    events_project(mission="beta", events=wire_b)
    # then A's row is untouched and both of B's events are skipped with their reasons
    assert register_state() == state
    reasons = skipped("beta")
    assert set(reasons) == {wire_b[0]["seq"], wire_b[1]["seq"]}
    assert "already" in reasons[wire_b[0]["seq"]]
    assert "issued no document" in reasons[wire_b[1]["seq"]]


def test_a_number_issued_twice_at_one_mission_keeps_the_first(mission_a):
    wire = etd_events_record(
        mission_a,
        ("issued", issued_payload("E1", serial=SERIAL, days=10)),
        ("issued", issued_payload("E1", serial=SERIAL, days=20)),
    )
    events_project(mission="alpha", events=wire)
    project_again("alpha", wire)
    row = IssuedTravelDocument.objects.get()
    assert row.seq == wire[0]["seq"]
    assert row.valid_until == timezone.now().date() + dt.timedelta(days=10)
    assert set(skipped("alpha")) == {wire[1]["seq"]}


def test_a_revocation_of_an_unknown_number_is_skipped(mission_a):
    wire = etd_events_record(mission_a, ("revoked", {"number": "E9", "reason": "lost"}))
    events_project(mission="alpha", events=wire)
    assert register_state() == []
    assert list(skipped("alpha")) == [wire[0]["seq"]]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"number": "e1"}, "number"),
        ({"number": "E12345678X"}, "number"),
        ({"number": 12345}, "number"),
        ({"number": "E 1"}, "number"),
        ({"valid_until": "2026-13-01"}, "valid_until"),
        ({"valid_until": None}, "valid_until"),
        ({"issued_on": "yesterday"}, "issued_on"),
        ({"valid_until": "2000-01-01"}, "valid_until"),  # before it was issued
        ({"valid_until": "2999-01-01"}, "valid_until"),  # an ETD valid for centuries
        ({"signer_serial": "7f3a01"}, "signer_serial"),
        ({"signer_serial": "07F3"}, "signer_serial"),
        ({"signer_serial": "F" * 41}, "signer_serial"),
        ({"signer_serial": None}, "signer_serial"),
    ],
)
def test_an_issue_that_breaks_the_contract_is_skipped_with_its_reason(mission_a, change, reason):
    payload = {**issued_payload("E1", serial=SERIAL), **change}
    wire = etd_events_record(mission_a, ("issued", payload))
    events_project(mission="alpha", events=wire)
    assert register_state() == []
    assert reason in skipped("alpha")[wire[0]["seq"]]


@pytest.mark.parametrize(
    "payload",
    [{"number": "E1"}, {"number": "E1", "reason": ""}, {"number": "E1", "reason": "x" * 301}],
)
def test_a_revocation_counts_whatever_its_reason_looks_like(mission_a, payload):
    # a document revoked at its mission must never read VALID at HQ because of its words
    wire = etd_events_record(mission_a, ("issued", issued_payload("E1", serial=SERIAL)))
    events_project(mission="alpha", events=wire)
    wire = etd_events_record(mission_a, ("revoked", payload))
    events_project(mission="alpha", events=wire[1:])
    row = IssuedTravelDocument.objects.get()
    assert row.is_revoked
    assert len(row.revocation_reason) <= 300
    assert wire[1]["seq"] not in skipped("alpha")


def test_another_version_is_skipped_and_the_rest_of_the_batch_applied(mission_a):
    wire = etd_events_record(
        mission_a,
        ("issued", issued_payload("E1", serial=SERIAL)),
        ("issued", issued_payload("E2", serial=SERIAL)),
    )
    wire[0] = {**wire[0], "version": 2}
    events_project(mission="alpha", events=wire)
    assert [row[0] for row in register_state()] == [document_index_of("E2")]
    assert "version" in skipped("alpha")[wire[0]["seq"]]


def test_a_rebuild_from_the_central_log_gives_the_same_register(mission_a):
    wire = etd_events_record(
        mission_a,
        ("issued", issued_payload("E1", serial=SERIAL)),
        ("issued", issued_payload("E2", serial=SERIAL)),
        ("revoked", {"number": "E2", "reason": "Damaged"}),
    )
    central_log("alpha", wire)
    events_project(mission="alpha", events=wire)
    state = register_state()
    # when the register is rebuilt (after wiping it behind the projector's back)
    IssuedTravelDocument.objects.all().delete()
    read = registers_rebuild(mission="alpha")
    # then it is as it was
    assert read[NAME] == 3
    assert register_state() == state


def test_a_batch_costs_a_few_statements_whatever_its_length(
    mission_a, django_assert_max_num_queries
):
    events = [("issued", issued_payload(f"E{n}", serial=SERIAL)) for n in range(40)]
    events += [("revoked", {"number": f"E{n}", "reason": "Damaged"}) for n in range(0, 40, 3)]
    wire = etd_events_record(mission_a, *events)
    with django_assert_max_num_queries(6):
        etd_projector.issued_documents_project(
            etd_projector.ProjectionBatch(mission="alpha", events=wire)
        )
    assert IssuedTravelDocument.objects.filter(revoked_at__isnull=False).count() == 14
