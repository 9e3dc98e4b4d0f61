"""Many writers at once, some rolling back: the outbox sequence stays gapless and unique."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection, connections, transaction

from consulate.kernel.actors import SYSTEM
from consulate.kernel.events import EventTopic
from sync.models import OutboxEvent
from sync.services import OutboxUsageError, outbox_event_record


class LoadTopic(EventTopic):
    WROTE = "tests.load.wrote"


WRITERS = 12
EVENTS_PER_WRITER = 15


class Rollback(Exception):
    pass


def write_events(mission, seed: int, committed: list[int], barrier: threading.Barrier) -> None:
    # each thread has its own database connection, like a web or worker process
    rng = random.Random(seed)
    try:
        connection.set_tenant(mission)
        barrier.wait()
        for _ in range(EVENTS_PER_WRITER):
            try:
                with transaction.atomic():
                    event = outbox_event_record(
                        topic=LoadTopic.WROTE, aggregate_id=seed, payload={"writer": seed},
                        acting_user=SYSTEM,
                    )  # fmt: skip
                    if rng.random() < 0.3:
                        raise Rollback
                committed.append(event.seq)
            except Rollback:
                pass
    finally:
        connections.close_all()


def test_parallel_writers_with_rollbacks_leave_no_gap(throwaway_mission):
    # given a mission whose outbox holds its opening event
    committed: list[int] = []
    barrier = threading.Barrier(WRITERS)
    threads = [
        threading.Thread(target=write_events, args=(throwaway_mission, n, committed, barrier))
        for n in range(WRITERS)
    ]
    # when many writers record events at once and about a third roll back
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the committed numbers are exactly 2..N+1, each once, after the opening event's 1
    connection.set_tenant(throwaway_mission)
    seqs = list(OutboxEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert sorted(committed) == seqs[1:]
    assert WRITERS * EVENTS_PER_WRITER * 0.5 < len(committed) < WRITERS * EVENTS_PER_WRITER


def test_recording_outside_a_transaction_is_refused(throwaway_mission):
    # given autocommit in a mission schema
    connection.set_tenant(throwaway_mission)
    assert not connection.in_atomic_block
    # when an event is recorded without the change's transaction
    with pytest.raises(OutboxUsageError):
        outbox_event_record(topic=LoadTopic.WROTE, aggregate_id=1, payload={}, acting_user=SYSTEM)
    # then nothing was written
    assert OutboxEvent.objects.filter(topic=LoadTopic.WROTE).count() == 0
