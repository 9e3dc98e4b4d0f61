"""A push, end to end in one database: bundles up, HQ's signed answer down. The answer is
checked as strictly as a bundle is at HQ (tampered, another key, another mission: refused, and
nothing changes), failures back off, and HQ's endpoint answers bad bodies with a 4xx."""

from __future__ import annotations

import http.server
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from consulate.kernel.events import EventTopic
from sync import bundle, keys
from sync.error_codes import SyncError
from sync.export import (
    answer_apply,
    backoff_delay,
    bundles_build,
    push,
    push_if_due,
)
from sync.hq.answer import answer_build, push_answer
from sync.hq.models import CentralEvent, MissionLink
from sync.models import KeyPurpose, OutboxEvent, SentBundle, SyncLink
from sync.services import outbox_event_record
from sync.transport import exchange
from tests.sync.bundles import at_once

ENDPOINT = "/sync/v1/push"
BUNDLES = "application/vnd.consulate.bundles"


class PushTopic(EventTopic):
    DONE = "tests.push.done"


def record(count: int) -> int:
    with transaction.atomic():
        for n in range(count):
            outbox_event_record(
                topic=PushTopic.DONE, aggregate_id=n, payload={"n": n}, acting_user=SYSTEM
            )
    return OutboxEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def link() -> SyncLink:
    return SyncLink.objects.get(pk=1)


