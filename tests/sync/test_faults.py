"""Faults the issue names, against HQ's real apply: 1% of a batch of files corrupted in transit,
and a mission whose clock is hours off."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from sync import keys
from sync.bundle import file_pack
from sync.error_codes import BundleRefusal
from sync.hq.apply import frames_receive
from sync.hq.models import CentralEvent, HeldBundle, MissionLink, RefusedBundle
from tests.sync.bundles import MissionChain, events_bundle, utc_text


def test_one_percent_of_files_corrupted_are_exactly_the_ones_refused_and_asked_for_again(db):
    # given a mission's 200 bundles, each carried as its own file, 2 of them damaged on the way
    chain = MissionChain.register()
    bundles = [chain.next_bundle(5) for _ in range(200)]
    files = [file_pack([bundle]) for bundle in bundles]
    damaged = sorted(random.Random(7).sample(range(200), 2))
    for index in damaged:
        data = bytearray(files[index])
        data[len(data) // 2] ^= 0x20  # one byte, in the body
        files[index] = bytes(data)

    # when HQ imports all of them, in order
    results = [frames_receive(data, source="file")[0] for data in files]

    # then exactly the damaged ones are refused (and logged), nothing after the first is skipped
    refused = [i for i, result in enumerate(results) if result["refused"]]
    assert refused == damaged
    assert {r["refused"] for r in (results[i] for i in damaged)} == {
        BundleRefusal.BAD_SIGNATURE.value
    }
    # (under no mission, since the key did not sign what arrived: the claim is in the detail)
    assert (
        RefusedBundle.objects.filter(mission="", detail__startswith=f"claims {chain.code} ").count()
        == 2
    )
    link = MissionLink.objects.get(mission=chain.code)
    assert link.last_seq == damaged[0] * 5  # applied up to the first damaged bundle
    # HQ asks again for exactly the damaged bundles' events
    first, second = damaged
    assert results[-1]["want"] == [
        [first * 5 + 1, first * 5 + 5],
        [second * 5 + 1, second * 5 + 5],
    ]

    # when the mission sends those two again, undamaged
    for index in damaged:
        frames_receive(file_pack([bundles[index]]), source="file")

    # then every event is there once, and nothing is held
    seqs = list(CentralEvent.objects.filter(mission=chain.code).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1, 1001))
    assert not HeldBundle.objects.filter(mission=chain.code).exists()
    assert MissionLink.objects.get(mission=chain.code).last_seq == 1000


def _skewed_bundle(chain: MissionChain, hours: int):
    events = chain.next_events(2)
    for event in events:  # the mission's clock stamps its events too
        moment = timezone.now() + dt.timedelta(hours=hours)
        event["occurred_at"] = utc_text(moment)
    chain.number += 1
    signed = events_bundle(
        mission=chain.code, number=chain.number, events=events, prev_hash=chain.last_hash,
        private_seed=chain.private_seed, key_id=chain.key_id,
        created_at=utc_text(timezone.now() + dt.timedelta(hours=hours)),
    )  # fmt: skip
    chain.last_hash = signed.hash
    return signed


def test_a_mission_clock_hours_off_changes_nothing_hq_decides(db):
    # given a mission whose clock is 9 hours ahead, then 14 hours behind
    chain = MissionChain.register()
    ahead, behind = _skewed_bundle(chain, 9), _skewed_bundle(chain, -14)

    # when HQ receives both
    before = timezone.now()
    results = [frames_receive(file_pack([b]), source="http")[0] for b in (ahead, behind)]

    # then both are applied in chain order: HQ orders by sequence, never by the mission's time
    assert [r["refused"] for r in results] == [None, None]
    link = MissionLink.objects.get(mission=chain.code)
    assert link.last_seq == 4
    # and the last contact is HQ's own time, not what the mission's clock said
    assert before <= link.last_contact_at <= timezone.now()


def test_a_backdated_bundle_signed_by_a_revoked_key_is_refused(db):
    # given a key revoked an hour ago (a stolen laptop)
    chain = MissionChain.register()
    keys.mission_key_revoke(
        mission=chain.code, key_id=chain.key_id, reason="stolen",
        at=timezone.now() - dt.timedelta(hours=1),
    )  # fmt: skip
    # when the thief sends a bundle that claims to be from yesterday
    backdated = _skewed_bundle(chain, -24)
    (result,) = frames_receive(file_pack([backdated]), source="http")
    # then HQ refuses it: revocation counts from HQ's clock, whatever the bundle claims
    assert result["refused"] == BundleRefusal.REVOKED_KEY.value
    assert not CentralEvent.objects.filter(mission=chain.code).exists()
