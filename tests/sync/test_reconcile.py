"""Reconciliation (`sync.reconcile`, `sync.hq.reconcile`): HQ's copy of a mission's events is
compared day by day and repaired, never overwritten.

HQ's state is built here by copying the mission's outbox into the central log, leaving events
out or altering them, as a lost or damaged HQ copy would be. The exchange runs in this process
(`sync.transport.exchange` with HQ in this database), so the test's transaction sees both
sides.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import ProgrammingError, connection, transaction
from django_tenants.utils import tenant_context

from consulate.kernel.errors import ApplicationError
from sync import reconcile, registry, transport
from sync.bundle import SignedBundle, bundle_sign, file_pack, file_unpack, signing_key_generate
from sync.error_codes import BundleRefusal
from sync.hq import apply
from sync.hq import reconcile as hq_reconcile
from sync.hq.models import CentralEvent, MissionLink, RefusedBundle
from sync.models import SyncLink
from sync.reconcile import DayDifference, ReconcileError, mission_reconcile


def send(body: bytes) -> bytes:
    """HQ in this database, as the transport reaches it in production."""
    return transport.exchange(body, reference_version=0)


def outbox_add(at: str, n: int = 1, payload: str = "{}") -> list[int]:
    """`n` events at `at` (UTC), through the outbox's trigger (it assigns seq)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sync_outboxevent (topic, aggregate_type, aggregate_id, payload, version,"
            " occurred_at) SELECT 'tests.probe.happened', 'probe', g::text,"
            " %s::jsonb || jsonb_build_object('n', g), 1, %s::timestamptz"
            " FROM generate_series(1, %s) g RETURNING seq",
            [payload, at, n],
        )
        return sorted(seq for (seq,) in cursor.fetchall())


def hq_copy(mission: Any, *, leave_out: list[int] = (), alter: list[int] = ()) -> int:  # type: ignore[assignment]
    """HQ holds the mission's outbox, except `leave_out`, with `alter`'s payloads changed; both
    sides acknowledge everything. Returns the acknowledged mark."""
    schema = mission.schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.sync_hq_centralevent (mission, seq, topic, aggregate_type,"
            " aggregate_id, payload, version, actor_id, occurred_at, bundle_number, applied_at)"
            " SELECT %s, seq, topic, aggregate_type, aggregate_id,"
            "  CASE WHEN seq = ANY(%s) THEN payload || '{\"forged\": true}' ELSE payload END,"
            f'  version, actor_id, occurred_at, 1, now() FROM "{schema}".sync_outboxevent'
            " WHERE NOT seq = ANY(%s)",
            [mission.code, list(alter), list(leave_out)],
        )
        cursor.execute(f'SELECT max(seq) FROM "{schema}".sync_outboxevent')
        (last,) = cursor.fetchone()
    MissionLink.objects.update_or_create(mission=mission.code, defaults={"last_seq": last})
    with tenant_context(mission):
        SyncLink.objects.filter(pk=1).update(acked_seq=last)
    return int(last)


def central_seqs(mission: Any) -> list[int]:
    return list(CentralEvent.objects.filter(mission=mission.code).values_list("seq", flat=True))


@pytest.fixture
def projected() -> Any:
    """What HQ's projectors are handed during the test."""
    seen: list[int] = []
    registry.projector_register(
        name="tests.reconcile",
        topics=["tests.probe.happened"],
        apply=lambda batch: seen.extend(event["seq"] for event in batch.events),
    )
    yield seen
    registry._projectors.pop("tests.reconcile", None)


def test_a_mission_in_step_with_hq_has_no_differences(mission_a):
    # given three days of events, all at HQ
    with tenant_context(mission_a):
        outbox_add("2026-11-01T10:00:00Z", 3)
        outbox_add("2026-11-02T23:59:59.999999Z", 2)
        outbox_add("2026-11-03T00:00:00Z", 4)
    hq_copy(mission_a)
    # when the mission reconciles
    with tenant_context(mission_a):
        report = mission_reconcile(send=send)
    # then every day (and the opening event's) compares equal, and HQ records when
    assert report.days_compared >= 3
    assert (report.differed, report.resent, report.conflicts, report.left) == ([], 0, [], [])
    link = MissionLink.objects.get(mission=mission_a.code)
    assert link.last_reconciled_at is not None
    assert link.reconcile_differences == 0


