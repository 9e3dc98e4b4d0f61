"""Benchmark: a mission's outbox built into signed bundles of 10,000 events (`bundles_build`).

    .venv/bin/python bench/sync_export.py [--events 60000] [--bundle 10000] [--database NAME]

Works in its own database (default `consulate_bench_sync`, dropped and created again; the
embedded PostgreSQL when DATABASE_URL is unset, else that server with the name replaced),
migrated with `migrate_all`, with one mission made by `mission_create`. It fills the mission's
outbox with `--events` events shaped like the booking and fee events (about 250 bytes of
payload each) through the outbox's own trigger, then times `bundles_build` over all of them, as
a mission's push after a long outage does: read (one query per bundle), canonical JSON (RFC
8785), Ed25519 signature, the `SentBundle` row and the link, one transaction per bundle. It
prints events/s overall and the split of one bundle's time between reading, canonicalising and
signing (measured again on the same rows, outside the build), then times a sealed file of all
the bundles (`file_export`). Target (issue 10): at least as fast as HQ applies, 5,000 events/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consulate.settings.local")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _sync  # noqa: E402
from bench._server import _stat  # noqa: E402

FILL_SQL = """
    INSERT INTO sync_outboxevent (topic, aggregate_type, aggregate_id, payload, version,
                                  actor_id, occurred_at)
    SELECT CASE WHEN n %% 3 = 0 THEN 'fees.payment.recorded' ELSE 'appointments.booking.created'
           END,
           CASE WHEN n %% 3 = 0 THEN 'payment' ELSE 'booking' END,
           n::text,
           jsonb_build_object(
               'service_id', n %% 17, 'slot_id', n, 'reference', md5(n::text),
               'starts_at', to_char(now() + n * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               'amount_minor', (n * 37) %% 100000, 'currency', 'EUR', 'channel', 'online',
               'lines', jsonb_build_array(jsonb_build_object('fee', 'passport', 'qty', 1))),
           1, NULL, now() - (%(count)s - n) * interval '1 second'
      FROM generate_series(1, %(count)s) AS n
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--bundle", type=int, default=10_000, help="events per bundle")
    _sync.database_argument(parser, "consulate_bench_sync")
    args = parser.parse_args()
    _sync.database_start(args.database)

    import json

    import rfc8785
    from django.db import connection
    from django_tenants.utils import tenant_context

    from sync import bundle, keys
    from sync.bundle import canonical
    from sync.export import _events_after, bundles_build, file_export
    from sync.models import SentBundle

    _sync.run_describe(args.database)
    _sync.migrate_all()
    mission = _sync.mission_make("benchsync")

    with tenant_context(mission):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(FILL_SQL, {"count": args.events})
        total = args.events + 1  # and the mission's opening event
        print(f"outbox filled with {args.events:,} events in {time.perf_counter() - started:.1f} s")

        # the split of one bundle's work, on the first rows (outside the build)
        t0 = time.perf_counter()
        events = _events_after(0, args.bundle)
        t1 = time.perf_counter()
        content = {"header": {"kind": "events"}, "events": events}
        body = canonical(content)
        t2 = time.perf_counter()
        slow = rfc8785.dumps(content)
        t2b = time.perf_counter()
        assert slow == body
        key = keys.signing_key_active(code=mission.code)
        bundle.sign(body, key.private_seed)
        t3 = time.perf_counter()
        print(
            f"one bundle of {len(events):,} events, {len(body) / 1e6:.2f} MB: read {t1 - t0:.3f} s"
            f", canonical JSON {t2 - t1:.3f} s (rfc8785 alone: {t2b - t2:.3f} s, same bytes)"
            f", Ed25519 {t3 - t2b:.3f} s"
        )
        assert json.loads(body) == content

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        backend_cpu = _stat(backend)  # None when the server is on another machine
        started, cpu = time.perf_counter(), time.process_time()
        built = bundles_build(code=mission.code, max_events=args.bundle)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        backend_after = _stat(backend)
        assert sum(b.event_count for b in built) == total
        size = sum(len(b.data) for b in SentBundle.objects.all())
        print(
            f"bundles_build: {len(built)} bundles, {total:,} events, {size / 1e6:.1f} MB in "
            f"{seconds:.2f} s = {total / seconds:,.0f} events/s "
            f"({seconds / len(built):.3f} s per bundle)"
        )
        if backend_cpu and backend_after:
            db_cpu = backend_after[1] - backend_cpu[1]
            print(
                f"  CPU: builder {cpu:.2f} s + its PostgreSQL backend {db_cpu:.2f} s = "
                f"{total / (cpu + db_cpu):,.0f} events per CPU-second (what a machine with a "
                f"free core would reach; the wall-clock figure above includes waiting for CPU)"
            )

        started = time.perf_counter()
        data = file_export(code=mission.code, sealed=True)
        seconds = time.perf_counter() - started
        print(
            f"file_export (sealed, all {len(built)} bundles): {len(data) / 1e6:.1f} MB in "
            f"{seconds:.2f} s"
        )
    print(f"load average after: {_sync.load_text()}")


if __name__ == "__main__":
    main()
