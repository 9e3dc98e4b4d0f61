"""Benchmark: HQ applying signed events bundles, end to end from bytes.

    .venv/bin/python bench/sync_apply.py [--bundles 20] [--events 10000] [--sealed]
                                         [--database consulate_bench_sync]

Works in its own database (dropped and created again, migrated with `migrate_all`; the embedded
PostgreSQL when DATABASE_URL is unset, else the server DATABASE_URL names). It registers a
mission's Ed25519 key at HQ, builds `--bundles` signed bundles of `--events` events each in
chain order (booking and payment events shaped as docs/events.md describes them), and then
delivers each bundle as one push body (`sync.hq.apply.frames_receive`: read the frame,
canonical-JSON check, key look-up, signature, every event's fields, one INSERT per bundle,
projectors, the link), each in its own transaction, timing the whole. `--sealed` seals each
body for HQ (X25519 + AES-256-GCM) as a file carried by hand would be. Then it delivers them all
again (duplicates: compared with what HQ holds, nothing written).

Prints the events applied per second (target: 5,000 on the 2-core machine, issue 10), the
seconds per bundle, the duplicate pass, and the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.booking_settings")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _sync  # noqa: E402

MISSION = "benchsync"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundles", type=int, default=20)
    parser.add_argument("--events", type=int, default=10_000, help="events per bundle")
    parser.add_argument("--sealed", action="store_true", help="seal each body for HQ")
    _sync.database_argument(parser, "consulate_bench_sync")
    return parser.parse_args()


def event(seq: int, start: dt.datetime) -> dict[str, Any]:
    """A booking or a payment event, alternately, as the apps write them."""
    occurred = (start + dt.timedelta(seconds=seq)).strftime(TIME_FORMAT)
    if seq % 2:
        return {
            "seq": seq, "topic": "appointments.booking.created", "aggregate_type": "booking",
            "aggregate_id": str(100_000 + seq), "version": 1, "actor_id": None,
            "occurred_at": occurred,
            "payload": {"reference": f"B{seq:09d}", "service": "passport",
                        "starts_at": occurred, "persons": 1 + seq % 3},
        }  # fmt: skip
    return {
        "seq": seq, "topic": "fees.payment.created", "aggregate_type": "payment",
        "aggregate_id": str(200_000 + seq), "version": 1, "actor_id": 7, "occurred_at": occurred,
        "payload": {"subject_ref": f"booking:{100_000 + seq - 1}", "method": "card",
                    "amount_minor": 8_500 + seq % 1000, "currency": "EUR"},
    }  # fmt: skip


def bodies_build(args: argparse.Namespace, private: bytes) -> tuple[list[bytes], float]:
    """The push bodies, one signed bundle each; returns them and the seconds spent."""
    from sync import bundle as frame
    from sync import keys
    from sync.models import KeyPurpose

    recipient = keys.hq_key_ensure(KeyPurpose.ENCRYPT) if args.sealed else None
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    bodies, prev_hash, seq = [], "", 1
    started = time.perf_counter()
    for number in range(1, args.bundles + 1):
        events = [event(s, start) for s in range(seq, seq + args.events)]
        seq += args.events
        signed = frame.bundle_sign(
            {
                "header": {
                    "format": frame.FORMAT, "kind": "events", "mission": MISSION,
                    "number": number, "first_seq": events[0]["seq"],
                    "last_seq": events[-1]["seq"], "event_count": len(events),
                    "prev_hash": prev_hash,
                    "created_at": dt.datetime.now(dt.UTC).strftime(TIME_FORMAT), "key_id": 1,
                },
                "events": events,
            },
            private,
        )  # fmt: skip
        prev_hash = signed.hash
        if recipient is None:
            bodies.append(frame.file_pack([signed]))
        else:
            sealed = frame.file_pack(
                [signed], recipient_key=bytes(recipient.public_key),
                recipient_key_id=recipient.key_id,
            )  # fmt: skip
            bodies.append(sealed)
    return bodies, time.perf_counter() - started


def deliver_all(bodies: list[bytes]) -> tuple[list[float], list[dict[str, Any]]]:
    from sync.hq.apply import frames_receive

    times, answers = [], []
    for body in bodies:
        started = time.perf_counter()
        answers.extend(frames_receive(body, source="file"))
        times.append(time.perf_counter() - started)
    return times, answers


def main() -> None:
    args = parse_args()
    _sync.database_start(args.database)

    from sync import bundle as frame
    from sync import keys
    from sync.hq.models import CentralEvent, MissionLink

    _sync.run_describe(args.database)
    _sync.migrate_all()

    private, public = frame.signing_key_generate()
    keys.mission_key_register(mission=MISSION, key_id=1, public_key=public)
    total = args.bundles * args.events
    bodies, build_seconds = bodies_build(args, private)
    size = sum(len(body) for body in bodies)
    print(
        f"Built and signed {args.bundles} bundles x {args.events} events "
        f"({size / 1e6:.1f} MB{', sealed' if args.sealed else ''}) in {build_seconds:.2f} s: "
        f"{total / build_seconds:,.0f} events/s"
    )

    load_before = _sync.load_text()
    times, answers = deliver_all(bodies)
    load_after = _sync.load_text()
    elapsed = sum(times)
    refused = [a for a in answers if a["refused"]]
    assert not refused, refused[:1]
    applied = sum(a["applied"] for a in answers)
    stored = CentralEvent.objects.filter(mission=MISSION).count()
    link = MissionLink.objects.get(mission=MISSION)
    assert applied == stored == total == link.last_seq, (applied, stored, total, link.last_seq)
    print(
        f"Applied {applied:,} events in {elapsed:.2f} s: {applied / elapsed:,.0f} events/s "
        f"(per bundle: median {statistics.median(times):.3f} s, min {min(times):.3f}, "
        f"max {max(times):.3f}); link at #{link.last_seq}, bundle {link.last_bundle_number}"
    )
    print(
        f"Load average before {load_before}, after {load_after} "
        f"(1, 5, 15 min; {os.cpu_count()} CPUs, shared)"
    )

    dup_times, dup_answers = deliver_all(bodies)
    assert all(a["applied"] == 0 and a["refused"] is None for a in dup_answers)
    assert CentralEvent.objects.filter(mission=MISSION).count() == total
    print(
        f"Delivered all again (duplicates, compared, nothing written) in {sum(dup_times):.2f} s: "
        f"{total / sum(dup_times):,.0f} events/s"
    )


if __name__ == "__main__":
    main()
