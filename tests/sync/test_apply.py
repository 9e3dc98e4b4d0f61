"""HQ applies a mission's bundles once, whole, in chain order, and refuses what it cannot trust.

Every test attacks one rule: replay, one flipped byte, reordering, another mission's key, a
revoked key, a lost acknowledgement, two deliveries at once, bodies built to crash a parser,
raw SQL against the central log.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InternalError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from psycopg import sql as psycopg_sql

from sync import bundle as frame
from sync import keys, registry
from sync.bundle import SignedBundle, canonical
from sync.error_codes import BundleRefusal
from sync.hq import apply
from sync.hq.apply import bundle_receive, frames_receive, kind_handler_register
from sync.hq.models import CentralEvent, HeldBundle, MissionKey, MissionLink, RefusedBundle
from sync.models import KeyPurpose
from tests.sync.bundles import MissionChain, event_make, events_bundle, utc_text


@pytest.fixture
def chain(db) -> MissionChain:
    return MissionChain.register()


def hq_state(code: str) -> tuple[list[tuple[Any, ...]], dict[str, Any] | None, list[int]]:
    """What HQ holds of a mission: its events, its link's chain position, the bundles held."""
    events = list(
        CentralEvent.objects.filter(mission=code).order_by("seq").values_list(
            "seq", "topic", "aggregate_type", "aggregate_id", "payload", "version", "actor_id",
            "occurred_at", "bundle_number",
        )
    )  # fmt: skip
    link = (
        MissionLink.objects.filter(mission=code)
        .values("last_seq", "last_bundle_number", "last_bundle_hash", "last_bundle_created_at")
        .first()
    )
    held = list(HeldBundle.objects.filter(mission=code).values_list("number", flat=True))
    return events, link, held


def refusals(code: str = "") -> list[str]:
    rows = RefusedBundle.objects.order_by("received_at", "pk")
    if code:
        rows = rows.filter(mission=code)
    return list(rows.values_list("reason", flat=True))


def resigned(chain: MissionChain, content: dict[str, Any]) -> SignedBundle:
    return frame.bundle_sign(content, chain.private_seed)


# --- In order, and again ----------------------------------------------------------------------


def test_bundles_in_order_are_applied_and_the_link_follows(chain):
    # given two bundles of a mission HQ has a key for
    first, second = chain.next_bundle(3), chain.next_bundle(2)
    # when they arrive in order
    one, two = bundle_receive(first), bundle_receive(second)
    # then every event is in the central log once, and the link is at the second bundle
    assert one == {
        "mission": chain.code, "acked_seq": 3, "want": [], "refused": None, "detail": "",
        "held": False, "applied": 3,
    }  # fmt: skip
    assert (two["acked_seq"], two["applied"]) == (5, 2)
    events, link, held = hq_state(chain.code)
    assert [row[0] for row in events] == [1, 2, 3, 4, 5]
    assert [row[8] for row in events] == [1, 1, 1, 2, 2]
    sent = second.content["events"][0]
    assert events[3][1:7] == (
        sent["topic"], sent["aggregate_type"], sent["aggregate_id"], sent["payload"],
        sent["version"], sent["actor_id"],
    )  # fmt: skip
    assert utc_text(events[3][7]) == sent["occurred_at"]
    assert (link["last_seq"], link["last_bundle_number"], link["last_bundle_hash"]) == (
        5, 2, second.hash,
    )  # fmt: skip
    assert utc_text(link["last_bundle_created_at"]) == second.header["created_at"]
    assert held == []
    assert refusals(chain.code) == []


def test_a_bundle_replayed_changes_nothing(chain):
    # given a bundle applied
    first = chain.next_bundle(4)
    bundle_receive(first)
    before = hq_state(chain.code)
    contact = MissionLink.objects.get(mission=chain.code).last_contact_at
    # when it arrives again (a replay, or a resend after the acknowledgement was lost)
    again = bundle_receive(SignedBundle.from_bytes(first.to_bytes()))
    # then the answer is the same high-water mark, nothing is applied, nothing is refused
    assert (again["acked_seq"], again["applied"], again["refused"]) == (4, 0, None)
    assert hq_state(chain.code) == before
    assert refusals(chain.code) == []
    # and the contact is recorded all the same
    assert MissionLink.objects.get(mission=chain.code).last_contact_at > contact


def test_an_older_bundle_resent_after_newer_ones_is_a_duplicate(chain):
    # given bundles 1 to 3 applied (the acknowledgement of 1 lost on the way)
    bundles = [chain.next_bundle(2) for _ in range(3)]
    for signed in bundles:
        bundle_receive(signed)
    before = hq_state(chain.code)
    # when the mission sends 1 again
    answer = bundle_receive(bundles[0])
    # then HQ answers with where it stands, and changes nothing
    assert (answer["acked_seq"], answer["applied"], answer["refused"]) == (6, 0, None)
    assert hq_state(chain.code) == before


