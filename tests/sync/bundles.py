"""Signed events bundles built straight from lists of events, for tests of HQ's side.

HQ knows a mission only by its code and its registered public key, so these tests need no
mission schema: `MissionChain.register()` makes a key pair and registers the public half at HQ
(`sync.keys.mission_key_register`, as `mission_create` does), then `next_bundle()` builds the
mission's bundles in chain order, as the mission's export would.

`at_once` runs the same work on two connections to a mission at the same moment (two builders,
two pushes), for the tests that try to make them overlap.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections

from sync import bundle as frame
from sync import keys

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
TOPIC = "tests.probe.happened"


def utc_text(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime(TIME_FORMAT)


def event_make(seq: int, **fields: Any) -> dict[str, Any]:
    """An event as it travels in a bundle; `fields` replace the defaults."""
    return {
        "seq": seq,
        "topic": TOPIC,
        "aggregate_type": "probe",
        "aggregate_id": str(seq),
        "payload": {"n": seq},
        "version": 1,
        "actor_id": None,
        "occurred_at": utc_text(),
        **fields,
    }


def events_bundle(
    *,
    mission: str,
    number: int,
    events: list[dict[str, Any]],
    prev_hash: str,
    private_seed: bytes,
    key_id: int,
    created_at: str | None = None,
    **header: Any,
) -> frame.SignedBundle:
    """A signed events bundle whose header is computed from `events`; `header` overrides any
    header field (to build inconsistent ones)."""
    content = {
        "header": {
            "format": frame.FORMAT,
            "kind": "events",
            "mission": mission,
            "number": number,
            "first_seq": events[0]["seq"] if events else 0,
            "last_seq": events[-1]["seq"] if events else 0,
            "event_count": len(events),
            "prev_hash": prev_hash,
            "created_at": created_at or utc_text(),
            "key_id": key_id,
            **header,
        },
        "events": events,
    }
    return frame.bundle_sign(content, private_seed)


@dataclass
class MissionChain:
    """One mission's signing key and the chain of bundles it has built so far."""

    code: str
    key_id: int
    private_seed: bytes
    public_key: bytes
    number: int = 0
    last_hash: str = ""
    next_seq: int = 1
    built: list[frame.SignedBundle] = field(default_factory=list)

    @classmethod
    def register(cls, code: str | None = None, *, key_id: int = 1) -> MissionChain:
        """A new mission (a fresh code unless given) whose public key HQ knows."""
        private, public = frame.signing_key_generate()
        code = code or f"m{uuid.uuid4().hex[:12]}"
        keys.mission_key_register(mission=code, key_id=key_id, public_key=public)
        return cls(code=code, key_id=key_id, private_seed=private, public_key=public)

    def next_events(self, count: int, **fields: Any) -> list[dict[str, Any]]:
        events = [event_make(self.next_seq + i, **fields) for i in range(count)]
        self.next_seq += count
        return events

    def next_bundle(
        self, count: int = 3, *, events: list[dict[str, Any]] | None = None
    ) -> frame.SignedBundle:
        """The next bundle of the chain: `count` fresh events, or the `events` given (which
        must continue the seqs)."""
        if events is None:
            events = self.next_events(count)
        else:
            self.next_seq = events[-1]["seq"] + 1
        self.number += 1
        signed = events_bundle(
            mission=self.code, number=self.number, events=events, prev_hash=self.last_hash,
            private_seed=self.private_seed, key_id=self.key_id,
        )  # fmt: skip
        self.last_hash = signed.hash
        self.built.append(signed)
        return signed

    def rotate(self) -> dict[str, Any]:
        """A new key pair; returns the rotation event's fields (seq not set) to put in the next
        bundle, which is still signed by the old key. Call `key_switch()` after building it."""
        private, public = frame.signing_key_generate()
        self._next_key = (self.key_id + 1, private, public)
        return {
            "topic": "sync.signing_key.rotated",
            "aggregate_type": "signing_key",
            "aggregate_id": str(self.key_id + 1),
            "payload": {"key_id": self.key_id + 1, "public_key": public.hex()},
        }

    def key_switch(self) -> None:
        self.key_id, self.private_seed, self.public_key = self._next_key


def at_once(mission: Any, work: Callable[[], None], *, threads: int = 2) -> list[Exception]:
    """Run `work` in `threads` threads that start together (a barrier), each on its own
    database connection set to `mission`'s schema; returns what they raised. The mission and
    its rows must be committed (a `throwaway_mission` test), since each thread has its own
    connection."""
    barrier = threading.Barrier(threads)
    errors: list[Exception] = []

    def run() -> None:
        try:
            connection.set_tenant(mission)
            barrier.wait()
            work()
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return errors