def at_hq(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    with schema_context("public"):
        return function(*args, **kwargs)


def hq_answer(mission: str, **header) -> bytes:  # type: ignore[no-untyped-def]
    """An answer signed by HQ's real key, as HQ would build it, with `header` changes."""
    key = at_hq(keys.hq_key_ensure, KeyPurpose.SIGN)
    content = {
        "header": {
            "format": "consulate-sync/1", "kind": "ack", "mission": mission, "acked_seq": 0,
            "want": [], "reference_version": 0, "created_at": "2026-12-03T07:00:00.000000Z",
            "key_id": key.key_id, **header,
        },
        "refused": [],
        "results": [],
    }  # fmt: skip
    return bundle.file_pack([bundle.bundle_sign(content, at_hq(keys.hq_key_private, key))])


# --- a push ----------------------------------------------------------------------------------


def test_a_push_delivers_every_event_once_and_records_hqs_mark(in_mission_a):
    # given mission A with 30 events on top of its opening ones
    last = record(30)
    # when it pushes
    result = push(code="alpha")
    # then HQ applied every event and the mission holds HQ's signed mark
    assert result.ok, result.error
    assert result.acked_seq == last
    assert at_hq(CentralEvent.objects.filter(mission="alpha").count) == last
    state = link()
    assert (state.acked_seq, state.failures, state.next_attempt_at) == (last, 0, None)
    assert state.last_success_at is not None
    assert not SentBundle.objects.filter(acked_at__isnull=True).exists()
    # and a push with nothing new sends the newest bundle again: HQ answers, nothing doubles
    again = push(code="alpha")
    assert again.ok
    assert again.sent == [SentBundle.objects.order_by("-number").first().number]
    assert at_hq(CentralEvent.objects.filter(mission="alpha").count) == last


def test_a_gap_at_hq_is_asked_for_and_sent_again(in_mission_a):
    # given three bundles of which HQ receives only the third
    record(25)
    built = bundles_build(code="alpha", max_events=10)
    answer = exchange(bundle.file_pack([bundle.SignedBundle.from_bytes(bytes(built[-1].data))]),
                      reference_version=0)  # fmt: skip
    # when the mission applies HQ's answer
    outcome = answer_apply(answer, code="alpha")
    # then nothing is acknowledged and the missing range is recorded
    assert outcome["acked_seq"] == 0
    assert link().resend_ranges == [[1, built[-1].first_seq - 1]]
    # and the next push fills the gap and HQ applies all of it, the held bundle too
    result = push(code="alpha")
    assert result.ok
    assert result.acked_seq == built[-1].last_seq
    assert link().resend_ranges == []


def test_a_refusal_at_hq_counts_as_a_failure(in_mission_a):
    # given HQ has revoked mission A's key (a stolen laptop)
    key_id = keys.signing_key_active(code="alpha").key_id
    at_hq(keys.mission_key_revoke, mission="alpha", key_id=key_id, reason="stolen")
    record(3)
    # when the mission pushes
    result = push(code="alpha")
    # then HQ refused, said why, and the mission backs off
    assert not result.ok
    assert "sync.bundle.revoked_key" in result.error
    assert link().failures == 1
    assert at_hq(CentralEvent.objects.filter(mission="alpha").count) == 0


# --- HQ's answer, checked ---------------------------------------------------------------------


def _unchanged(before: SyncLink) -> None:
    after = link()
    assert (after.acked_seq, after.resend_ranges) == (before.acked_seq, before.resend_ranges)
    assert not SentBundle.objects.filter(acked_at__isnull=False).exists()


def test_a_tampered_answer_is_refused_and_changes_nothing(in_mission_a):
    # given a genuine answer acknowledging everything
    last = record(5)
    bundles_build(code="alpha")
    genuine = hq_answer("alpha", acked_seq=last)
    before = link()
    # when any one byte of its frame is flipped
    for position in range(4, len(genuine), max(1, len(genuine) // 40)):
        tampered = bytearray(genuine)
        tampered[position] ^= 0x20
        # then it is refused and nothing changed
        with pytest.raises(ApplicationError) as caught:
            answer_apply(bytes(tampered), code="alpha")
        assert caught.value.code is SyncError.FILE_INVALID
        _unchanged(before)
    # while the genuine answer is taken
    assert answer_apply(genuine, code="alpha")["acked_seq"] == last


def test_an_answer_signed_by_another_key_is_refused(in_mission_a):
    # given an ack that claims HQ's key id but is signed by someone else's key
    last = record(5)
    bundles_build(code="alpha")
    hq_key = at_hq(keys.hq_key_ensure, KeyPurpose.SIGN)
    stranger, _ = bundle.signing_key_generate()
    header = {"format": "consulate-sync/1", "kind": "ack", "mission": "alpha", "acked_seq": last,
              "want": [], "created_at": "2026-12-03T07:00Z", "key_id": hq_key.key_id}  # fmt: skip
    content = {"header": header}
    forged = bundle.file_pack([bundle.bundle_sign(content, stranger)])
    unknown = bundle.file_pack(
        [bundle.bundle_sign({**content, "header": {**content["header"], "key_id": 99}}, stranger)]
    )
    before = link()
    # when the mission applies either, then both are refused and nothing changed
    for answer in (forged, unknown):
        with pytest.raises(ApplicationError):
            answer_apply(answer, code="alpha")
        _unchanged(before)


def test_an_answer_for_another_mission_is_refused(in_mission_a):
    # given HQ's genuine ack for mission B
    last = record(5)
    bundles_build(code="alpha")
    for_b = hq_answer("beta", acked_seq=last)
    before = link()
    # when mission A applies it, then it is refused and nothing changed
    with pytest.raises(ApplicationError) as caught:
        answer_apply(for_b, code="alpha")
    assert "another mission" in str(caught.value.message)
    _unchanged(before)


def test_an_old_answer_replayed_does_not_move_the_mark_back(in_mission_a):
    # given a mission HQ has acknowledged up to its last event
    last = record(6)
    bundles_build(code="alpha")
    answer_apply(hq_answer("alpha", acked_seq=last), code="alpha")
    # when an older genuine answer arrives again
    outcome = answer_apply(hq_answer("alpha", acked_seq=2), code="alpha")
    # then the mark stays where it was
    assert outcome["acked_seq"] == last == link().acked_seq
    # and HQ cannot acknowledge what the mission never bundled
    answer_apply(hq_answer("alpha", acked_seq=last + 1000), code="alpha")
    assert link().acked_seq == last


def test_reference_data_in_the_answer_goes_to_the_reference_module(in_mission_a, monkeypatch):
    # given HQ has reference data newer than the mission's version 0
    applied: list[bundle.SignedBundle] = []
    reference_key = at_hq(keys.hq_key_ensure, KeyPurpose.SIGN)
    frame = bundle.bundle_sign(
        {"header": {"format": "consulate-sync/1", "kind": "reference", "version": 3,
                    "created_at": "2026-12-03T07:00:00.000000Z", "key_id": reference_key.key_id},
         "data": {}},
        at_hq(keys.hq_key_private, reference_key),
    )  # fmt: skip
    from sync import export
    from sync.hq import answer

    monkeypatch.setattr(
        answer, "reference_latest_after", lambda version: frame if version < 3 else None
    )
    monkeypatch.setattr(
        export, "reference_apply", lambda received: applied.append(received) or True
    )
    record(1)
    # when the mission pushes
    result = push(code="alpha")
    # then the reference frame was handed over as HQ signed it
    assert result.ok
    assert [f.to_bytes() for f in applied] == [frame.to_bytes()]
    # and an answer to a mission already on version 3 carries none
    answer = at_hq(answer_build, [], mission="alpha", reference_version=3)
    assert [f.header["kind"] for f in bundle.file_unpack(answer)] == ["ack"]


# --- backoff ---------------------------------------------------------------------------------


def test_backoff_grows_to_six_hours_and_resets_on_success(in_mission_a, settings):
    # given HQ's address answers nothing (a closed port)
    settings.SYNC_HQ_URL = "http://127.0.0.1:9"
    settings.SYNC_PUSH_TIMEOUT = 2
    record(2)
    # when the mission pushes twice
    waits = []
    for failures in (1, 2):
        started = timezone.now()
        result = push(code="alpha")
        assert SyncError.UNREACHABLE.value in result.error
        state = link()
        assert state.failures == failures
        waits.append(state.next_attempt_at - started)
        assert "cannot be reached" in state.last_error
    # then it waits about 2, then about 4 minutes (give or take a tenth)
    assert timedelta(minutes=1.8) <= waits[0] <= timedelta(minutes=2.2, seconds=5)
    assert timedelta(minutes=3.6) <= waits[1] <= timedelta(minutes=4.4, seconds=5)
    # and beat's push waits for that time
    assert push_if_due(code="alpha") is None
    assert link().failures == 2
    # and the wait never exceeds six hours (and a tenth)
    assert timedelta(hours=5.4) <= backoff_delay(30) <= timedelta(hours=6.6)
    # when HQ is back (in this database), then one push succeeds and the count resets
    settings.SYNC_HQ_URL = ""
    SyncLink.objects.filter(pk=1).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    result = push_if_due(code="alpha")
    assert result is not None
    assert result.ok
    state = link()
    assert (state.failures, state.next_attempt_at, state.last_error) == (0, None, "")


class _Answers(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"code": "sync.file_invalid", "message": "too big"}'
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


@pytest.mark.parametrize(
    ("status", "code"), [(503, SyncError.UNREACHABLE), (413, SyncError.FILE_INVALID)]
)
def test_hqs_http_errors_are_told_apart(settings, status, code):
    # given an HQ that answers with an HTTP error
    handler = type("Handler", (_Answers,), {"status": status})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SYNC_HQ_URL = f"http://127.0.0.1:{server.server_port}/"
    try:
        # when a mission sends, then a server error is "unreachable" (retried), a refusal is not
        with pytest.raises(ApplicationError) as caught:
            exchange(b"CSF1", reference_version=0)
    finally:
        server.shutdown()
        server.server_close()
    assert caught.value.code is code
    if status == 413:
        assert "too big" in str(caught.value.message)


# --- HQ's endpoint ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"garbage",
        b"\x00" * 64,
        b"CSF1",  # a file with no frame
        b"CSF1CSB1\x00\x00\x00\x10{}",  # a truncated frame
        b"CSF1CSB1\xff\xff\xff\xff",  # a frame claiming 4 GB
        b"CSE1" + b"\x00" * 100,  # sealed for a key HQ does not have
        "ğ\u0000".encode() * 50,
    ],
)
def test_the_endpoint_answers_unreadable_bodies_with_400(client_hq, body):
    # when a body nobody can read is pushed
    response = client_hq.post(ENDPOINT, data=body, content_type=BUNDLES)
    # then HQ says why in JSON, and nothing is applied
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "sync.file_invalid"
    assert response.json()["message"]
    assert not CentralEvent.objects.exists()


def test_the_endpoint_refuses_a_body_over_the_limit_with_413(client_hq, settings):
    # given a limit of 1,000 bytes
    settings.SYNC_PUSH_MAX_BYTES = 1000
    # when a larger body is pushed (declared or not)
    response = client_hq.post(ENDPOINT, data=b"CSF1" + b"x" * 2000, content_type=BUNDLES)
    # then 413, with a message that says what to do
    assert response.status_code == 413
    assert "fewer bundles" in response.json()["message"]


def test_the_endpoint_takes_only_posts_and_a_numeric_version(client_hq):
    assert client_hq.get(ENDPOINT).status_code == 405
    response = client_hq.post(
        ENDPOINT, data=b"CSF1", content_type=BUNDLES, HTTP_X_CONSULATE_REFERENCE_VERSION="x"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "sync.file_invalid"


def test_the_endpoint_applies_a_push_and_answers_with_a_signed_ack(client_hq, mission_a):
    # given mission A's bundles, larger than Django's 2.5 MB form limit
    with schema_context(mission_a.schema_name):
        with transaction.atomic():
            for n in range(9000):
                outbox_event_record(
                    topic=PushTopic.DONE,
                    aggregate_id=n,
                    payload={"n": n, "pad": "x" * 300},
                    acting_user=SYSTEM,
                )
        built = bundles_build(code="alpha")
        body = bundle.file_pack(bundle.SignedBundle.from_bytes(bytes(b.data)) for b in built)
    assert len(body) > 2_500_000
    # when they are posted to HQ's endpoint without any session
    response = client_hq.post(ENDPOINT, data=body, content_type=BUNDLES,
                              HTTP_X_CONSULATE_REFERENCE_VERSION="0")  # fmt: skip
    # then HQ applied them and answers with an ack the mission accepts
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == BUNDLES
    assert MissionLink.objects.get(mission="alpha").last_seq == built[-1].last_seq
    with schema_context(mission_a.schema_name):
        assert answer_apply(response.content, code="alpha")["acked_seq"] == built[-1].last_seq


def test_an_unreadable_push_is_refused_in_process_too(in_mission_a):
    # when HQ in this database gets a body it cannot read
    with pytest.raises(ApplicationError) as caught:
        at_hq(push_answer, b"nonsense", reference_version=0)
    # then the refusal is an application error with the reasons, not a crash
    assert caught.value.code is SyncError.FILE_INVALID
    assert caught.value.details["refused"][0]["reason"] == "sync.bundle.malformed"


# --- beat --------------------------------------------------------------------------------------


def test_beat_queues_one_push_in_every_active_mission(mission_a, mission_b, monkeypatch):
    # given beat's task, run in public
    from sync import tasks

    queued: list[str] = []
    monkeypatch.setattr(tasks.push_to_hq, "delay", lambda: queued.append(connection.schema_name))
    # when it runs, then one push is queued in each mission's schema
    tasks.every_mission_push_to_hq()
    from missions.models import Mission

    active = Mission.objects.filter(status="active").exclude(schema_name="public")
    assert sorted(queued) == sorted(active.values_list("schema_name", flat=True))
    assert {mission_a.schema_name, mission_b.schema_name} <= set(queued)


def test_the_push_task_waits_out_the_backoff(mission_a):
    from django_tenants.utils import tenant_context

    from sync.tasks import push_to_hq

    with tenant_context(mission_a):
        # given a mission whose last failure set the next try an hour from now
        last = record(3)
        SyncLink.objects.filter(pk=1).update(
            failures=3, next_attempt_at=timezone.now() + timedelta(hours=1)
        )
        # when beat's task runs, then nothing is sent
        push_to_hq()
        assert link().acked_seq == 0
        # when the time has come, then it pushes
        SyncLink.objects.filter(pk=1).update(next_attempt_at=timezone.now())
        push_to_hq()
        assert link().acked_seq == last
        assert link().failures == 0


_frame_bodies = st.builds(
    lambda prefix, length, rest: prefix + length.to_bytes(4, "big") + rest,
    st.sampled_from([b"CSF1CSB1", b"CSE1", b"CSF1", b"", b"CSB1"]),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.binary(max_size=300),
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(_frame_bodies, st.binary(min_size=1, max_size=400)))
def test_the_endpoint_never_answers_500(client_hq, body):
    # whatever bytes arrive, HQ answers with a 4xx and a JSON reason, never a crash
    response = client_hq.post(ENDPOINT, data=body, content_type=BUNDLES)
    assert response.status_code in (400, 413)
    assert response.json()["code"] == "sync.file_invalid"


def test_after_a_stolen_key_the_new_key_carries_what_hq_refused(in_mission_a):
    from io import StringIO

    from django.core.management import call_command

    # given a mission HQ has heard up to its first bundle, then HQ revokes its key
    first = record(3)
    assert push(code="alpha").ok
    old = keys.signing_key_active(code="alpha").key_id
    at_hq(keys.mission_key_revoke, mission="alpha", key_id=old, reason="laptop stolen")
    last = record(4)
    refused = push(code="alpha")
    assert "revoked_key" in refused.error
    # when the mission takes a new key and signs its unacknowledged bundles again with it
    out = StringIO()
    call_command("sync_key", "rotate", "alpha", "--resign", stdout=out)
    new = keys.signing_key_active(code="alpha")
    assert f"signed again with it. At HQ: sync_key register alpha {new.key_id} " in out.getvalue()
    tail = list(SentBundle.objects.filter(last_seq__gt=first).order_by("number"))
    assert {sent.key_id for sent in tail} == {new.key_id}
    # then HQ still refuses until an HQ admin registers the new key by hand
    call_command("sync_key", "register", "alpha", str(new.key_id), new.public_key.hex(),
                 stdout=StringIO())  # fmt: skip
    # and then the push delivers everything, each event once, the chain unbroken
    result = push(code="alpha")
    assert result.ok, result.error
    rotation_seq = last + 1
    assert result.acked_seq == rotation_seq
    assert at_hq(
        lambda: list(CentralEvent.objects.filter(mission="alpha").values_list("seq", flat=True))
    ) == list(range(1, rotation_seq + 1))


def test_two_pushes_at_once_deliver_every_event_once(throwaway_mission):
    # given a committed mission with events (beat's push and a person's "push now" collide)
    connection.set_tenant(throwaway_mission)
    with transaction.atomic():
        for n in range(120):
            outbox_event_record(topic=PushTopic.DONE, aggregate_id=n, payload={"n": n},
                                acting_user=SYSTEM)  # fmt: skip
    last = OutboxEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    connection.set_schema_to_public()
    code = throwaway_mission.code
    results: list = []

    def push_three_times() -> None:
        for _ in range(3):
            results.append(push(code=code))

    # when two connections push at the same moment, three times each
    errors = at_once(throwaway_mission, push_three_times)
    # then no push failed, HQ has every event once, and the mission holds the full mark
    assert errors == []
    assert all(result.ok for result in results), [r.error for r in results]
    connection.set_schema_to_public()
    seqs = list(
        CentralEvent.objects.filter(mission=code).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, last + 1))
    connection.set_tenant(throwaway_mission)
    assert link().acked_seq == last


def test_a_reference_version_beyond_hqs_newest_is_recorded_as_hqs_newest(in_mission_a):
    # given HQ has published no reference data beyond version 0 (or some version n)
    from sync.hq.models import ReferenceVersion

    newest = at_hq(lambda: ReferenceVersion.objects.order_by("-version").first())
    newest_version = newest.version if newest else 0
    record(2)
    body = bundle.file_pack(
        [bundle.SignedBundle.from_bytes(bytes(sent.data)) for sent in bundles_build(code="alpha")]
    )
    # when the mission's push claims version 2**31 - 1
    at_hq(push_answer, body, reference_version=2**31 - 1)
    # then HQ records no more than its own newest version, so later versions still go out
    acked = at_hq(lambda: MissionLink.objects.get(mission="alpha").reference_version_acked)
    assert acked == newest_version