def test_projectors_get_each_event_once_in_seq_order(chain):
    # given a projector of the probe topic
    seen: list[tuple[str, list[int]]] = []
    registry.projector_register(
        name="tests.apply.probe", topics=["tests.probe.happened"],
        apply=lambda batch: seen.append((batch.mission, [e["seq"] for e in batch.events])),
    )  # fmt: skip
    try:
        first = chain.next_bundle(2)
        other = chain.next_bundle(events=chain.next_events(1, topic="tests.other.happened"))
        # when the bundles arrive, the first one twice
        bundle_receive(first)
        bundle_receive(first)
        bundle_receive(other)
    finally:
        registry._projectors.pop("tests.apply.probe")
    # then the projector saw the first bundle's events once, and none of another topic
    assert seen == [(chain.code, [1, 2])]


def test_a_projector_whose_writes_the_database_refuses_skips_its_batch_not_the_chain(chain):
    # given a projector whose statement the database refuses, and one that works
    seen: list[int] = []

    def refused(batch: registry.ProjectionBatch) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    registry.projector_register(name="tests.apply.refused", topics=["tests.probe.happened"],
                                apply=refused)  # fmt: skip
    registry.projector_register(
        name="tests.apply.works", topics=["tests.probe.happened"],
        apply=lambda batch: seen.extend(e["seq"] for e in batch.events),
    )  # fmt: skip
    try:
        # when two bundles arrive
        one, two = bundle_receive(chain.next_bundle(2)), bundle_receive(chain.next_bundle(1))
    finally:
        registry._projectors.pop("tests.apply.refused")
        registry._projectors.pop("tests.apply.works")
    # then both are applied, the chain goes on, the other projector saw every event
    assert (one["refused"], two["refused"], two["acked_seq"]) == (None, None, 3)
    assert seen == [1, 2, 3]
    # and the refused projector's events are recorded as skipped, with the database's reason
    from sync.hq.models import SkippedEvent

    skipped = SkippedEvent.objects.filter(projector="tests.apply.refused").order_by("seq")
    assert [(s.mission, s.seq) for s in skipped] == [(chain.code, 1), (chain.code, 2),
                                                     (chain.code, 3)]  # fmt: skip
    assert {s.reason for s in skipped} == {"the database refused: DataError"}


def test_the_canonical_check_runs_only_on_bytes_whose_signature_verified(chain, monkeypatch):
    # given the canonical check watched, and a body that is not canonical (spaces) and is not
    # signed by the mission's key
    checked: list[bytes] = []
    real = apply.canonical
    monkeypatch.setattr(apply, "canonical", lambda value: checked.append(b"") or real(value))
    good = chain.next_bundle(2)
    loose = json.dumps(good.content, indent=1).encode()
    # when it arrives, then it is refused for its signature, and never canonicalised
    answer = bundle_receive(SignedBundle(body=loose, signature=good.signature))
    assert answer["refused"] == BundleRefusal.BAD_SIGNATURE.value
    assert checked == []
    # and the same body signed by the mission is refused as not canonical, after the check
    answer = bundle_receive(
        SignedBundle(body=loose, signature=frame.sign(loose, chain.private_seed))
    )
    assert answer["refused"] == BundleRefusal.MALFORMED.value
    assert "canonical" in answer["detail"]
    assert checked == [b""]


@pytest.mark.parametrize("number", ["1.5", "1e3", "NaN", "-Infinity", "1.0"])
def test_a_number_with_a_fraction_is_refused_as_it_is_parsed(chain, monkeypatch, number):
    # given a bundle whose payload holds a fraction, NaN or an infinity (no event carries one)
    monkeypatch.setattr(apply, "canonical", lambda value: pytest.fail("canonicalised"))
    good = chain.next_bundle(1)
    body = good.body.replace(b'"payload":{', b'"payload":{"x":' + number.encode() + b",", 1)
    assert body != good.body
    # when it arrives, signed or not, it is refused before any key is looked up
    for signature in (good.signature, frame.sign(body, chain.private_seed)):
        answer = bundle_receive(SignedBundle(body=body, signature=signature))
        assert answer["refused"] == BundleRefusal.MALFORMED.value
        assert "not JSON" in answer["detail"]


# --- One byte changed -------------------------------------------------------------------------


