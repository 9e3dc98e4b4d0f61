"""A push over real HTTP: HQ served by a real gunicorn process on the test database, the mission
pushing to it through `SYNC_HQ_URL`; HQ stopped for a while (the mission keeps working, the
push backs off), then back: every event arrives once. The same server answers bad bodies with
400 and 413 in JSON."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from django.db import IntegrityError, connection, transaction

from consulate.kernel.actors import SYSTEM
from consulate.kernel.events import EventTopic
from sync.error_codes import SyncError
from sync.export import push
from sync.hq.models import CentralEvent, HeldBundle, MissionKey, MissionLink, RefusedBundle
from sync.models import OutboxEvent, SyncLink
from sync.services import outbox_event_record
from tests.processes import HqServer, free_port

MAX_BYTES = 300_000  # the server's SYNC_PUSH_MAX_BYTES


class WireTopic(EventTopic):
    SENT = "tests.wire.sent"


@pytest.fixture
def hq_server(committed_db) -> Iterator[HqServer]:  # type: ignore[no-untyped-def]
    server = HqServer(free_port(), SYNC_PUSH_MAX_BYTES=str(MAX_BYTES))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def record(count: int) -> int:
    with transaction.atomic():
        for n in range(count):
            outbox_event_record(topic=WireTopic.SENT, aggregate_id=n, payload={"n": n},
                                acting_user=SYSTEM)  # fmt: skip
    return OutboxEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def hq_events(code: str) -> list[int]:
    connection.set_schema_to_public()
    return list(
        CentralEvent.objects.filter(mission=code).order_by("seq").values_list("seq", flat=True)
    )


def forget_at_hq(code: str) -> None:
    """What HQ learned of the throwaway mission, where HQ lets it go: the central log may be
    append-only (HQ's own guard); its rows name a code never used again, in a test database
    dropped at the end of the run."""
    connection.set_schema_to_public()
    for model in (HeldBundle, MissionLink, RefusedBundle, MissionKey, CentralEvent):
        try:
            with transaction.atomic():
                model.objects.filter(mission=code).delete()
        except IntegrityError:
            pass


def test_a_mission_pushes_over_http_through_an_outage(throwaway_mission, hq_server, settings):
    code = throwaway_mission.code
    settings.SYNC_HQ_URL, settings.SYNC_PUSH_TIMEOUT = hq_server.url, 20
    try:
        # given a mission with events, and HQ up
        connection.set_tenant(throwaway_mission)
        first = record(30)
        # when it pushes over HTTP, then HQ has every event and the mission HQ's mark
        result = push(code=code)
        assert result.ok, result.error
        assert result.acked_seq == first
        assert hq_events(code) == list(range(1, first + 1))

        # when HQ stops, the mission keeps working, and its push fails and backs off
        hq_server.stop()
        connection.set_tenant(throwaway_mission)
        during = record(25)
        result = push(code=code)
        assert SyncError.UNREACHABLE.value in result.error
        link = SyncLink.objects.get(pk=1)
        assert (link.failures, link.acked_seq) == (1, first)
        assert link.next_attempt_at is not None
        # and more work while HQ is away
        last = record(5)
        assert last == during + 5

        # when HQ is back, then one push delivers everything, each event once
        hq_server.start()
        connection.set_tenant(throwaway_mission)
        result = push(code=code)
        assert result.ok, result.error
        assert result.acked_seq == last
        assert hq_events(code) == list(range(1, last + 1))
        connection.set_tenant(throwaway_mission)
        link = SyncLink.objects.get(pk=1)
        assert (link.failures, link.next_attempt_at, link.acked_seq) == (0, None, last)
    finally:
        forget_at_hq(code)


def post(server: HqServer, body: bytes, **headers: str) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310
        f"{server.url}/sync/v1/push", data=body, method="POST",
        headers={"Content-Type": "application/vnd.consulate.bundles", **headers},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status, {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    "body",
    [b"garbage", b"\x00" * 1000, b"CSF1CSB1\x00\x00\x00\x09{", b"CSE1" + bytes(200)],
)
def test_the_real_endpoint_answers_garbage_with_400(hq_server, body):
    status, answer = post(hq_server, body)
    assert status == 400
    assert answer["code"] == "sync.file_invalid"
    assert answer["message"]


def test_the_real_endpoint_answers_a_huge_body_with_413(hq_server):
    status, answer = post(hq_server, b"CSF1" + bytes(MAX_BYTES + 10))
    assert status == 413
    assert "fewer bundles" in answer["message"]