def test_events_missing_at_hq_are_found_and_exactly_those_restored(mission_a, projected):
    # given HQ lost one event on each of two days
    with tenant_context(mission_a):
        first = outbox_add("2026-11-03T08:00:00Z", 5)
        outbox_add("2026-11-04T12:00:00Z", 3)
        second = outbox_add("2026-11-05T12:00:00Z", 4)
    last = hq_copy(mission_a, leave_out=[first[2], second[0]])
    before = central_seqs(mission_a)
    assert len(before) == last - 2
    sent: list[int] = []

    def watching(body: bytes) -> bytes:
        for frame in file_unpack(body):
            sent.extend(event["seq"] for event in frame.content.get("events", []))
        return send(body)

    # when the mission reconciles
    with tenant_context(mission_a):
        report = mission_reconcile(send=watching)
    # then those two days differed, only those two events travelled, nothing is left
    assert report.differed == [
        DayDifference(day="2026-11-03", hq_count=4, mission_count=5),
        DayDifference(day="2026-11-05", hq_count=3, mission_count=4),
    ]
    assert (report.resent, report.conflicts, report.left) == (2, [], [])
    assert sent == [first[2], second[0]]
    assert sorted(set(central_seqs(mission_a)) - set(before)) == [first[2], second[0]]
    # and the projectors saw only the events HQ had lacked, once
    assert projected == [first[2], second[0]]
    restored = CentralEvent.objects.get(mission=mission_a.code, seq=first[2])
    assert (restored.payload, restored.bundle_number) == ({"n": 3}, 0)
    assert MissionLink.objects.get(mission=mission_a.code).reconcile_differences == 0
    # and a second run finds nothing
    with tenant_context(mission_a):
        assert mission_reconcile(send=send).differed == []


def test_an_event_altered_at_hq_is_a_conflict_and_neither_side_is_overwritten(mission_a):
    # given HQ holds one event with another payload
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 3)
    hq_copy(mission_a, alter=[seqs[1]])
    # when the mission reconciles
    with tenant_context(mission_a):
        report = mission_reconcile(send=send)
        mine = reconcile.outbox_digests(upto_seq=seqs[-1])["2026-11-03"]
    # then the day differs, the event is a conflict, and it stays different
    assert report.differed == [DayDifference(day="2026-11-03", hq_count=3, mission_count=3)]
    assert (report.resent, report.conflicts) == (0, [seqs[1]])
    assert report.left == [DayDifference(day="2026-11-03", hq_count=3, mission_count=3)]
    held = CentralEvent.objects.get(mission=mission_a.code, seq=seqs[1])
    assert held.payload == {"n": 2, "forged": True}
    assert mine.count == 3  # the mission's outbox is untouched
    # and the mission's version is kept for a person to decide
    refusal = RefusedBundle.objects.get(mission=mission_a.code)
    assert refusal.reason == BundleRefusal.CONFLICT.value
    assert f"#{seqs[1]} differs" in refusal.detail
    assert '"payload": {"n": 2}' in refusal.detail
    assert MissionLink.objects.get(mission=mission_a.code).reconcile_differences == 1


def test_an_event_hq_holds_and_the_mission_never_had_is_left_not_removed(mission_a):
    # given an event at HQ with a seq the mission gave to nothing on that day
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 2)
    last = hq_copy(mission_a, leave_out=seqs[:1])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.sync_hq_centralevent (mission, seq, topic, aggregate_type,"
            " aggregate_id, payload, version, occurred_at, bundle_number, applied_at)"
            " VALUES (%s, %s, 'tests.probe.happened', 'probe', '1', '{\"n\": 1}', 1,"
            " '2026-10-01T00:00:00Z', 1, now())",
            [mission_a.code, seqs[0]],
        )
    # when the mission reconciles
    with tenant_context(mission_a):
        report = mission_reconcile(send=send)
    # then both days differ; the moved event is a conflict, HQ's row stays where it was
    assert [d.day for d in report.differed] == ["2026-10-01", "2026-11-03"]
    assert report.conflicts == [seqs[0]]
    assert [d.day for d in report.left] == ["2026-10-01", "2026-11-03"]
    assert len(central_seqs(mission_a)) == last