def flipped(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@pytest.mark.parametrize(
    ("where", "needle"),
    [("header", b'"created_at":"20'), ("event", b'"payload":{"n":'), ("signature", None)],
)
def test_one_byte_flipped_refuses_the_bundle_whole(chain, where, needle):
    # given a bundle, with one byte flipped in its header, in an event or in its signature
    signed = chain.next_bundle(3)
    if needle is None:
        tampered = SignedBundle(body=signed.body, signature=flipped(signed.signature, 10))
    else:
        position = signed.body.index(needle) + len(needle)  # a digit: still valid JSON
        tampered = SignedBundle(body=flipped(signed.body, position), signature=signed.signature)
    # when it arrives
    answer = bundle_receive(tampered)
    # then it is refused for its signature, logged under no mission (anyone can claim one) with
    # the claim, and nothing of it is applied
    assert answer["refused"] == BundleRefusal.BAD_SIGNATURE.value
    assert (answer["mission"], answer["applied"], answer["acked_seq"]) == ("", 0, 0)
    assert refusals(chain.code) == []
    (row,) = RefusedBundle.objects.filter(mission="")
    assert row.reason == BundleRefusal.BAD_SIGNATURE.value
    assert row.detail.startswith(f"claims {chain.code} bundle 1: ")
    assert CentralEvent.objects.filter(mission=chain.code).count() == 0
    # and the genuine bundle is still applied afterwards
    assert bundle_receive(signed)["applied"] == 3


def test_every_single_byte_flipped_anywhere_in_the_frame_is_refused(chain):
    # given a small bundle's frame and the file holding it
    signed = chain.next_bundle(1)
    data = frame.file_pack([signed])
    # when each byte in turn is flipped (magic, length, body, signature)
    answers = [frames_receive(flipped(data, position)) for position in range(len(data))]
    # then every one is refused, nothing is applied, and each refusal is logged
    assert all(len(a) == 1 and a[0]["refused"] for a in answers)
    assert CentralEvent.objects.filter(mission=chain.code).count() == 0
    assert RefusedBundle.objects.count() >= len(data)
    reasons = {a[0]["refused"] for a in answers}
    assert reasons <= {
        BundleRefusal.MALFORMED.value, BundleRefusal.TOO_LARGE.value,
        BundleRefusal.UNKNOWN_MISSION.value, BundleRefusal.UNKNOWN_KEY.value,
        BundleRefusal.BAD_SIGNATURE.value,
    }  # fmt: skip


# --- Out of order -----------------------------------------------------------------------------


def test_a_bundle_before_its_predecessor_is_held_and_the_gap_asked_for(chain):
    # given bundle 1 applied, and bundles 2 (seq 4-5) and 3 (seq 6-8) built
    bundle_receive(chain.next_bundle(3))
    second, third = chain.next_bundle(2), chain.next_bundle(3)
    # when 3 arrives before 2, twice
    early = bundle_receive(third)
    bundle_receive(third)
    # then it is held once, nothing of it applied, and the missing range asked for
    assert (early["held"], early["applied"], early["acked_seq"]) == (True, 0, 3)
    assert early["want"] == [[4, 5]]
    assert hq_state(chain.code)[2] == [3]
    assert CentralEvent.objects.filter(mission=chain.code).count() == 3
    # when 2 arrives
    late = bundle_receive(second)
    # then both are applied, in order, and nothing is held or wanted any more
    assert (late["applied"], late["acked_seq"], late["want"], late["held"]) == (5, 8, [], False)
    events, link, held = hq_state(chain.code)
    assert [row[0] for row in events] == list(range(1, 9))
    assert (link["last_bundle_number"], link["last_bundle_hash"], held) == (3, third.hash, [])


def test_several_gaps_are_all_asked_for(chain):
    # given bundles 1..5 of two events each, of which only 1, 3 and 5 arrive
    bundles = [chain.next_bundle(2) for _ in range(5)]
    for index in (0, 2, 4):
        answer = bundle_receive(bundles[index])
    # then HQ asks for the events of 2 and 4
    assert answer["want"] == [[3, 4], [7, 8]]
    assert answer["acked_seq"] == 2
    # and once 4 and then 2 arrive, everything is applied
    assert bundle_receive(bundles[3])["want"] == [[3, 4]]
    assert bundle_receive(bundles[1])["acked_seq"] == 10
    assert hq_state(chain.code)[1]["last_bundle_number"] == 5


def test_held_bundles_are_capped_per_mission_and_the_gap_still_asked_for(chain, monkeypatch):
    # given HQ holds at most three bundles of a mission, and bundles 2..5 arrive before 1
    monkeypatch.setattr(apply, "MAX_HELD", 3)
    bundles = [chain.next_bundle(1) for _ in range(5)]
    for held in bundles[1:4]:
        assert bundle_receive(held)["held"]
    # when a fourth would be held, then it is refused and logged, and the gap is asked for
    answer = bundle_receive(bundles[4])
    assert answer["refused"] == BundleRefusal.TOO_LARGE.value
    assert answer["want"] == [[1, 1]]
    assert refusals(chain.code) == [BundleRefusal.TOO_LARGE.value]
    assert hq_state(chain.code)[2] == [2, 3, 4]
    # and a held one arriving again is no refusal
    assert bundle_receive(bundles[2])["refused"] is None
    # and once 1 arrives, the held ones are applied, and the refused one is welcome again
    assert bundle_receive(bundles[0])["acked_seq"] == 4
    assert bundle_receive(bundles[4])["acked_seq"] == 5


def test_a_held_bundle_whose_chain_breaks_is_dropped_and_asked_for_again(chain):
    # given bundle 1 applied, and a bundle 3 whose prev_hash is not bundle 2's
    bundle_receive(chain.next_bundle(1))
    second = chain.next_bundle(1)
    bad_third = events_bundle(
        mission=chain.code, number=3, events=chain.next_events(1), prev_hash="ab" * 32,
        private_seed=chain.private_seed, key_id=chain.key_id,
    )  # fmt: skip
    assert bundle_receive(bad_third)["held"]
    # when 2 arrives
    answer = bundle_receive(second)
    # then 2 is applied, the bad 3 is refused and dropped, and its events asked for again
    assert (answer["acked_seq"], answer["applied"]) == (2, 1)
    assert refusals(chain.code) == [BundleRefusal.CHAIN_BROKEN.value]
    assert hq_state(chain.code)[2] == []


def test_a_held_bundle_altered_while_held_is_refused_when_its_turn_comes(chain):
    # given bundle 2 held, then its stored frame altered
    first, second = chain.next_bundle(1), chain.next_bundle(1)
    bundle_receive(second)
    HeldBundle.objects.filter(mission=chain.code).update(data=b"CSB1garbage")
    # when bundle 1 arrives
    answer = bundle_receive(first)
    # then 1 is applied, the altered 2 is refused and asked for again
    assert (answer["acked_seq"], answer["refused"]) == (1, None)
    assert refusals(chain.code) == [BundleRefusal.MALFORMED.value]
    assert bundle_receive(second)["acked_seq"] == 2


def test_what_the_database_refuses_while_applying_is_a_refusal_not_an_error(chain, monkeypatch):
    # given an insert the database refuses (standing in for a value the checks let through)
    monkeypatch.setattr(apply, "_INSERT", "SELECT %s::int, %s, %s, %s")
    # when a bundle arrives
    answer = bundle_receive(chain.next_bundle(2))
    # then it is refused, logged, and the connection still works
    assert answer["refused"] == BundleRefusal.INCONSISTENT.value
    assert "database refused" in answer["detail"]
    assert refusals(chain.code) == [BundleRefusal.INCONSISTENT.value]
    assert CentralEvent.objects.filter(mission=chain.code).count() == 0
    assert not MissionLink.objects.filter(mission=chain.code, last_seq__gt=0).exists()


# --- Keys -------------------------------------------------------------------------------------


def test_a_bundle_signed_with_another_missions_key_is_refused(chain):
    # given another mission, whose key has an id this mission does not have
    other = MissionChain.register(key_id=7)
    content = chain.next_bundle(2).content
    content["header"]["key_id"] = 7
    # when the other mission's key signs a bundle in this mission's name
    answer = bundle_receive(frame.bundle_sign(content, other.private_seed))
    # then the key is unknown for this mission
    assert answer["refused"] == BundleRefusal.UNKNOWN_KEY.value
    # and with the id of this mission's own key, the signature does not check out
    content["header"]["key_id"] = chain.key_id
    answer = bundle_receive(frame.bundle_sign(content, other.private_seed))
    assert answer["refused"] == BundleRefusal.BAD_SIGNATURE.value
    assert CentralEvent.objects.filter(mission=chain.code).count() == 0


def test_a_mission_hq_does_not_know_is_refused(db):
    # given a key pair HQ never registered
    private, _ = frame.signing_key_generate()
    signed = events_bundle(
        mission="nowhere", number=1, events=[event_make(1)], prev_hash="", private_seed=private,
        key_id=1,
    )  # fmt: skip
    # when its bundle arrives
    answer = bundle_receive(signed)
    # then it is refused and no link is created for it; the sender is told what a mission HQ
    # knows would be told of an unknown key (which missions exist is nobody's business), while
    # HQ's log, under no mission, says precisely
    assert answer["refused"] == BundleRefusal.UNKNOWN_KEY.value
    assert "nowhere" in answer["detail"]
    assert answer["mission"] == ""
    assert not MissionLink.objects.filter(mission="nowhere").exists()
    assert refusals("nowhere") == []
    (row,) = RefusedBundle.objects.filter(mission="")
    assert row.reason == BundleRefusal.UNKNOWN_MISSION.value
    assert row.detail.startswith("claims nowhere bundle 1: ")


def test_a_revoked_key_is_refused_whatever_the_bundle_says_its_age_is(chain):
    # given a bundle that claims to be a day old, and its key revoked an hour ago
    day_ago = utc_text(timezone.now() - dt.timedelta(days=1))
    signed = events_bundle(
        mission=chain.code, number=1, events=chain.next_events(2), prev_hash="",
        private_seed=chain.private_seed, key_id=chain.key_id, created_at=day_ago,
    )  # fmt: skip
    keys.mission_key_revoke(
        mission=chain.code, key_id=chain.key_id, reason="laptop stolen",
        at=timezone.now() - dt.timedelta(hours=1),
    )  # fmt: skip
    # when it arrives
    answer = bundle_receive(signed)
    # then it is refused
    assert answer["refused"] == BundleRefusal.REVOKED_KEY.value
    assert CentralEvent.objects.filter(mission=chain.code).count() == 0


def test_a_key_revoked_from_a_later_time_is_still_accepted_until_then(chain):
    # given a key to be revoked in an hour
    keys.mission_key_revoke(
        mission=chain.code, key_id=chain.key_id, reason="planned",
        at=timezone.now() + dt.timedelta(hours=1),
    )  # fmt: skip
    # when a bundle it signed arrives now, then it is applied
    assert bundle_receive(chain.next_bundle(2))["applied"] == 2


def test_a_rotated_key_is_learnt_from_the_bundle_the_old_key_signed(chain):
    # given bundle 1 applied; bundle 2 announces key 2 and is signed by key 1
    bundle_receive(chain.next_bundle(1))
    announcement = chain.rotate()
    rotation = chain.next_bundle(events=[event_make(chain.next_seq, **announcement)])
    chain.key_switch()
    third = chain.next_bundle(1)  # signed by key 2
    # when bundle 3 arrives first, HQ does not know its key yet
    assert bundle_receive(third)["refused"] == BundleRefusal.UNKNOWN_KEY.value
    # when bundle 2 arrives
    assert bundle_receive(rotation)["applied"] == 1
    # then HQ registered key 2 and accepts bundle 3 when it is sent again
    key = MissionKey.objects.get(mission=chain.code, key_id=2)
    assert bytes(key.public_key) == chain.public_key
    assert bundle_receive(third)["acked_seq"] == 3


# --- Inconsistent, broken chains, conflicts ---------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"event_count": 4}, BundleRefusal.INCONSISTENT),
        ({"first_seq": 2}, BundleRefusal.INCONSISTENT),
        ({"last_seq": 4}, BundleRefusal.INCONSISTENT),
        ({"number": 2}, BundleRefusal.CHAIN_BROKEN),
        ({"prev_hash": "0" * 64}, BundleRefusal.CHAIN_BROKEN),
        ({"first_seq": 0}, BundleRefusal.MALFORMED),
        ({"number": True}, BundleRefusal.MALFORMED),
        ({"prev_hash": "xyz"}, BundleRefusal.MALFORMED),
        ({"format": "consulate-sync/2"}, BundleRefusal.MALFORMED),
        ({"kind": "reference"}, BundleRefusal.MALFORMED),
        ({"created_at": "2026-12-03 07:00:00"}, BundleRefusal.MALFORMED),
        ({"key_id": "1"}, BundleRefusal.MALFORMED),
    ],
)
def test_a_header_that_does_not_match_is_refused(chain, change, reason):
    # given a well-signed first bundle whose header says something its events do not
    header = {"number": 1, "prev_hash": "", "key_id": chain.key_id, **change}
    signed = events_bundle(
        mission=chain.code,
        events=chain.next_events(3),
        private_seed=chain.private_seed,
        **header,
    )
    # when it arrives, then it is refused whole and logged (under the mission, since its key
    # signed it, unless the key cannot even be looked up)
    answer = bundle_receive(signed)
    assert answer["refused"] == reason.value
    signed_by_its_key = "key_id" not in change
    assert refusals(chain.code) == ([reason.value] if signed_by_its_key else [])
    assert refusals() == [reason.value]
    assert CentralEvent.objects.filter(mission=chain.code).count() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 9},
        {"topic": ""},
        {"topic": "x" * 101},
        {"aggregate_id": 5},
        {"payload": []},
        {"version": 0},
        {"version": 40000},
        {"actor_id": "7"},
        {"occurred_at": "2026-13-03T07:00:00.000000Z"},
        {"occurred_at": "2026-12-03T07:00:00Z"},
    ],
)
def test_an_event_of_the_wrong_shape_refuses_the_bundle(chain, change):
    # given a well-signed bundle whose second event is wrong
    events = chain.next_events(3)
    events[1].update(change)
    signed = events_bundle(
        mission=chain.code, number=1, events=events, prev_hash="",
        private_seed=chain.private_seed, key_id=chain.key_id,
    )  # fmt: skip
    # when it arrives, then nothing of it is applied
    assert bundle_receive(signed)["refused"] == BundleRefusal.INCONSISTENT.value
    assert CentralEvent.objects.filter(mission=chain.code).count() == 0


