"""Benchmark: booking under contention through a real HTTP server, against pgbench.

    .venv/bin/python bench/booking.py [--clients 32] [--slots 100] [--workers 4] [--threads 4]
                                      [--seconds 20] [--database consulate_bench_booking]
                                      [--worker-class gthread] [--cache-url redis://...]

Works in its own database (dropped and created again; the embedded PostgreSQL when
DATABASE_URL is unset). It creates one mission with two counters and a passport service with
slots over a 90-day horizon, and enough citizen accounts with sessions. Then:

1. HTTP. gunicorn (bench/booking_settings.py; `--workers` processes x `--threads`) serves the
   mission; `--clients` clients of one asyncio load process (bench/_http.py), each on its own
   keep-alive connection, POST /api/v1/appointments/bookings/ for a random slot among the first
   `--slots` (capacity 2 each) with a fresh passport number, until every place is taken. The
   per-address rate limit is lifted for loopback; the per-account one holds, so a client changes
   account before its budget is spent. Every request is timed. Afterwards the database is
   checked for oversold slots (booked > capacity, or more active bookings than capacity).
2. pgbench, same run, same server: a transaction of the same shape (take a place with
   `UPDATE … WHERE booked < capacity`, insert the booking, its person, two history rows and an
   outbox event) over the same number of hot slots, with as many clients, for `--seconds`.
3. Listing the bookable slots of the service over horizons of 30, 90 and 180 days: time and
   query count (`slot_list_available`).

bench/release_rush.py runs the release-moment rush, the pages under load, the lottery and the
rate limits besides.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import import_module
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.booking_settings")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import server_arguments, server_start, server_stop  # noqa: E402
from bench.mission_create import (  # noqa: E402
    bench_database_url,
    machine_description,
    recreate_database,
)

MISSION = "benchbook"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--slots", type=int, default=100, help="hot slots (capacity 2 each)")
    parser.add_argument("--seconds", type=int, default=20, help="pgbench duration")
    parser.add_argument("--database", default="consulate_bench_booking")
    server_arguments(parser, workers=4, threads=4)
    args = parser.parse_args()
    if not args.database.replace("_", "").isalnum() or args.database == "consulate":
        parser.error("--database must be a plain name other than the project database")
    return args


def mission_setup(*, code: str = MISSION, horizon_days: int = 180) -> tuple[Any, Any, list[Any]]:
    """The benchmark's mission: two desks open 08-18 every day, a passport service (15 minutes,
    `horizon_days` ahead, no notice) with its slots. Returns (mission, service, desks)."""
    from django_tenants.utils import schema_context

    from appointments import services
    from consulate.kernel.actors import SYSTEM
    from missions.services import mission_create

    mission = mission_create(
        code=code, name="Benchmark consulate", kind="consulate_general", host_country="DE",
        city="Berlin", timezone="Europe/Berlin", currency="EUR", languages=["de", "en"],
        acting_user=SYSTEM, jurisdiction=["DE-BE"],
    )  # fmt: skip
    with schema_context(mission.schema_name):
        desks = [services.counter_create(name=f"Desk {n}", acting_user=SYSTEM) for n in (1, 2)]
        for weekday in range(7):
            services.opening_hours_set(
                weekday=weekday, spans=[(dt.time(8), dt.time(18))], acting_user=SYSTEM
            )
        service = services.service_create(
            code="passport", name="Passport application", counters=desks, acting_user=SYSTEM,
            duration_minutes=15, horizon_days=horizon_days, min_notice_hours=0,
            cancel_cutoff_hours=0,
            max_persons=1,
        )  # fmt: skip
        services.slot_generate(service=service, acting_user=SYSTEM)
    return mission, service, desks


def hot_slot_ids(service: Any, count: int) -> list[int]:
    """The first `count` bookable slots that start at least a day from now (none passes during
    the run)."""
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from appointments.selectors import slot_list_available

    tomorrow = timezone.now() + dt.timedelta(days=1)
    with schema_context(MISSION):
        slots = [s.pk for s in slot_list_available(service=service) if s.starts_at > tomorrow]
    return slots[:count]


def accounts_create(prefix: str, count: int) -> list[list[str]]:
    """`count` citizen accounts, each signed in: [cookie header, CSRF token] per account. The
    sessions go to the store the server reads (SESSION_ENGINE and CACHE_URL of the settings)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password

    from consulate.kernel.accounts.models import User

    store = import_module(settings.SESSION_ENGINE).SessionStore
    password = make_password("bench-password")
    users = User.objects.bulk_create(
        [User(email=f"{prefix}{n}@example.org", password=password) for n in range(count)]
    )
    accounts = []
    for user in users:
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "missions.auth.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        csrf = secrets.token_hex(16)  # 32 characters: a valid unmasked CSRF secret
        accounts.append(
            [f"{settings.SESSION_COOKIE_NAME}={session.session_key}; csrftoken={csrf}", csrf]
        )
    return accounts