def test_events_not_yet_acknowledged_are_no_difference(mission_a):
    # given events HQ has not acknowledged (not sent yet)
    with tenant_context(mission_a):
        outbox_add("2026-11-03T08:00:00Z", 2)
    hq_copy(mission_a)
    with tenant_context(mission_a):
        outbox_add("2026-11-03T09:00:00Z", 5)
        outbox_add("2026-11-04T09:00:00Z", 5)
        # when the mission reconciles
        report = mission_reconcile(send=send)
    # then nothing differs
    assert (report.differed, report.left) == ([], [])


def test_a_mission_with_no_events_at_hq_compares_zero_days(mission_b):
    # given a mission HQ has acknowledged nothing from
    with tenant_context(mission_b):
        # when it reconciles
        report = mission_reconcile(send=send)
    # then there is nothing to compare, and that is recorded
    assert report.summary() == (
        "beta: 0 days compared, 0 differed, 0 events re-sent, 0 conflicts, 0 differences left"
    )
    assert MissionLink.objects.get(mission="beta").last_reconciled_at is not None


def test_days_at_the_ends_of_the_calendar(mission_a):
    # given events on the first and the last day PostgreSQL and Python share, lost at HQ
    with tenant_context(mission_a):
        first = outbox_add("0001-01-01T00:00:00Z")
        last = outbox_add("9999-12-31T23:59:59.999999Z")
    hq_copy(mission_a, leave_out=first + last)
    # when the mission reconciles
    with tenant_context(mission_a):
        report = mission_reconcile(send=send)
    # then both days are found and repaired, to the microsecond
    assert [d.day for d in report.differed] == ["0001-01-01", "9999-12-31"]
    assert (report.resent, report.left) == (2, [])
    restored = CentralEvent.objects.get(mission=mission_a.code, seq=last[0])
    assert restored.occurred_at.isoformat() == "9999-12-31T23:59:59.999999+00:00"


def test_a_large_day_is_repaired_in_several_frames(mission_a, monkeypatch):
    # given a day of 25 events HQ lacks, and repair frames of at most 10
    monkeypatch.setattr(reconcile, "REPAIR_MAX_EVENTS", 10)
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 25)
    hq_copy(mission_a, leave_out=seqs)
    frames: list[int] = []

    def counting(body: bytes) -> bytes:
        frames.append(len(body))
        return send(body)

    # when the mission reconciles
    with tenant_context(mission_a):
        report = reconcile.mission_reconcile(send=counting)
    # then three repair frames between the two digests
    assert (report.resent, report.left, len(frames)) == (25, [], 5)


def test_days_beyond_what_hq_lists_are_re_sent_whole(mission_a, monkeypatch):
    # given HQ lists at most 3 events it holds, and lacks one event on each of two days of 3
    monkeypatch.setattr(hq_reconcile, "HELD_MAX", 3)
    with tenant_context(mission_a):
        first = outbox_add("2026-11-03T08:00:00Z", 3)
        second = outbox_add("2026-11-04T08:00:00Z", 3)
    hq_copy(mission_a, leave_out=[first[0], second[0]])
    sent: list[int] = []

    def watching(body: bytes) -> bytes:
        for frame in file_unpack(body):
            sent.extend(event["seq"] for event in frame.content.get("events", []))
        return send(body)

    # when the mission reconciles
    with tenant_context(mission_a):
        report = mission_reconcile(send=watching)
    # then the listed day sends its missing event, the other day all of its events
    assert sorted(sent) == sorted([first[0], *second])
    assert (report.resent, report.conflicts, report.left) == (2, [], [])


# --- Refusals -----------------------------------------------------------------------------------


def _digests_frame(mission: Any, **header: Any) -> SignedBundle:
    with tenant_context(mission):
        upto = SyncLink.objects.get(pk=1).acked_seq
        digests = reconcile.outbox_digests(upto_seq=upto)
        bundle = reconcile.digests_bundle_build(code=mission.code, upto_seq=upto, digests=digests)
    if header:
        content = bundle.content
        content["header"].update(header)
        with tenant_context(mission):
            from sync.keys import signing_key_active

            key = signing_key_active(code=mission.code)
        bundle = bundle_sign(content, key.private_seed)
    return bundle