def test_an_event_missing_a_field_refuses_the_bundle(chain):
    events = chain.next_events(2)
    del events[0]["actor_id"]
    signed = events_bundle(
        mission=chain.code, number=1, events=events, prev_hash="",
        private_seed=chain.private_seed, key_id=chain.key_id,
    )  # fmt: skip
    assert bundle_receive(signed)["refused"] == BundleRefusal.INCONSISTENT.value


def test_the_same_seqs_with_other_content_are_kept_as_hq_has_them(chain):
    # given bundle 1 applied
    first = chain.next_bundle(3)
    bundle_receive(first)
    before = hq_state(chain.code)
    # when the mission (restored from an old backup, say) signs other events under seq 1-3
    forked = [event_make(seq, payload={"n": -seq}) for seq in (1, 2, 3)]
    signed = events_bundle(
        mission=chain.code, number=1, events=forked, prev_hash="",
        private_seed=chain.private_seed, key_id=chain.key_id,
    )  # fmt: skip
    answer = bundle_receive(signed)
    # then HQ keeps its events and logs the conflict, naming the events that differ
    assert answer["refused"] == BundleRefusal.CONFLICT.value
    assert "#1, #2, #3" in answer["detail"]
    assert hq_state(chain.code) == before
    assert refusals(chain.code) == [BundleRefusal.CONFLICT.value]


