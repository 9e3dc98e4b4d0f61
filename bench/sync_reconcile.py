"""Benchmark: reconciling a mission of 1,000,000 events with HQ (`sync.reconcile`).

    .venv/bin/python bench/sync_reconcile.py [--events 1000000] [--days 400] [--runs 3]
                                              [--lose 40] [--database consulate_bench_reconcile]

It never touches the developer's database: it drops and creates its own (on the embedded
PostgreSQL when DATABASE_URL is unset, else on DATABASE_URL's server), runs `migrate_all`,
creates one mission, and fills:

- the mission's outbox with `--events` events over `--days` UTC days, inserted by
  `generate_series` through the outbox's own trigger (it assigns seq; nothing is disabled),
  in statements of `--batch` rows (each row updates the one counter row, and in one
  statement every update walks the versions before it: big statements cost quadratically);
- HQ's central log with the same events (an INSERT ... SELECT from the outbox), both sides
  acknowledged up to the last one, then VACUUM ANALYZE (as autovacuum would have).

Then it times `mission_reconcile` end to end (digests on both sides, the signed frames, HQ's
answer, through `sync.transport` with HQ in the same database), `--runs` times with nothing
to repair, and prints each run and the digests' SQL on each side alone. Last it deletes
`--lose` events at HQ (spread over the days; as the database owner), reconciles again, and
prints the report and the time: the repair path.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consulate.settings.local")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _sync  # noqa: E402

# rows per INSERT through the trigger. Each row updates the one counter row; in one transaction
# every update walks the versions before it, so big statements cost quadratically.

OUTBOX_FILL = """
INSERT INTO sync_outboxevent (topic, aggregate_type, aggregate_id, payload, version, actor_id,
                              occurred_at)