@pytest.mark.parametrize("where", ["body", "signature"])
def test_a_tampered_digests_frame_is_refused_and_logged(mission_a, where):
    # given a digests frame with one byte flipped
    with tenant_context(mission_a):
        outbox_add("2026-11-03T08:00:00Z", 2)
    hq_copy(mission_a)
    bundle = _digests_frame(mission_a)
    body, signature = bytearray(bundle.body), bytearray(bundle.signature)
    if where == "body":
        at = bytes(body).index(b'"count":') + len('"count":')
        body[at] = ord("9") if body[at] != ord("9") else ord("8")
    else:
        signature[5] ^= 0x01
    # when HQ receives it
    result = apply.bundle_receive(SignedBundle(bytes(body), bytes(signature)))
    # then it is refused, logged, and nothing is recorded as reconciled
    assert result["refused"] == BundleRefusal.BAD_SIGNATURE.value
    assert result.get("answer") is None
    assert RefusedBundle.objects.filter(reason=BundleRefusal.BAD_SIGNATURE.value).count() == 1
    assert MissionLink.objects.get(mission=mission_a.code).last_reconciled_at is None


def test_a_tampered_frame_on_the_way_fails_the_reconciliation(mission_a):
    with tenant_context(mission_a):
        outbox_add("2026-11-03T08:00:00Z", 2)
    hq_copy(mission_a)

    def flipping(body: bytes) -> bytes:
        damaged = bytearray(body)
        damaged[-70] ^= 0x01  # a byte of the frame's body, just before its signature
        return send(bytes(damaged))

    # HQ refuses it (in this process, the whole body: no frame in it verified, so no mission
    # is answered; over HTTPS a 400)
    with tenant_context(mission_a), pytest.raises((ReconcileError, ApplicationError)):
        mission_reconcile(send=flipping)


def test_an_answer_not_signed_by_hq_is_not_believed(mission_a):
    # given an answer claiming nothing differs, signed by some other key
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 2)
    hq_copy(mission_a, leave_out=seqs)
    forger, _ = signing_key_generate()

    def forging(body: bytes) -> bytes:
        request = file_unpack(body)[0]
        header = {"format": "consulate-sync/1", "kind": "digests_answer", "mission": "alpha",
                  "created_at": "2026-12-03T00:00:00.000000Z", "key_id": 1,
                  "in_reply_to": request.hash}  # fmt: skip
        return file_pack(
            [bundle_sign({"header": header, "days_compared": 1, "differ": []}, forger)]
        )

    with tenant_context(mission_a), pytest.raises(ReconcileError, match="not signed"):
        mission_reconcile(send=forging)


def test_digests_beyond_what_hq_acknowledged_are_refused(mission_a):
    with tenant_context(mission_a):
        outbox_add("2026-11-03T08:00:00Z", 2)
    last = hq_copy(mission_a)
    result = apply.bundle_receive(_digests_frame(mission_a, upto_seq=last + 1))
    assert result["refused"] == BundleRefusal.INCONSISTENT.value
    assert f"acknowledged up to #{last}" in result["detail"]


def test_a_frame_signed_by_another_missions_key_is_refused(mission_a, mission_b):
    # given beta's key signing a digests frame that claims to be alpha's
    with tenant_context(mission_b):
        from sync.keys import signing_key_active

        beta_key = signing_key_active(code="beta")
    content = _digests_frame(mission_a).content
    content["header"]["key_id"] = beta_key.key_id
    bundle = bundle_sign(content, beta_key.private_seed)
    result = apply.bundle_receive(bundle)
    assert result["refused"] in {
        BundleRefusal.BAD_SIGNATURE.value, BundleRefusal.UNKNOWN_KEY.value,
    }  # fmt: skip


def _repair_frame(mission: Any, events: list[dict[str, Any]], days: list[str]) -> SignedBundle:
    from sync.keys import signing_key_active

    with tenant_context(mission):
        key = signing_key_active(code=mission.code)
    header = reconcile._header(
        "repair", code=mission.code, key_id=key.key_id, days=days, event_count=len(events)
    )
    return bundle_sign({"header": header, "events": events}, key.private_seed)