def test_a_bundle_straddling_what_hq_has_is_refused(chain):
    # given bundle 1 (seq 1-3) applied
    first = chain.next_bundle(3)
    bundle_receive(first)
    # when a bundle arrives that repeats seq 3 and goes on to 5
    events = [first.content["events"][2], *chain.next_events(2)]
    signed = events_bundle(
        mission=chain.code, number=2, events=events, prev_hash=chain.last_hash,
        private_seed=chain.private_seed, key_id=chain.key_id,
    )  # fmt: skip
    # then it does not fit the chain, and nothing of it is applied
    assert bundle_receive(signed)["refused"] == BundleRefusal.CHAIN_BROKEN.value
    assert hq_state(chain.code)[1]["last_seq"] == 3


# --- Bodies built to break the parser ---------------------------------------------------------


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats()
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def spec_canonical(body: bytes) -> bool:
    """The definition the fast check must agree with: the body holds no number with a fraction,
    NaN or infinity (no event carries one), and is canonical(json.loads(body))."""

    def fraction(text: str) -> None:
        raise ValueError(text)

    try:
        value = json.loads(body, parse_float=fraction, parse_constant=fraction)
        return canonical(value) == body
    except (ValueError, RecursionError):
        return False


def check_accepts(body: bytes) -> bool:
    bundle = SignedBundle(body=body, signature=b"")
    try:
        apply._canonical_check(bundle, apply._content(bundle))
    except apply._Refused as refusal:
        return "NUL" in refusal.detail  # canonical, refused for another reason
    return True


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES)
def test_the_fast_canonical_check_agrees_with_rfc8785(value):
    # given a value, written canonically and in other ways
    content = {"header": {"format": frame.FORMAT}, "value": value}
    try:
        body = canonical(content)
    except (ValueError, RecursionError):
        assume(False)
    writings = {
        body,
        json.dumps(content).encode(),
        json.dumps(content, separators=(",", ":")).encode(),
        json.dumps(content, separators=(",", ":"), sort_keys=True).encode(),
        json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace"),
    }
    # then HQ's check accepts exactly those that RFC 8785 through rfc8785 accepts
    for writing in writings:
        assert check_accepts(writing) == spec_canonical(writing), writing


