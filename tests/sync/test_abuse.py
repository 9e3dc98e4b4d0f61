"""What an unauthenticated sender can make HQ do with one body: little. Frames are read by
offset and at most `MAX_FRAMES` a body; at most a few refusals of frames that did not verify are
logged a request, under no mission; HQ signs acks only for missions whose key signed a frame."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.errors import ApplicationError
from sync import bundle as frame
from sync.bundle import MAX_FRAMES, SignedBundle, file_pack, file_unpack, frames_read
from sync.error_codes import BundleRefusal, SyncError
from sync.hq.answer import push_answer
from sync.hq.apply import UNVERIFIED_LOGGED, frames_receive
from sync.hq.models import RefusedBundle
from tests.sync.bundles import MissionChain, event_make, events_bundle


@pytest.fixture
def chain(db) -> MissionChain:
    return MissionChain.register()


def forged(mission: str, number: int) -> SignedBundle:
    """A frame claiming `mission`, signed by a key HQ never saw."""
    private, _ = frame.signing_key_generate()
    return events_bundle(
        mission=mission, number=number, events=[event_make(1)], prev_hash="",
        private_seed=private, key_id=999,
    )  # fmt: skip


def test_frames_are_read_by_offset_and_the_same_as_one_by_one():
    bundles = [SignedBundle(body=b'{"n":%d}' % n, signature=bytes([n]) * 64) for n in range(5)]
    data = b"".join(b.to_bytes() for b in bundles)
    assert frames_read(data) == bundles
    second, end = SignedBundle.read_at(memoryview(data), len(bundles[0].to_bytes()))
    assert second == bundles[1]
    assert end == sum(len(b.to_bytes()) for b in bundles[:2])


def test_a_body_of_more_than_max_frames_is_refused_whole(db):
    # given a body of one frame more than HQ reads in one body
    tiny = SignedBundle(body=b"{}", signature=bytes(64))
    data = file_pack([tiny] * (MAX_FRAMES + 1))
    # when it arrives, then it is one refusal, logged once, and no frame of it is looked at
    (result,) = frames_receive(data, source="http")
    assert result["refused"] == BundleRefusal.TOO_LARGE.value
    assert RefusedBundle.objects.count() == 1
    # and the push endpoint's service refuses it as a file it cannot read (a 4xx)
    with pytest.raises(ApplicationError) as caught:
        push_answer(data, reference_version=0)
    assert caught.value.code is SyncError.FILE_INVALID
    # and MAX_FRAMES frames are read
    assert len(file_unpack(file_pack([tiny] * MAX_FRAMES), max_frames=MAX_FRAMES)) == MAX_FRAMES


def test_forged_frames_log_a_few_rows_under_no_mission(chain):
    # given a body of 50 frames claiming the mission, none signed by its key
    data = file_pack([forged(chain.code, n) for n in range(1, 51)])
    # when it arrives
    results = frames_receive(data, source="http")
    # then each is refused, answered under no mission
    assert len(results) == 50
    assert {r["refused"] for r in results} == {BundleRefusal.UNKNOWN_KEY.value}
    assert {r["mission"] for r in results} == {""}
    # and HQ logged at most UNVERIFIED_LOGGED rows, none on the mission's page, the rest counted
    rows = list(RefusedBundle.objects.order_by("pk"))
    assert len(rows) == UNVERIFIED_LOGGED
    assert {row.mission for row in rows} == {""}
    assert rows[0].detail.startswith(f"claims {chain.code} bundle 1: ")
    assert f"and {50 - UNVERIFIED_LOGGED} more unverified" in rows[-1].detail
    assert not RefusedBundle.objects.filter(mission=chain.code).exists()


def test_acks_are_signed_only_for_missions_whose_key_signed_a_frame(chain):
    # given a body with the mission's genuine bundle and frames claiming other codes
    data = file_pack([forged("ghost", 1), chain.next_bundle(2), forged("<script>", 1)])
    # when HQ answers it
    with schema_context("public"):
        answer = push_answer(data, reference_version=0)
    # then it acknowledges the genuine mission only
    acks = [f for f in file_unpack(answer) if f.header["kind"] == "ack"]
    assert [ack.header["mission"] for ack in acks] == [chain.code]
    assert acks[0].header["acked_seq"] == 2


def test_a_body_of_forged_frames_only_gets_no_ack(chain):
    data = file_pack([forged(chain.code, 1), forged("ghost", 1)])
    with pytest.raises(ApplicationError) as caught:
        push_answer(data, reference_version=0)
    assert caught.value.code is SyncError.FILE_INVALID
    # and the sender cannot tell a mission HQ knows from one it does not
    reasons = [refusal["reason"] for refusal in caught.value.details["refused"]]
    assert reasons == [BundleRefusal.UNKNOWN_KEY.value] * 2
