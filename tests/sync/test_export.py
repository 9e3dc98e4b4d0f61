"""The mission's bundles: built from the outbox into a signed hash chain, never overlapping,
even with two builders at once; what is sent again; what a file for the bag holds."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest
from django.db import connection, transaction

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from consulate.kernel.events import EventTopic
from sync import keys
from sync.bundle import BundleError, SignedBundle, canonical, file_unpack
from sync.error_codes import SyncError
from sync.export import (
    bundles_build,
    bundles_to_send,
    event_wire,
    file_export,
    file_export_build,
)
from sync.models import KeyPurpose, OutboxEvent, SentBundle, SigningKey, SyncLink
from sync.services import outbox_event_record
from tests.sync.bundles import at_once


class ExportTopic(EventTopic):
    DONE = "tests.export.done"


def record(count: int, **payload) -> None:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        for n in range(count):
            outbox_event_record(
                topic=ExportTopic.DONE, aggregate_id=n, payload={"n": n, "t": "ğüş €", **payload},
                acting_user=SYSTEM,
            )  # fmt: skip


def public_key(key_id: int) -> bytes:
    return bytes(SigningKey.objects.get(key_id=key_id).public_key)


def test_bundles_form_a_signed_chain_of_contiguous_ranges(in_mission_a):
    # given the outbox of mission A with 25 more events than its opening ones
    record(25)
    last = OutboxEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    # when bundles of at most 10 events are built
    built = bundles_build(code="alpha", max_events=10)
    # then they cover 1..last without gap or overlap, numbered 1, 2, ... and chained
    assert [b.number for b in built] == list(range(1, len(built) + 1))
    assert built[0].first_seq == 1
    assert built[-1].last_seq == last
    previous_hash = ""
    for sent in built:
        frame = SignedBundle.from_bytes(bytes(sent.data))
        header = frame.header
        assert frame.verify(public_key(header["key_id"]))
        assert header["format"] == "consulate-sync/1"
        assert header["kind"] == "events"
        assert header["mission"] == "alpha"
        assert header["number"] == sent.number
        assert header["prev_hash"] == previous_hash == sent.prev_hash
        assert frame.hash == hashlib.sha256(frame.body).hexdigest() == sent.hash
        seqs = [event["seq"] for event in frame.content["events"]]
        assert seqs == list(range(header["first_seq"], header["last_seq"] + 1))
        assert header["event_count"] == len(seqs) == sent.event_count <= 10
        assert frame.body == canonical(json.loads(frame.body))  # RFC 8785, byte for byte
        previous_hash = frame.hash
    assert all(b.first_seq == a.last_seq + 1 for a, b in itertools.pairwise(built))
    link = SyncLink.objects.get(pk=1)
    assert (link.last_bundle_number, link.last_bundled_seq) == (len(built), last)
    assert link.last_bundle_hash == built[-1].hash
    # and nothing new means no new bundle
    assert bundles_build(code="alpha") == []


def test_an_event_travels_as_the_outbox_holds_it(in_mission_a, officer_a):
    # given one event by an officer, with non-ASCII text and nested values
    with transaction.atomic():
        event = outbox_event_record(
            topic=ExportTopic.DONE, aggregate_id="x-1", payload={"a": [1, {"b": None}], "t": "Ğ"},
            acting_user=officer_a, version=2,
        )  # fmt: skip
    # when it is bundled
    bundles = bundles_build(code="alpha")
    sent = SignedBundle.from_bytes(bytes(bundles[-1].data)).content["events"][-1]
    # then every field is the row's, the time in UTC with six fraction digits
    assert sent == {
        "seq": event.seq,
        "topic": "tests.export.done",
        "aggregate_type": "export",
        "aggregate_id": "x-1",
        "payload": {"a": [1, {"b": None}], "t": "Ğ"},
        "version": 2,
        "actor_id": officer_a.pk,
        "occurred_at": event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    # and it is what `event_wire` makes of the row (the form HQ rebuilds its registers from)
    event.refresh_from_db()
    assert event_wire(event) == sent
    assert event.occurred_at.utcoffset().total_seconds() == 0


def test_a_rotation_is_carried_by_the_key_before_it(in_mission_a):
    # given events, a key rotation, and more events
    old = keys.signing_key_active(code="alpha").key_id
    record(3)
    keys.signing_key_rotate(code="alpha", acting_user=SYSTEM)
    record(2)
    # when they are bundled
    built = bundles_build(code="alpha")
    frames = [SignedBundle.from_bytes(bytes(b.data)) for b in built]
    # then the bundle announcing the new key ends with it and is signed by the old key
    assert frames[0].content["events"][-1]["topic"] == "sync.signing_key.rotated"
    assert frames[0].header["key_id"] == old
    assert frames[0].verify(public_key(old))
    # and the events after it come in the next bundle, signed by the new key
    assert frames[1].header["key_id"] == old + 1
    assert frames[1].verify(public_key(old + 1))
    assert not frames[1].verify(public_key(old))
    assert [e["seq"] for e in frames[1].content["events"]][-1] == built[-1].last_seq


def test_a_mission_without_a_key_cannot_build(in_mission_a):
    # given a mission whose signing key is gone (a mission made before sync)
    SigningKey.objects.update(is_active=False)
    record(1)
    # when it builds, then it is told plainly and nothing is recorded
    with pytest.raises(ApplicationError) as caught:
        bundles_build(code="alpha")
    assert caught.value.code is SyncError.NOT_CONFIGURED
    assert SentBundle.objects.count() == 0
    assert SyncLink.objects.get(pk=1).last_bundle_number == 0


def test_what_is_sent_is_unacknowledged_and_asked_for_again(in_mission_a):
    # given five bundles, the first three acknowledged, HQ asking again for part of bundle 2
    record(40)
    built = bundles_build(code="alpha", max_events=10)
    assert len(built) >= 5
    SyncLink.objects.filter(pk=1).update(
        acked_seq=built[2].last_seq,
        resend_ranges=[[built[1].first_seq + 1, built[1].first_seq + 2]],
    )
    # when the mission picks what to send
    numbers = [b.number for b in bundles_to_send()]
    # then it is bundle 2 again and every bundle after the acknowledged mark
    assert numbers == [2, *[b.number for b in built[3:]]]
    # and a byte budget keeps the first bundles but always at least one
    assert [b.number for b in bundles_to_send(budget_bytes=1)] == [2]


def test_a_sealed_file_opens_only_with_hqs_key(in_mission_a):
    # given a mission with unacknowledged events
    record(12)
    # when it exports a sealed file
    export = file_export_build(code="alpha")
    data = export.data
    # then the file is sealed (no header or event in clear) and opens with HQ's private key
    assert data[:4] == b"CSE1"
    assert b"alpha" not in data
    assert b"tests.export" not in data
    with pytest.raises(BundleError):
        file_unpack(data)
    frames = _open_at_hq(data)
    assert [f.header["number"] for f in frames] == [b.number for b in export.bundles]
    assert export.event_count == sum(f.header["event_count"] for f in frames)
    # and one flipped byte anywhere makes the whole file unreadable
    for position in (5, 40, len(data) // 2, len(data) - 1):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises(BundleError):
            _open_at_hq(bytes(tampered))
    # and a plain export is readable by anyone, signatures intact
    plain = file_export(code="alpha", sealed=False)
    assert [f.header["number"] for f in file_unpack(plain)] == [b.number for b in export.bundles]


def test_a_sealed_file_needs_hqs_encryption_key(in_mission_a):
    # given a mission that has no HQ encryption key (revoked)
    from sync.models import TrustedKey

    TrustedKey.objects.filter(purpose=KeyPurpose.ENCRYPT).update(revoked_at="2026-01-01T00:00Z")
    # when it exports sealed, then it is refused plainly
    with pytest.raises(ApplicationError) as caught:
        file_export(code="alpha")
    assert caught.value.code is SyncError.NOT_CONFIGURED


def _open_at_hq(data: bytes) -> list[SignedBundle]:
    from django_tenants.utils import schema_context

    with schema_context("public"):
        return file_unpack(data, private_key_for=keys.hq_encryption_private_key)


# --- two builders at once --------------------------------------------------------------------


def test_two_builders_at_once_never_overlap(throwaway_mission):
    # given a committed mission with 150 events waiting
    connection.set_tenant(throwaway_mission)
    record(150)
    total = OutboxEvent.objects.count()
    connection.set_schema_to_public()
    # when two connections build bundles at the same moment, again and again
    built: list[tuple[int, int, int]] = []

    def build_repeatedly() -> None:
        for _ in range(30):
            for sent in bundles_build(code=throwaway_mission.code, max_events=7, max_bundles=1):
                built.append((sent.number, sent.first_seq, sent.last_seq))

    errors = at_once(throwaway_mission, build_repeatedly)
    # then no error, no number twice, and the ranges tile 1..total exactly once
    assert errors == []
    built.sort()
    assert [number for number, _, _ in built] == list(range(1, len(built) + 1))
    covered = [seq for _, first, last in built for seq in range(first, last + 1)]
    assert covered == list(range(1, total + 1))
    connection.set_tenant(throwaway_mission)
    chain = list(SentBundle.objects.order_by("number").values_list("prev_hash", "hash"))
    assert all(b[0] == a[1] for a, b in itertools.pairwise(chain))


def test_hqs_frozen_copy_of_a_moved_mission_neither_bundles_nor_pushes(in_mission_a):
    from django_tenants.utils import get_tenant_model

    from sync.export import push, push_if_due

    # given alpha moved to its own node: HQ's row names the node; a task queued before runs
    record(3)
    get_tenant_model().objects.filter(code="alpha").update(node_url="https://alpha.node.test")
    link_before = SyncLink.objects.values().get(pk=1)
    # when beat's push, a push by hand or a file export runs on HQ's copy, then each refuses
    for attempt in (
        lambda: bundles_build(code="alpha"),
        lambda: push(code="alpha"),
        lambda: push_if_due(code="alpha"),
        lambda: file_export(code="alpha"),
    ):
        with pytest.raises(ApplicationError, match="served by its own node") as refused:
            attempt()
        assert refused.value.code == SyncError.NOT_CONFIGURED
    # and nothing was bundled or counted: the node continues the chain
    assert not SentBundle.objects.exists()
    assert SyncLink.objects.values().get(pk=1) == link_before


def test_a_failure_applying_hqs_answer_is_a_failed_push_not_an_exception(in_mission_a):
    from unittest import mock

    from django.db import IntegrityError

    from sync.export import push

    # given HQ answers, but applying the answer fails (a down set the node cannot take)
    record(1)
    with mock.patch("sync.export.answer_apply", side_effect=IntegrityError("duplicate key")):
        result = push(code="alpha")
    # then the push says so and backs off like any failed push
    assert not result.ok
    assert "could not be applied" in result.error
    link = SyncLink.objects.get(pk=1)
    assert link.failures == 1
    assert link.next_attempt_at is not None
    assert "duplicate key" in link.last_error


def test_down_frames_are_applied_only_from_a_push_never_from_a_file(in_mission_a):
    from unittest import mock

    from django_tenants.utils import schema_context

    from sync import down
    from sync.bundle import file_pack
    from sync.export import answer_apply

    with schema_context("public"):
        data = file_pack(down.down_frames(mission="alpha", reported={}))
    link_before = SyncLink.objects.values().get(pk=1)
    with mock.patch("sync.export.down_apply", return_value=True) as applied:
        with pytest.raises(ApplicationError, match="never carries accounts"):
            answer_apply(data, code="alpha")  # a file: the default
        assert SyncLink.objects.values().get(pk=1) == link_before
        applied.assert_not_called()
        answer_apply(data, code="alpha", from_file=False)  # the answer to a push over HTTPS
    assert applied.call_count >= 1


def _ack(created_at: str, want: list, acked_seq: int = 0) -> bytes:
    from django_tenants.utils import schema_context

    from sync.bundle import bundle_sign, file_pack

    with schema_context("public"):
        key = keys.hq_key_ensure(KeyPurpose.SIGN)
        private = keys.hq_key_private(key)
    header = {"format": "consulate-sync/1", "kind": "ack", "mission": "alpha",
              "acked_seq": acked_seq, "want": want, "reference_version": 0,
              "created_at": created_at, "key_id": key.key_id}  # fmt: skip
    return file_pack([bundle_sign({"header": header, "refused": [], "results": []}, private)])


def test_an_old_ack_replayed_does_not_set_back_what_hq_wants_again(in_mission_a):
    from sync.export import answer_apply

    record(30)
    bundles_build(code="alpha", max_events=10)
    old = _ack("2026-12-03T08:00:00.000000Z", want=[[1, 30]])
    new = _ack("2026-12-03T08:05:00.000000Z", want=[])
    # given HQ asked for 1..30 again, then said it wants nothing
    answer_apply(old, code="alpha")
    assert SyncLink.objects.get(pk=1).resend_ranges == [[1, 30]]
    answer_apply(new, code="alpha")
    assert SyncLink.objects.get(pk=1).resend_ranges == []
    # when the old ack is replayed (a file imported again, a captured answer)
    outcome = answer_apply(old, code="alpha")
    # then what HQ wants stays as the newest ack said: no resend storm
    assert SyncLink.objects.get(pk=1).resend_ranges == []
    assert outcome["want"] == []
    # and a newer one still counts
    answer_apply(_ack("2026-12-03T08:10:00.000000Z", want=[[5, 9]]), code="alpha")
    assert SyncLink.objects.get(pk=1).resend_ranges == [[5, 9]]