def test_a_body_that_is_not_canonical_is_refused_even_when_signed(chain):
    # given a well-signed body with one space more than canonical JSON has
    content = chain.next_bundle(2).content
    body = canonical(content).replace(b'"header":', b'"header": ', 1)
    assert body != canonical(content)
    signed = SignedBundle(body=body, signature=frame.sign(body, chain.private_seed))
    # when it arrives, then it is malformed
    assert bundle_receive(signed)["refused"] == BundleRefusal.MALFORMED.value


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00" * 64,
        b"not json",
        b"[1, 2, 3]",
        b'{"header": 5}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"header":{},"x":' + b"[" * 900 + b"]" * 900 + b"}",
        b'{"header":{"n":' + b"9" * 5000 + b"}}",
        b'{"header":{"n":123456789012345678901234567890}}',
        b'{"header":{"n":1e999}}',
        b'{"header":{"n":NaN}}',
        b'{"header":{"s":"\\ud800"}}',
        b'{"header":{"s":"\xff\xfe"}}',
        b'{"header":{}}',
        b'{"header":{"format":"consulate-sync/1","kind":"events","mission":"a\\u0000b"}}',
    ],
)
def test_a_malformed_body_is_refused_and_never_raises(db, body):
    # when a body built to crash a parser arrives, signed or not
    answer = bundle_receive(SignedBundle(body=body, signature=b"\x00" * 64))
    # then it is refused as malformed, and logged
    assert answer["refused"] == BundleRefusal.MALFORMED.value
    assert RefusedBundle.objects.filter(reason=BundleRefusal.MALFORMED.value).count() == 1


