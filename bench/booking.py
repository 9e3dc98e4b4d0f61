"""Benchmark: booking under contention through a real HTTP server, against pgbench.

    .venv/bin/python bench/booking.py [--clients 32] [--slots 100] [--workers 4]
                                      [--seconds 20] [--database consulate_bench_booking]

Works in its own database (dropped and created again; the embedded PostgreSQL when
DATABASE_URL is unset). It creates one mission with two counters and a passport service with
slots over a 90-day horizon, and `--clients` citizen accounts with sessions. Then:

1. HTTP. gunicorn (`--workers` processes, threads 4 each) serves the mission; `--clients`
   threads, each its own account and keep-alive connection, POST /api/v1/appointments/bookings/
   for a random slot among the first `--slots` (capacity 2 each) with a fresh passport number,
   until every place is taken. Every request is timed. Afterwards the database is checked for
   oversold slots (booked > capacity, or more active bookings than capacity).
2. pgbench, same run, same server: a transaction of the same shape (take a place with
   `UPDATE … WHERE booked < capacity`, insert the booking, its person, two history rows and an
   outbox event) over the same number of hot slots, with as many clients, for `--seconds`.
3. Listing the bookable slots of the service over horizons of 30, 90 and 180 days: time and
   query count (`slot_list_available`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.booking_settings")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--seconds", type=int, default=20, help="pgbench duration")
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--database", default="consulate_bench_booking")
    args = parser.parse_args()
    if not args.database.replace("_", "").isalnum() or args.database == "consulate":
        parser.error("--database must be a plain name other than the project database")
    return args


def setup(clients: int) -> tuple[object, list[tuple[str, str]], list[int]]:
    """Mission, catalogue, slots, accounts with sessions. Returns (service, cookies, slot ids)."""
    import datetime as dt

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django_tenants.utils import schema_context

    from appointments import services
    from appointments.selectors import slot_list_available
    from consulate.kernel.accounts.models import User
    from consulate.kernel.actors import SYSTEM
    from missions.services import mission_create

    mission = mission_create(
        code=MISSION, name="Benchmark consulate", kind="consulate_general", host_country="DE",
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
            duration_minutes=15, horizon_days=180, min_notice_hours=0, cancel_cutoff_hours=0,
            max_persons=1,
        )  # fmt: skip
        services.slot_generate(service=service, acting_user=SYSTEM)
        slot_ids = [s.pk for s in slot_list_available(service=service)]
    password = make_password("bench-password")
    users = User.objects.bulk_create(
        [User(email=f"bench{n}@example.org", password=password) for n in range(clients)]
    )
    cookies = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        csrf = secrets.token_hex(16)  # 32 characters: a valid unmasked CSRF secret
        cookies.append(
            (f"{settings.SESSION_COOKIE_NAME}={session.session_key}; csrftoken={csrf}", csrf)
        )
    return service, cookies, slot_ids


def start_server(args: argparse.Namespace, url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.booking_settings"}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "consulate.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    host = f"{MISSION}.localhost"
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
            conn.request("GET", "/api/v1/appointments/services/", headers={"Host": host})
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def http_contention(
    args: argparse.Namespace, cookies: list[tuple[str, str]], hot: list[int]
) -> dict[str, object]:
    host = f"{MISSION}.localhost"
    latencies: list[float] = []
    outcomes: dict[int, int] = {}
    lock = threading.Lock()
    full: set[int] = set()
    barrier = threading.Barrier(len(cookies))

    def client(n: int) -> None:
        cookie, csrf = cookies[n]
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        rng = random.Random(n)
        mine: list[float] = []
        counts: dict[int, int] = {}
        barrier.wait()
        attempt = 0
        while True:
            with lock:
                open_slots = [s for s in hot if s not in full]
            if not open_slots:
                break
            slot = rng.choice(open_slots)
            attempt += 1
            body = json.dumps({
                "service": "passport", "slot": slot,
                "persons": [{"full_name": f"Bench {n}", "date_of_birth": "1990-01-01",
                             "document_number": f"B{n:03d}X{attempt:06d}"}],
            })  # fmt: skip
            started = time.perf_counter()
            conn.request(
                "POST", "/api/v1/appointments/bookings/", body=body,
                headers={"Host": host, "Cookie": cookie, "X-CSRFToken": csrf,
                         "Content-Type": "application/json"},
            )  # fmt: skip
            response = conn.getresponse()
            payload = response.read()
            mine.append(time.perf_counter() - started)
            counts[response.status] = counts.get(response.status, 0) + 1
            if response.status == 400 and b"slot_full" in payload:
                with lock:
                    full.add(slot)
            elif response.status not in (201, 400):
                raise SystemExit(f"unexpected {response.status}: {payload[:300]!r}")
        with lock:
            latencies.extend(mine)
            for status, count in counts.items():
                outcomes[status] = outcomes.get(status, 0) + count

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(cookies))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    booked = outcomes.get(201, 0)
    return {
        "elapsed": elapsed,
        "booked": booked,
        "requests": len(latencies),
        "bookings_per_s": booked / elapsed,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "outcomes": outcomes,
    }


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
END;
"""


def run_pgbench(args: argparse.Namespace) -> dict[str, float]:
    from django.db import connection

    from consulate import embedded_db

    with connection.cursor() as cursor:
        cursor.execute(PGBENCH_SETUP.format(slots=args.slots))
        cursor.execute("SET search_path TO public")
    connection.ensure_connection()
    info = connection.connection.info  # the server actually used: socket folder or host, port
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_SCRIPT.format(slots=args.slots))
    command = [
        str(embedded_db.bin_dir() / "pgbench"), "-n", "-f", script.name,
        "-c", str(args.clients), "-j", str(min(args.clients, 4)), "-T", str(args.seconds),
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

    import django

    django.setup()
    from django.core.management import call_command

    print(f"Database {args.database} (dropped and created again)")
    for line in machine_description():
        print(line)
    call_command("migrate_all", verbosity=0)
    service, cookies, slot_ids = setup(args.clients)
    hot = slot_ids[: args.slots]
    print(
        f"{len(slot_ids)} bookable slots over 180 days; {len(hot)} hot slots x capacity 2 ="
        f" {2 * len(hot)} places; {args.clients} clients; gunicorn {args.workers} workers x 4"
        " threads"
    )
    from django.db import connections

    connections.close_all()
    server = start_server(args, url)
    try:
        result = http_contention(args, cookies, hot)
    finally:
        server.terminate()
        server.wait()
    load_http = os.getloadavg()[0]
    over_counter, over_rows, places = oversold(MISSION)
    bench = run_pgbench(args)
    print()
    print(f"HTTP booking: {result['booked']} bookings in {result['elapsed']:.1f} s"
          f" = {result['bookings_per_s']:.1f} bookings/s; {result['requests']} requests"
          f" ({result['requests_per_s']:.1f}/s), statuses {result['outcomes']}")  # fmt: skip
    print(f"  latency p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms")
    print(f"  oversold slots: {over_counter} (counter), {over_rows} (booking rows);"
          f" places taken {places} of {2 * len(hot)}")  # fmt: skip
    print(f"1-minute load average after the HTTP run: {load_http:.1f}")
    print(f"pgbench same shape: {bench['tps']:.1f} tps, latency avg {bench['latency_ms']:.2f} ms")
    print(f"ratio HTTP bookings/s : pgbench tps = {result['bookings_per_s'] / bench['tps']:.3f}")
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


if __name__ == "__main__":
    main()