def test_a_repair_applied_twice_changes_nothing_the_second_time(mission_a, projected):
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 3)
        upto = seqs[-1]
    hq_copy(mission_a, leave_out=seqs[:1])
    with tenant_context(mission_a):
        bundle = next(reconcile.repair_bundles_build(
            code=mission_a.code, days=["2026-11-03"], upto_seq=upto
        ))  # fmt: skip
    first = apply.bundle_receive(bundle)
    second = apply.bundle_receive(bundle)
    assert (first["applied"], second["applied"]) == (1, 0)
    assert projected == seqs[:1]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"seq": 10**9}, BundleRefusal.INCONSISTENT),  # beyond HQ's mark
        ({"occurred_at": "2026-11-04T08:00:00.000000Z"}, BundleRefusal.INCONSISTENT),  # other day
        ({"occurred_at": "2026-11-03T25:00:00.000000Z"}, BundleRefusal.MALFORMED),
        ({"payload": "not an object"}, BundleRefusal.MALFORMED),
        ({"aggregate_id": "a\x00b"}, BundleRefusal.MALFORMED),
        ({"payload": {"text": "a\x00b"}}, BundleRefusal.MALFORMED),
        ({"topic": "x" * 101}, BundleRefusal.MALFORMED),
        ({"seq": True}, BundleRefusal.MALFORMED),
        ({"version": 40000}, BundleRefusal.MALFORMED),  # beyond a smallint
        ({"version": -1}, BundleRefusal.MALFORMED),
        ({"version": 0}, BundleRefusal.MALFORMED),
        ({"topic": ""}, BundleRefusal.MALFORMED),
        ({"aggregate_id": ""}, BundleRefusal.MALFORMED),
    ],
)
def test_a_bad_repair_is_refused_whole(mission_a, change, refusal):
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 2)
        events = list(reconcile.outbox_events_of_days(days=["2026-11-03"], upto_seq=seqs[-1]))
    hq_copy(mission_a, leave_out=seqs)
    events[0].update(change)
    result = apply.bundle_receive(_repair_frame(mission_a, events, ["2026-11-03"]))
    assert result["refused"] == refusal.value
    assert set(seqs) & set(central_seqs(mission_a)) == set()


def test_a_repair_whose_count_disagrees_is_refused(mission_a):
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 2)
        events = list(reconcile.outbox_events_of_days(days=["2026-11-03"], upto_seq=seqs[-1]))
    hq_copy(mission_a, leave_out=seqs)
    bundle = _repair_frame(mission_a, events, ["2026-11-03"])
    content = bundle.content
    content["events"] = content["events"][:1]
    from sync.keys import signing_key_active

    with tenant_context(mission_a):
        key = signing_key_active(code=mission_a.code)
    result = apply.bundle_receive(bundle_sign(content, key.private_seed))
    assert result["refused"] == BundleRefusal.INCONSISTENT.value


# --- The content hash -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO sync_outboxevent (topic, aggregate_type, aggregate_id, payload, occurred_at,"
        " content_hash) VALUES ('tests.probe.happened', 'probe', '1', '{}', now(), '\\x00')",
        "UPDATE public.sync_hq_centralevent SET content_hash = '\\x00'",
    ],
)
def test_nobody_writes_the_content_hash(mission_a, statement):
    # given an event at HQ
    with tenant_context(mission_a):
        outbox_add("2026-11-03T08:00:00Z")
    hq_copy(mission_a)
    # the column is generated: raw SQL cannot set it to hide an altered row
    with (
        tenant_context(mission_a),
        pytest.raises(ProgrammingError, match=r"generated|DEFAULT"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


def test_both_sides_hash_an_event_alike(mission_a):
    # given an event with text outside ASCII, an actor and a nested payload, copied to HQ
    with tenant_context(mission_a):
        seqs = outbox_add(
            "2026-11-03T08:00:00.123456Z", 1, payload='{"ad": "Çağrı", "x": [1, {"b": 2}]}'
        )
    hq_copy(mission_a)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.content_hash = c.content_hash"
            f' FROM "{mission_a.schema_name}".sync_outboxevent o'
            " JOIN public.sync_hq_centralevent c ON c.mission = %s AND c.seq = o.seq"
            " WHERE o.seq = %s",
            [mission_a.code, seqs[0]],
        )
        assert cursor.fetchone() == (True,)


# --- The command ----------------------------------------------------------------------------------


def test_the_command_prints_what_it_found_and_fixed(mission_a, monkeypatch):
    monkeypatch.setattr(reconcile, "_send_default", send)
    # given HQ lacks two of 120 events on one day
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 120)
    hq_copy(mission_a, leave_out=seqs[10:12])
    out = io.StringIO()
    # when the command runs
    call_command("sync_reconcile", "alpha", stdout=out)
    # then it names the day, the counts, and what it fixed
    lines = out.getvalue().splitlines()
    assert lines[0] == "alpha: comparing the days up to HQ's acknowledged mark ..."
    compared = lines[1].split(" days compared")[0]
    assert lines[1] == (
        f"{compared} days compared, 1 differed (2026-11-03: HQ 118 / mission 120 events),"
        " 2 events re-sent, 0 conflicts, 0 differences left"
    )
    assert lines[2].startswith(f"alpha: up to #{seqs[-1]}, ")