SELECT (ARRAY['appointments.booking.created', 'appointments.booking.cancelled',
              'fees.payment.recorded', 'fees.receipt.issued'])[1 + g %% 4],
       (ARRAY['booking', 'booking', 'payment', 'receipt'])[1 + g %% 4],
       g::text,
       jsonb_build_object('id', g, 'reference', 'BER-' || lpad(g::text, 8, '0'),
                          'service', 'passport', 'amount_minor', g %% 50000, 'currency', 'EUR',
                          'slot_starts_at', to_char(timestamptz '2025-10-01' + g * %s::interval,
                                                    'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
       1, CASE WHEN g %% 3 = 0 THEN NULL ELSE g %% 40 END,
       timestamptz '2025-10-01 00:00:00+00' + g * %s::interval
FROM generate_series(%s, %s) g
"""

HQ_COPY = """
INSERT INTO public.sync_hq_centralevent (mission, seq, topic, aggregate_type, aggregate_id,
    payload, version, actor_id, occurred_at, bundle_number, applied_at)
SELECT %s, seq, topic, aggregate_type, aggregate_id, payload, version, actor_id, occurred_at,
       1 + seq / 10000, now()
FROM sync_outboxevent
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lose", type=int, default=40, help="events deleted at HQ at the end")
    parser.add_argument("--batch", type=int, default=100, help="rows per INSERT (outbox fill)")
    _sync.database_argument(parser, "consulate_bench_reconcile")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database a previous run filled (no fill)"
    )
    parser.add_argument(
        "--fast-fill",
        action="store_true",
        help="fill the outbox as the database's superuser with its triggers off for the fill "
        "(seq from generate_series, the counter set after): seconds instead of about 20 minutes. "
        "Reconciliation only reads, so what it measures is the same; the default fill goes "
        "through the trigger, as the application writes",
    )
    return parser.parse_args()


def _fast_fill(cursor: Any, step: str, events: int) -> None:
    """The same rows as OUTBOX_FILL, numbered by generate_series, with the outbox's triggers
    off for this session only (`session_replication_role`, a superuser's setting); the counter
    is then set to the last number, as the trigger would have left it."""
    cursor.execute("SELECT coalesce(max(seq), 0) FROM sync_outboxevent")
    (base,) = cursor.fetchone()
    sql = OUTBOX_FILL.replace(
        "INSERT INTO sync_outboxevent (topic,", "INSERT INTO sync_outboxevent (seq, topic,"
    ).replace("SELECT (ARRAY[", f"SELECT {int(base)} + g, (ARRAY[", 1)
    cursor.execute("SET session_replication_role = replica")
    try:
        cursor.execute(sql, [step, step, 1, events])
        cursor.execute(
            "UPDATE sync_outboxcounter SET last_seq = (SELECT max(seq) FROM sync_outboxevent)"
        )
    finally:
        cursor.execute("SET session_replication_role = origin")


def fill(args: argparse.Namespace) -> tuple[Any, int]:
    """A new mission, its outbox filled through the trigger, HQ's copy; both acknowledged."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from sync.hq.models import MissionLink
    from sync.models import SyncLink

    started = time.perf_counter()
    _sync.migrate_all()
    mission = _sync.mission_make("berlin")
    print(f"migrate_all and mission_create: {time.perf_counter() - started:.1f} s")

    step = f"{args.days * 86400 / args.events} seconds"
    with tenant_context(mission):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            if args.fast_fill:
                _fast_fill(cursor, step, args.events)
            for first in range(1, args.events + 1, args.batch):
                if args.fast_fill:
                    break
                last = min(first + args.batch - 1, args.events)
                cursor.execute(OUTBOX_FILL, [step, step, first, last])
                if first // args.batch % 200 == 0:
                    print(f"  outbox: {last:,} events", end="\r", flush=True)
        seconds = time.perf_counter() - started
        how = "with the triggers off (--fast-fill)" if args.fast_fill else "through the trigger"
        print(f"outbox: {args.events:,} events {how} in {seconds:.1f} s "
              f"({args.events / seconds:,.0f}/s)")  # fmt: skip
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(HQ_COPY, [mission.code])
            cursor.execute("SELECT max(seq) FROM sync_outboxevent")
            (upto,) = cursor.fetchone()
        print(f"HQ central log: same events copied in {time.perf_counter() - started:.1f} s")
        SyncLink.objects.filter(pk=1).update(acked_seq=upto)
    MissionLink.objects.update_or_create(mission=mission.code, defaults={"last_seq": upto})
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM ANALYZE "{mission.schema_name}".sync_outboxevent')
        cursor.execute("VACUUM ANALYZE public.sync_hq_centralevent")
    print(f"VACUUM ANALYZE both: {time.perf_counter() - started:.1f} s")

    return mission, upto


def main() -> None:
    args = parse_args()
    _sync.database_start(args.database, recreate=not args.reuse)

    from django.db import connection
    from django_tenants.utils import tenant_context

    from sync import reconcile
    from sync.hq import reconcile as hq_reconcile
    from sync.hq.models import MissionLink

    _sync.run_describe(args.database, recreated=not args.reuse)
    if args.reuse:
        from missions.models import Mission

        mission = Mission.objects.get(code="berlin")
        upto = MissionLink.objects.get(mission=mission.code).last_seq
        print(f"reusing mission berlin, acknowledged up to #{upto:,}")
    else:
        mission, upto = fill(args)

    with tenant_context(mission):
        started = time.perf_counter()
        mine = reconcile.outbox_digests(upto_seq=upto)
        seconds = time.perf_counter() - started
        print(f"digests SQL, mission side: {len(mine)} days in {seconds:.2f} s")
    started = time.perf_counter()
    ours = hq_reconcile.central_digests(mission=mission.code, upto_seq=upto)
    seconds = time.perf_counter() - started
    print(f"digests SQL, HQ side:      {len(ours)} days in {seconds:.2f} s")

    runs = []
    for run in range(1, args.runs + 1):
        with tenant_context(mission):
            started = time.perf_counter()
            report = reconcile.mission_reconcile()
            runs.append(time.perf_counter() - started)
        print(f"run {run}: {runs[-1]:.2f} s  {report.summary()}")
    print(f"reconcile, {upto:,} events, nothing to repair: median {statistics.median(runs):.2f} s "
          f"(min {min(runs):.2f}, max {max(runs):.2f})")  # fmt: skip

    if args.lose:
        stride = max(upto // args.lose, 1)
        lost = list(range(stride // 2, upto + 1, stride))[: args.lose]
        with connection.cursor() as cursor:
            # as the database owner: HQ's copy damaged behind the application's back
            cursor.execute("ALTER TABLE public.sync_hq_centralevent DISABLE TRIGGER USER")
            cursor.execute(
                "DELETE FROM public.sync_hq_centralevent WHERE mission = %s AND seq = ANY(%s)",
                [mission.code, lost],
            )
            cursor.execute("ALTER TABLE public.sync_hq_centralevent ENABLE TRIGGER USER")
        with tenant_context(mission):
            started = time.perf_counter()
            report = reconcile.mission_reconcile()
            seconds = time.perf_counter() - started
        print(f"after deleting {len(lost)} events at HQ: {seconds:.2f} s")
        print(f"  {report.summary()}")
        if report.resent != len(lost) or report.left:
            raise SystemExit("the repair did not restore exactly the events deleted")
    print(f"load average after: {_sync.load_text()}")


if __name__ == "__main__":
    main()
