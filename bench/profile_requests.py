"""Profile: what one request costs on the server, warm, in-process (no network, no client).

    .venv/bin/python bench/profile_requests.py [--requests 200] [--profile booking]
                                               [--database consulate_bench_profile]

Works in its own database (dropped and created again; the embedded PostgreSQL when
DATABASE_URL is unset; `CACHE_URL=redis://127.0.0.1:6379/9` for the production-shaped cache).
Settings: bench/booking_settings.py (DEBUG off). It creates one mission with a passport service,
a citizen with a session and an officer with a session that passed the second factor, then
sends requests through Django's full handler (every middleware, the session and CSRF cookies,
the tenant's host) with transactions committing as in production:

- the citizen's pages: the mission home, the appointments catalogue, a service's calendar, the
  availability feed;
- the officer's staff day sheet;
- a booking through the API (each a fresh slot and document number), and one refused because
  its slot is full (`booking_full`: the answer most clients get at a release).

For each it prints the statements sent (`SET search_path` included), the server time (median and
p90) and the process's own CPU time per request (median; the Python side, whatever the machine's
load) over `--requests` warm requests, and the database server's CPU per request (the mean, from
its process for this connection, where the server runs on this machine; "-" elsewhere).
`--profile NAME` also runs cProfile over that request kind and prints the 30 functions with the
most cumulative time and the 20 with the most own time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.booking_settings")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import process_cpu  # noqa: E402
from bench.mission_create import (  # noqa: E402
    bench_database_url,
    machine_description,
    recreate_database,
)

MISSION = "benchprof"
KINDS = ("home", "catalogue", "calendar", "feed", "day_sheet", "booking", "booking_full")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", choices=KINDS, default=None)
    parser.add_argument("--show-sql", choices=KINDS, default=None)
    parser.add_argument(
        "--profile-out", default=None, help="also write the --profile stats to this file (pstats)"
    )
    parser.add_argument("--database", default="consulate_bench_profile")
    args = parser.parse_args()
    if not args.database.replace("_", "").isalnum() or args.database == "consulate":
        parser.error("--database must be a plain name other than the project database")
    return args


def setup() -> dict[str, object]:
    from allauth.mfa.totp.internal.auth import TOTP
    from django.test import Client

    from bench.booking import mission_setup
    from consulate.kernel.accounts.models import User
    from consulate.kernel.actors import SYSTEM
    from missions.models import Role
    from missions.services import membership_grant

    mission, service, _desks = mission_setup(code=MISSION, horizon_days=60)
    password = "bench-password"  # noqa: S105  # a throwaway database's accounts
    citizen = User.objects.create_user(email="citizen@example.org", password=password)
    officer = User.objects.create_user(email="officer@example.org", password=password)
    membership_grant(mission=mission, user=officer, role=Role.OFFICER, acting_user=SYSTEM)
    TOTP.activate(officer, "JBSWY3DPEHPK3PXP")
    host = f"{MISSION}.localhost"
    clients = {}
    for name, user in (("citizen", citizen), ("officer", officer)):
        client = Client(HTTP_HOST=host)
        client.force_login(user, backend="missions.auth.ModelBackend")
        clients[name] = client
    return {
        "mission": mission, "service": service, "clients": clients,
        "full_slot": full_slot_make(service),
    }  # fmt: skip


def full_slot_make(service: object) -> int:
    """A slot whose places are all taken (two bookings by other accounts), for the refusal."""
    from django_tenants.utils import schema_context

    from appointments import services
    from consulate.kernel.accounts.models import User
    from consulate.kernel.actors import SYSTEM

    # a day ahead, well inside the horizon (the last slots lie beyond it until their hour)
    slot = free_slots(MISSION)[100]
    with schema_context(MISSION):
        for n in (1, 2):
            other = User.objects.create_user(email=f"other{n}@example.org", password=None)
            person = services.PersonInput(
                full_name=f"Other {n}",
                date_of_birth=dt.date(1990, 1, 1),
                document_number=f"FULL{n:04d}",
            )
            services.booking_create(
                slot_id=slot, service=service, user=other, language="en", acting_user=SYSTEM,
                persons=[person],
            )  # fmt: skip
    return slot


def free_slots(schema: str) -> list[int]:
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from appointments.models import Slot

    with schema_context(schema):
        return list(
            Slot.objects.filter(starts_at__gt=timezone.now(), booked=0)
            .order_by("starts_at")
            .values_list("pk", flat=True)
        )


def request_of(kind: str, clients: dict[str, object], slots: list[int], n: int):  # type: ignore[no-untyped-def]
    citizen, officer = clients["citizen"], clients["officer"]
    if kind == "home":
        return lambda: citizen.get("/")  # type: ignore[attr-defined]
    if kind == "catalogue":
        return lambda: citizen.get("/appointments/")  # type: ignore[attr-defined]
    if kind == "calendar":
        return lambda: citizen.get("/appointments/passport/")  # type: ignore[attr-defined]
    if kind == "feed":
        return lambda: citizen.get("/appointments/availability.json")  # type: ignore[attr-defined]
    if kind == "day_sheet":
        return lambda: officer.get("/staff/appointments/")  # type: ignore[attr-defined]
    body = json.dumps({
        "service": "passport", "slot": slots[0] if kind == "booking_full" else slots.pop(0),
        "persons": [{"full_name": "Bench Person", "date_of_birth": "1990-01-01",
                     "document_number": f"P{n:08d}"}],
    })  # fmt: skip
    return lambda: citizen.post(  # type: ignore[attr-defined]
        "/api/v1/appointments/bookings/", body, content_type="application/json"
    )


def measure(kind: str, args: argparse.Namespace, context: dict[str, object]) -> dict[str, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    clients = context["clients"]
    slots = [context["full_slot"]] if kind == "booking_full" else free_slots(MISSION)
    expected = {"booking": 201, "booking_full": 400}.get(kind, 200)
    for n in range(5):  # warm: caches, the data key, the first compiled templates
        response = request_of(kind, clients, slots, 10**6 + n)()  # type: ignore[arg-type]
        assert response.status_code == expected, (kind, response.status_code, response.content)
        if kind == "booking_full":
            assert response.json()["code"] == "appointments.slot_full", response.content
    with CaptureQueriesContext(connection) as queries:
        request_of(kind, clients, slots, 2 * 10**6)()  # type: ignore[arg-type]
    statements = [q["sql"] for q in queries.captured_queries]
    timings, cpu = [], []
    backend = backend_pid()
    backend_started = process_cpu(backend)
    for n in range(args.requests):
        send = request_of(kind, clients, slots, n)  # type: ignore[arg-type]
        started, started_cpu = time.perf_counter(), time.process_time()
        response = send()
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert response.status_code == expected, (kind, response.status_code)
    backend_ended = process_cpu(backend) if backend_pid() == backend else None
    timings.sort()
    profile_text = ""
    if args.profile == kind:
        profiler = cProfile.Profile()
        for n in range(args.requests):
            send = request_of(kind, clients, slots, 3 * 10**6 + n)  # type: ignore[arg-type]
            profiler.enable()
            send()
            profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
        profile_text = out.getvalue()
        if args.profile_out:
            stats.dump_stats(args.profile_out)
    return {
        "statements": statements,
        "p50_ms": statistics.median(timings) * 1000,
        "p90_ms": timings[int(len(timings) * 0.9)] * 1000,
        "cpu_ms": statistics.median(cpu) * 1000,
        "db_cpu_ms": (
            (backend_ended - backend_started) / args.requests * 1000
            if backend_started is not None and backend_ended is not None
            else None
        ),
        "profile": profile_text,
    }


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def db_cpu_text(ms: object) -> str:
    return "-" if ms is None else f"{ms:.2f}"


def main() -> None:
    args = parse_args()
    url = bench_database_url(args.database)
    recreate_database(url, args.database)
    os.environ["DATABASE_URL"] = url

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    print(f"Database {args.database} (dropped and created again)")
    for line in machine_description():
        print(line)
    print(f"Cache: {settings.CACHES['default']['BACKEND']}; sessions: {settings.SESSION_ENGINE}")
    call_command("migrate_all", verbosity=0)
    # One account books every slot here: its rate limit is lifted in this process only.
    settings.APPOINTMENTS_RATE_LIMITS = {
        action: (10**9, 60) for action in ("book", "cancel", "lottery", "read")
    }
    print("Rate limits lifted in this process (one account makes every booking)")
    context = setup()
    print(f"{args.requests} warm requests of each kind, in-process (Django's full handler)")
    print()
    print(
        f"{'request':<12} {'statements':>10} {'SET':>4} {'p50 ms':>8} {'p90 ms':>8}"
        f" {'CPU p50 ms':>10} {'DB CPU ms':>9}"
    )
    for kind in KINDS:
        result = measure(kind, args, context)
        statements = result["statements"]
        sets = sum(1 for s in statements if s.startswith("SET search_path"))  # type: ignore[union-attr]
        print(
            f"{kind:<12} {len(statements):>10} {sets:>4} {result['p50_ms']:>8.1f}"  # type: ignore[arg-type]
            f" {result['p90_ms']:>8.1f} {result['cpu_ms']:>10.1f}"  # type: ignore[str-format]
            f" {db_cpu_text(result['db_cpu_ms']):>9}"
        )
        if args.show_sql == kind:
            shapes = Counter(" ".join(str(s).split()[:4]) for s in statements)  # type: ignore[union-attr]
            for statement in statements:  # type: ignore[union-attr]
                print("    ", str(statement)[:160])
            print("    ", dict(shapes))
        if result["profile"]:
            print(result["profile"])
    print(f"1-minute load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