def test_a_nul_character_in_a_signed_event_is_refused_before_the_database(chain):
    # given a well-signed bundle with a NUL in a payload (PostgreSQL's jsonb stores none)
    events = chain.next_events(2)
    events[1]["payload"] = {"note": "a\x00b"}
    signed = events_bundle(
        mission=chain.code, number=1, events=events, prev_hash="",
        private_seed=chain.private_seed, key_id=chain.key_id,
    )  # fmt: skip
    # when it arrives, then it is refused (and the transaction is still usable)
    assert bundle_receive(signed)["refused"] == BundleRefusal.MALFORMED.value
    assert CentralEvent.objects.filter(mission=chain.code).count() == 0


@pytest.mark.parametrize(
    "data",
    [b"", b"CSF1CSB1", b"CSB1\xff\xff\xff\xff", b"CSE1" + b"\x00" * 40, b"\x00" * 1000],
)
def test_a_file_that_cannot_be_read_is_one_refusal(db, data):
    answers = frames_receive(data)
    assert len(answers) == 1
    assert answers[0]["refused"] in {
        BundleRefusal.MALFORMED.value, BundleRefusal.TOO_LARGE.value,
        BundleRefusal.UNKNOWN_KEY.value, BundleRefusal.BAD_SIGNATURE.value,
    }  # fmt: skip
    assert RefusedBundle.objects.count() == 1


def test_an_empty_file_is_no_refusal(db):
    assert frames_receive(frame.file_pack([])) == []
    assert RefusedBundle.objects.count() == 0


def test_a_sealed_file_is_opened_and_each_frame_applied_in_order(chain):
    # given a file of three bundles, sealed for HQ's encryption key
    hq = keys.hq_key_ensure(KeyPurpose.ENCRYPT)
    bundles = [chain.next_bundle(2) for _ in range(3)]
    data = frame.file_pack(
        [bundles[0], bundles[2], bundles[1]], recipient_key=bytes(hq.public_key),
        recipient_key_id=hq.key_id,
    )  # fmt: skip
    # when it is received, then each frame gets its answer, in the file's order
    answers = frames_receive(data, source="file")
    assert [(a["acked_seq"], a["held"], a["applied"]) for a in answers] == [
        (2, False, 2), (2, True, 0), (6, False, 4),
    ]  # fmt: skip
    # and a sealed file with one byte changed is refused whole
    assert frames_receive(flipped(data, len(data) - 1))[0]["refused"] == (
        BundleRefusal.BAD_SIGNATURE.value
    )


# --- Other kinds ------------------------------------------------------------------------------


def test_another_kind_goes_to_its_handler_after_the_signature_check(chain):
    # given a handler for a kind of the tests'
    calls: list[tuple[str, int]] = []

    def handler(signed: SignedBundle, key: MissionKey) -> dict[str, Any]:
        calls.append((key.mission, key.key_id))
        return {"mission": key.mission, "ok": True}

    kind_handler_register("tests_probe", handler)
    try:
        content = {
            "header": {
                "format": frame.FORMAT, "kind": "tests_probe", "mission": chain.code,
                "key_id": chain.key_id, "created_at": utc_text(),
            },
        }  # fmt: skip
        signed = resigned(chain, content)
        # when a genuine one and a tampered one arrive
        assert bundle_receive(signed) == {"mission": chain.code, "ok": True}
        tampered = SignedBundle(body=signed.body, signature=flipped(signed.signature, 0))
        answer = bundle_receive(tampered)
    finally:
        apply._kind_handlers.pop("tests_probe")
    # then only the genuine one reached the handler
    assert calls == [(chain.code, chain.key_id)]
    assert answer["refused"] == BundleRefusal.BAD_SIGNATURE.value


def test_a_kind_nobody_handles_is_malformed(chain):
    content = {
        "header": {
            "format": frame.FORMAT, "kind": "ack", "mission": chain.code,
            "key_id": chain.key_id, "created_at": utc_text(),
        },
    }  # fmt: skip
    assert bundle_receive(resigned(chain, content))["refused"] == BundleRefusal.MALFORMED.value


# --- A refusal survives; the database guards --------------------------------------------------