def test_the_command_fails_when_differences_are_left(mission_a, monkeypatch):
    monkeypatch.setattr(reconcile, "_send_default", send)
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 3)
    hq_copy(mission_a, alter=seqs[:1])
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 mission"):
        call_command("sync_reconcile", "--all", stdout=out)
    assert "1 conflicts, 1 differences left" in out.getvalue()


@pytest.mark.parametrize("args", [[], ["alpha", "--all"], ["nowhere"]])
def test_the_command_wants_missions_it_knows(db, args):
    with pytest.raises(CommandError):
        call_command("sync_reconcile", *args, stdout=io.StringIO())


def test_the_daily_task_reconciles_the_mission_it_runs_in(mission_a, monkeypatch):
    from sync import tasks

    monkeypatch.setattr(reconcile, "_send_default", send)
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 3)
    hq_copy(mission_a, leave_out=seqs[:1])
    with tenant_context(mission_a):
        summary = tasks.reconcile_mission()
    assert summary.endswith("1 events re-sent, 0 conflicts, 0 differences left")
    assert seqs[0] in central_seqs(mission_a)


def test_hqs_list_of_held_events_round_trips_and_a_bad_one_is_ignored():
    hashes = {5: "a" * 64, 6: "b" * 64, 9: "c" * 64}
    held = reconcile.held_encode(hashes)
    assert held == {"ranges": [[5, 6], [9, 9]], "hashes": "a" * 16 + "b" * 16 + "c" * 16}
    assert reconcile.held_decode(held) == {5: "a" * 16, 6: "b" * 16, 9: "c" * 16}
    # a list that does not add up is not used: the mission re-sends the whole day instead
    assert reconcile.held_decode({"ranges": [[5, 7]], "hashes": "a" * 32}) is None
    assert reconcile.held_decode({"ranges": "5-7", "hashes": ""}) is None
    assert reconcile.held_decode([]) is None


def test_an_hq_admin_imports_a_file_holding_a_digests_frame(mission_a):
    # given a file carried by hand holding a digests frame (HQ answers it with a signed frame)
    from consulate.kernel.actors import SYSTEM
    from missions.services.sync import sync_hq_answer_export, sync_hq_file_import

    with tenant_context(mission_a):
        outbox_add("2026-11-03T08:00:00Z", 2)
    hq_copy(mission_a)
    data = file_pack([_digests_frame(mission_a)])
    # when HQ imports it, the import answers (no server error), and so does HQ's answer file
    imported = sync_hq_file_import(mission=mission_a, acting_user=SYSTEM, data=data)
    assert imported.bundles
    assert imported.answer_token
    answer = sync_hq_answer_export(
        mission=mission_a, acting_user=SYSTEM, answer_token=imported.answer_token
    )
    assert [frame.header["kind"] for frame in file_unpack(answer)][:1] == ["ack"]


def test_what_the_database_refuses_in_a_handler_is_a_refusal_not_an_error(mission_a, monkeypatch):
    # given a repair whose insert the database refuses (standing in for a value the checks let
    # through)
    with tenant_context(mission_a):
        seqs = outbox_add("2026-11-03T08:00:00Z", 2)
        events = list(reconcile.outbox_events_of_days(days=["2026-11-03"], upto_seq=seqs[-1]))
    hq_copy(mission_a, leave_out=seqs)
    monkeypatch.setattr(hq_reconcile, "INSERT_MISSING", "SELECT %s::int, %s, %s, %s")
    # when it arrives, then it is refused and logged, and nothing is written
    result = apply.bundle_receive(_repair_frame(mission_a, events, ["2026-11-03"]))
    assert result["refused"] == BundleRefusal.INCONSISTENT.value
    assert "database refused" in result["detail"]
    assert set(seqs) & set(central_seqs(mission_a)) == set()