def book_budget() -> int:
    """Booking requests one account may send without meeting its rate limit (one spare)."""
    from django.conf import settings

    from appointments.ratelimit import DEFAULT_LIMITS

    limits = getattr(settings, "APPOINTMENTS_RATE_LIMITS", {})
    return max(1, limits.get("book", DEFAULT_LIMITS["book"])[0] - 1)


def accounts_needed(*, clients: int, places: int, slots: int, budget: int) -> int:
    """Accounts for a steady-state run: every booking and every "full" answer costs one request
    of an account's budget (about one "full" answer per slot per client near the end)."""
    return clients + -(-(places * 3 // 2 + slots * 2) // budget)


def steady_booking(
    args: argparse.Namespace, accounts: list[list[str]], hot: list[int], *, doc_prefix: str
) -> dict[str, Any]:
    """Clients POST bookings on keep-alive connections, from a pool of accounts, until every
    place of the hot slots is taken (the load client runs in its own process)."""
    from bench._http import client_run

    return client_run({
        "kind": "book", "port": args.port, "host": f"{MISSION}.localhost",
        "service": "passport", "slots": hot, "clients": args.clients, "accounts": accounts,
        "budget": book_budget(), "doc_prefix": doc_prefix,
    })  # fmt: skip


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


def oversold(schema: str) -> tuple[int, int, int]:
    """(slots with booked > capacity, slots with more active bookings than capacity, places)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'SET search_path TO "{schema}", public')
        cursor.execute("SELECT count(*) FROM appointments_slot WHERE booked > capacity")
        counter_over = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT s.id FROM appointments_slot s"
            " JOIN appointments_booking b ON b.slot_id = s.id AND b.status = 'active'"
            " GROUP BY s.id, s.capacity HAVING count(*) > s.capacity) t"
        )
        rows_over = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(sum(booked), 0) FROM appointments_slot")
        places = cursor.fetchone()[0]
        cursor.execute("SET search_path TO public")
    return counter_over, rows_over, places


PGBENCH_SETUP = """
DROP SCHEMA IF EXISTS pgbench_shape CASCADE;
CREATE SCHEMA pgbench_shape;
SET search_path TO pgbench_shape;
CREATE TABLE slot (id int PRIMARY KEY, capacity int NOT NULL, booked int NOT NULL DEFAULT 0,
                   CHECK (booked <= capacity));
INSERT INTO slot SELECT g, 1000000000, 0 FROM generate_series(1, {slots}) g;
CREATE TABLE booking (id bigserial PRIMARY KEY, reference text UNIQUE, slot_id int REFERENCES slot,
                      user_id bigint, status text, created_at timestamptz DEFAULT now());
CREATE TABLE person (id bigserial PRIMARY KEY, booking_id bigint REFERENCES booking,
                     document bytea, document_index text, is_holding bool);
CREATE UNIQUE INDEX person_one ON person (document_index) WHERE is_holding;
CREATE TABLE history (id bigserial PRIMARY KEY, object_id bigint, data text,
                      at timestamptz DEFAULT now());
CREATE TABLE outbox (seq bigserial PRIMARY KEY, topic text, payload jsonb,
                     at timestamptz DEFAULT now());
CREATE TABLE confirmation_due (booking_id bigint PRIMARY KEY REFERENCES booking,
                               attempts smallint NOT NULL DEFAULT 0, next_attempt_at timestamptz);
"""

PGBENCH_SCRIPT = r"""
\set slot random(1, {slots})
BEGIN;
UPDATE pgbench_shape.slot SET booked = booked + 1 WHERE id = :slot AND booked < capacity;
INSERT INTO pgbench_shape.booking (reference, slot_id, user_id, status)
  VALUES (md5(random()::text || clock_timestamp()::text), :slot, :client_id, 'active');
INSERT INTO pgbench_shape.person (booking_id, document, document_index, is_holding)
  VALUES (currval('pgbench_shape.booking_id_seq'),
          decode(md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex'),
          md5(random()::text || clock_timestamp()::text), true);
INSERT INTO pgbench_shape.history (object_id, data)
  VALUES (currval('pgbench_shape.booking_id_seq'), 'booking +');
INSERT INTO pgbench_shape.history (object_id, data)
  VALUES (currval('pgbench_shape.person_id_seq'), 'person +');
INSERT INTO pgbench_shape.outbox (topic, payload)
  VALUES ('booking.created', jsonb_build_object('slot', :slot));
INSERT INTO pgbench_shape.confirmation_due (booking_id)
  VALUES (currval('pgbench_shape.booking_id_seq'));
END;
"""


def run_pgbench(*, slots: int, clients: int, seconds: int) -> dict[str, float]:
    """pgbench's rate for PGBENCH_SCRIPT over `slots` hot rows, on the server and database of
    the Django connection."""
    from django.db import connection

    from consulate import embedded_db

    with connection.cursor() as cursor:
        cursor.execute(PGBENCH_SETUP.format(slots=slots))
        cursor.execute("SET search_path TO public")
    connection.ensure_connection()
    info = connection.connection.info  # the server actually used: socket folder or host, port
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_SCRIPT.format(slots=slots))
    command = [
        str(embedded_db.bin_dir() / "pgbench"), "-n", "-f", script.name,
        "-c", str(clients), "-j", str(min(clients, 4)), "-T", str(seconds),
        "-h", str(info.host), "-p", str(info.port), "-U", str(info.user),
        "-d", str(info.dbname), "-r",
    ]  # fmt: skip
    env = {**os.environ}
    if info.password:
        env["PGPASSWORD"] = str(info.password)
    output = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    os.unlink(script.name)
    tps = float(next(line for line in output.splitlines() if line.startswith("tps")).split()[2])
    latency = float(
        next(line for line in output.splitlines() if line.startswith("latency average")).split()[3]
    )
    return {"tps": tps, "latency_ms": latency}


def listing(service: object) -> list[tuple[int, int, float, int, float, int]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import schema_context

    from appointments.selectors import slot_list_available, slot_next_available
    from appointments.services import service_update
    from consulate.kernel.actors import SYSTEM

    rows = []
    with schema_context(f"{MISSION}"):
        for horizon in (30, 90, 180):
            service_update(service=service, horizon_days=horizon, acting_user=SYSTEM)  # type: ignore[arg-type]
            timings = []
            for _ in range(5):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    slots = slot_list_available(service=service)  # type: ignore[arg-type]
                    timings.append(time.perf_counter() - started)
            nexts = []
            for _ in range(5):
                with CaptureQueriesContext(connection) as next_queries:
                    started = time.perf_counter()
                    slot_next_available(service=service)  # type: ignore[arg-type]
                    nexts.append(time.perf_counter() - started)
            rows.append(
                (
                    horizon, len(slots), statistics.median(timings) * 1000, len(queries),
                    statistics.median(nexts) * 1000, len(next_queries),
                )
            )  # fmt: skip
    return rows


def main() -> None:
    args = parse_args()
    url = bench_database_url(args.database)
    recreate_database(url, args.database)
    os.environ["DATABASE_URL"] = url
    if args.cache_url:
        os.environ["CACHE_URL"] = args.cache_url  # the sessions go where the server reads them

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    print(f"Database {args.database} (dropped and created again)")
    for line in machine_description():
        print(line)
    call_command("migrate_all", verbosity=0)
    _mission, service, _desks = mission_setup()
    hot = hot_slot_ids(service, args.slots)
    budget = book_budget()
    count = accounts_needed(
        clients=args.clients, places=2 * len(hot), slots=len(hot), budget=budget
    )
    accounts = accounts_create("bench", count)
    print(
        f"{len(hot)} hot slots x capacity 2 = {2 * len(hot)} places; {args.clients} clients,"
        f" {count} accounts ({budget} booking requests each: the per-account limit holds; the"
        f" per-address one is lifted for loopback); gunicorn {args.worker_class}"
        f" {args.workers} workers x {args.threads} threads"
    )
    connections.close_all()
    server = server_start(args, url, ready_host=f"{MISSION}.localhost")
    try:
        result = steady_booking(args, accounts, hot, doc_prefix="B")
    finally:
        server_stop(server)
    load_http = os.getloadavg()[0]
    over_counter, over_rows, places = oversold(MISSION)
    bench = run_pgbench(slots=args.slots, clients=args.clients, seconds=args.seconds)
    latencies = result["latencies_ms"]
    booked = result["statuses"].get("201", 0)
    rate = booked / result["elapsed_s"]
    print()
    print(f"HTTP booking: {booked} bookings in {result['elapsed_s']:.1f} s = {rate:.1f} bookings/s;"
          f" {len(latencies)} requests ({len(latencies) / result['elapsed_s']:.1f}/s),"
          f" statuses {result['statuses']}; load client CPU {result['cpu_s']:.2f} s")  # fmt: skip
    print(f"  latency p50 {percentile(latencies, 0.5):.1f} ms,"
          f" p99 {percentile(latencies, 0.99):.1f} ms")  # fmt: skip
    print(f"  oversold slots: {over_counter} (counter), {over_rows} (booking rows);"
          f" places taken {places} of {2 * len(hot)}")  # fmt: skip
    print(f"1-minute load average after the HTTP run: {load_http:.1f}")
    print(f"pgbench same shape: {bench['tps']:.1f} tps, latency avg {bench['latency_ms']:.2f} ms")
    print(f"ratio HTTP bookings/s : pgbench tps = {rate / bench['tps']:.3f}")
    print()
    print("List bookable slots over the horizon (median of 5):")
    for horizon, count, ms, queries, next_ms, next_queries in listing(service):
        print(
            f"  horizon {horizon:>3} d: all {count:>5} slots in {ms:.1f} ms ({queries} queries"
            f" incl. SET search_path); next free slot in {next_ms:.2f} ms ({next_queries} queries)"
        )
    print(f"1-minute load average at the end: {os.getloadavg()[0]:.1f}")
    if over_counter or over_rows:
        raise SystemExit("OVERSOLD")
    if any(status.startswith("5") for status in result["statuses"]):
        raise SystemExit("5xx answers")


if __name__ == "__main__":
    main()