def test_a_refusal_found_while_applying_is_logged_though_the_apply_rolls_back(chain):
    # given bundle 1 applied and a bundle 2 whose events are right but whose chain is not
    bundle_receive(chain.next_bundle(2))
    wrong = events_bundle(
        mission=chain.code, number=2, events=chain.next_events(2), prev_hash="cd" * 32,
        private_seed=chain.private_seed, key_id=chain.key_id,
    )  # fmt: skip
    # when it arrives inside a caller's transaction
    with transaction.atomic():
        answer = bundle_receive(wrong)
    # then nothing of it was applied, and the refusal is there
    assert answer["refused"] == BundleRefusal.CHAIN_BROKEN.value
    assert CentralEvent.objects.filter(mission=chain.code).count() == 2
    assert refusals(chain.code) == [BundleRefusal.CHAIN_BROKEN.value]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE sync_hq_centralevent SET payload = '{}'",
        "UPDATE sync_hq_centralevent SET seq = seq + 1000",
        "DELETE FROM sync_hq_centralevent",
        "TRUNCATE sync_hq_centralevent",
        "UPDATE sync_hq_missionlink SET last_seq = 0",
        "UPDATE sync_hq_missionlink SET last_bundle_number = 0",
    ],
)
def test_raw_sql_cannot_rewrite_the_central_log(chain, statement):
    # given events applied
    bundle_receive(chain.next_bundle(2))
    before = hq_state(chain.code)
    # when raw SQL tries to rewrite them or move the link back
    with (
        pytest.raises((InternalError, IntegrityError), match=r"append-only|only moves forward"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    # then they stand
    assert hq_state(chain.code) == before


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE sync_hq_centralevent DISABLE TRIGGER sync_hq_event_no_update_delete",
        "DROP TRIGGER sync_hq_event_no_update_delete ON sync_hq_centralevent",
        "SET session_replication_role = replica",
        "DELETE FROM sync_hq_centralevent",
    ],
)
def test_the_application_role_applies_bundles_but_cannot_lift_the_guard(chain, statement):
    # given the test's connection acting as the application's role
    with connection.cursor() as cursor:
        cursor.execute(
            psycopg_sql.SQL("SET LOCAL ROLE {}")
            .format(psycopg_sql.Identifier(django_settings.DATABASE_APP["USER"]))
            .as_string(cursor.connection)
        )
    # when it applies a bundle, then that works
    assert bundle_receive(chain.next_bundle(2))["applied"] == 2
    # and when it tries to switch the guard off (or around), the database refuses
    with (
        pytest.raises(DatabaseError, match=r"owner|permission|append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert CentralEvent.objects.filter(mission=chain.code).count() == 2


# --- Two deliveries at once -------------------------------------------------------------------


def test_one_bundle_delivered_twice_at_once_is_applied_once(committed_db):
    # given a mission's first bundle (committed, so two connections see the key)
    code = f"c{uuid.uuid4().hex[:12]}"
    chain = MissionChain.register(code)
    signed = chain.next_bundle(50)
    answers: list[dict[str, Any]] = []
    barrier = threading.Barrier(2)

    def deliver() -> None:
        try:
            barrier.wait()
            answers.append(bundle_receive(SignedBundle.from_bytes(signed.to_bytes())))
        finally:
            connections.close_all()

    # when two threads deliver it at the same moment
    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then it is applied once: one answer applied all, the other found a duplicate
    try:
        assert sorted(a["applied"] for a in answers) == [0, 50]
        assert all(a["acked_seq"] == 50 and a["refused"] is None for a in answers)
        assert CentralEvent.objects.filter(mission=code).count() == 50
        assert RefusedBundle.objects.filter(mission=code).count() == 0
    finally:
        MissionLink.objects.filter(mission=code).delete()
        MissionKey.objects.filter(mission=code).delete()


def test_a_bundle_arriving_while_its_predecessor_is_being_applied_follows_it(committed_db):
    # given a mission's bundle 1 applied, and bundles 2 and 3; a projector that lingers inside
    # the transaction applying 2, so that 3 arrives exactly then
    code = f"c{uuid.uuid4().hex[:12]}"
    chain = MissionChain.register(code)
    bundle_receive(chain.next_bundle(1))
    second = chain.next_bundle(events=chain.next_events(500, topic="tests.slow.happened"))
    third = chain.next_bundle(10)
    inside = threading.Event()

    def linger(batch: registry.ProjectionBatch) -> None:
        inside.set()
        time.sleep(0.5)

    registry.projector_register(name="tests.apply.slow", topics=["tests.slow.happened"],
                                apply=linger)  # fmt: skip
    answers: dict[int, dict[str, Any]] = {}

    def deliver(number: int, signed: SignedBundle) -> None:
        try:
            if number == 3:
                inside.wait(timeout=30)
            answers[number] = bundle_receive(signed)
        finally:
            connections.close_all()

    # when 3 arrives while 2 is being applied, each on its own connection
    threads = [threading.Thread(target=deliver, args=(n, b)) for n, b in ((2, second), (3, third))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    registry._projectors.pop("tests.apply.slow")
    try:
        # then HQ ends with both applied and nothing held
        assert inside.is_set()
        link = MissionLink.objects.get(mission=code)
        assert (link.last_seq, link.last_bundle_number) == (511, 3)
        assert not HeldBundle.objects.filter(mission=code).exists()
        assert CentralEvent.objects.filter(mission=code).count() == 511
        assert answers[3]["acked_seq"] == 511
    finally:
        HeldBundle.objects.filter(mission=code).delete()
        MissionLink.objects.filter(mission=code).delete()
        MissionKey.objects.filter(mission=code).delete()
