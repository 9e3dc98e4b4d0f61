"""Benchmark: the cost of `mission_create` as the number of missions grows.

    .venv/bin/python bench/mission_create.py [--missions 10,300] [--samples 5] [--database NAME]

It never touches the developer's database. It works in its own database (default
`consulate_bench`) on the same server: the embedded PostgreSQL when DATABASE_URL is unset, else
the server DATABASE_URL points at (only the database name is replaced). That database is dropped
and created again at the start, migrated with `migrate_all`, then grown to each target count by
calling `mission_create`. At each target it times `--samples` further `mission_create` calls and
keeps them (so the last sample at level N runs with N + samples - 1 missions present; growth to
the next level counts them). Each creation opens a new database connection, as an HQ admin
request does in production (opened just before the timer starts). For each level it prints
the median, min and max seconds, the queries per creation (CaptureQueriesContext; the clone
itself is one query), the split between the clone of the template schema
(`public.mission_schema_clone`), the `migrate_schemas --fake` that followed it until 2026-12
(0 since), and the rest (rows, domain, data key, outbox event), and the CPU time of the
database server's process for the connection (median; read from /proc when the server runs on
this machine): on a shared machine, wall time also measures the neighbours.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# Before anything imports the `consulate` package, whose Celery app defaults to production.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consulate.settings.local")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# A few real places so that the rows look like production rows; only the codes matter.
PLACES = [
    ("DE", "Berlin", "Europe/Berlin", "EUR", ["de", "tr", "en"]),
    ("JP", "Tokyo", "Asia/Tokyo", "JPY", ["ja", "tr", "en"]),
    ("US", "New York", "America/New_York", "USD", ["en", "tr"]),
    ("GB", "London", "Europe/London", "GBP", ["en", "tr"]),
    ("BH", "Manama", "Asia/Bahrain", "BHD", ["ar", "tr", "en"]),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--missions", default="10,300", help="comma-separated mission counts (default 10,300)"
    )
    parser.add_argument("--samples", type=int, default=5, help="timed creations per level")
    parser.add_argument("--database", default="consulate_bench", help="scratch database name")
    args = parser.parse_args()
    args.levels = sorted({int(n) for n in args.missions.split(",") if n.strip()})
    if not args.database.replace("_", "").isalnum() or args.database == "consulate":
        parser.error("--database must be a plain name other than the project database")
    return args


def bench_database_url(name: str) -> str:
    """DATABASE_URL for the scratch database, on the server the project would use."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured:
        from consulate import embedded_db

        return embedded_db.database_url(name)
    parts = urlsplit(configured)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str, name: str) -> None:
    import psycopg

    parts = urlsplit(url)
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class PhaseTimer:
    """Times the template clone (missions/schemas.py) and, in older trees, the
    `migrate_schemas --fake` after it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start

        return timed

    @contextlib.contextmanager
    def measure(self) -> Iterator[dict[str, float]]:
        self.seconds.clear()
        yield self.seconds


def install_phase_timer() -> PhaseTimer:
    import missions.schemas as schemas
    import missions.services.mission as services

    timer = PhaseTimer()
    # "clone" first includes the fake migrate; the row subtracts it (see phases below).
    # Patched where mission_create looks it up (missions/services/mission.py imports it).
    services.schema_clone_from_template = timer.wrap("clone", services.schema_clone_from_template)
    if hasattr(schemas, "call_command"):  # trees before the clone stopped running it
        schemas.call_command = timer.wrap("fake_migrate", schemas.call_command)
    return timer


def mission_params(code: str, index: int) -> dict[str, Any]:
    country, city, tz, currency, languages = PLACES[index % len(PLACES)]
    return {
        "code": code,
        "name": f"Consulate-General {code}",
        "kind": "consulate_general",
        "host_country": country,
        "city": city,
        "timezone": tz,
        "currency": currency,
        "languages": languages,
        "address": "Example street 1",
        "office_hours": [{"weekday": d, "opens": "09:00", "closes": "13:00"} for d in range(5)],
    }


def machine_description() -> list[str]:
    from django import get_version
    from django.db import connection

    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    return [
        f"CPU: {cpu}; nproc {usable} (os.cpu_count {os.cpu_count()})",
        f"PostgreSQL {server_version} (shared_buffers {shared_buffers}), "
        f"{'embedded pgserver' if not os.environ.get('BENCH_EXTERNAL_DB') else 'DATABASE_URL'}",
        f"Python {platform.python_version()}, Django {get_version()}, {platform.platform()}",
    ]


def cpu_probe_ms() -> float:
    """The CPU time a fixed loop of Python takes here, best of three (ms): how fast this
    machine's cores are at the moment. On this shared virtual machine it read 232 to 352 ms
    within a minute, idle (docs/benchmarks.md): compare runs by this figure too."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for n in range(5_000_000):
            total += n
        best = min(best, time.process_time() - started)
    return best * 1000


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU seconds the database server's process for this connection has used, when it runs on
    this machine and /proc shows it (the clone runs there, not in Python); else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime and stime, fields 14 and 15 of proc(5); fields[0] is field 3
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_text(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.3f}"


def catalog_size() -> tuple[int, int]:
    """(schemas, relations) in the database: what the clone's catalog queries walk over."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace")
        schemas = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_class")
        relations = cursor.fetchone()[0]
    return schemas, relations


def main() -> None:
    args = parse_args()
    external = bool(os.environ.get("DATABASE_URL"))
    url = bench_database_url(args.database)
    recreate_database(url, args.database)
    os.environ["DATABASE_URL"] = url
    if external:
        os.environ["BENCH_EXTERNAL_DB"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consulate.settings.local")

    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from consulate.kernel.actors import SYSTEM
    from missions.models import Mission
    from missions.services import mission_create

    assert settings.DATABASES["default"]["NAME"] == args.database, "refusing: wrong database"
    print(f"Database {args.database} (dropped and created again)")
    for line in machine_description():
        print(line)

    started = time.perf_counter()
    call_command("migrate_all", verbosity=0, stdout=io.StringIO())
    print(f"migrate_all: {time.perf_counter() - started:.1f} s")
    timer = install_phase_timer()

    def create(code: str, index: int) -> tuple[float, int, dict[str, float], float | None]:
        # A fresh connection per creation, as for the HQ admin request that creates a mission
        # in production (CONN_MAX_AGE = 0); a long session would also measure the growth of the
        # backend's caches of every schema it touched.

        connection.close()
        # CaptureQueriesContext counts by position in a log capped at 9000 entries; once full,
        # every later count would read 0. Start each creation with an empty log.
        connection.queries_log.clear()
        connection.ensure_connection()
        backend = connection.connection.info.backend_pid
        cpu_before = backend_cpu_seconds(backend)
        with (
            timer.measure() as phases,
            CaptureQueriesContext(connection) as queries,
            contextlib.redirect_stdout(io.StringIO()),  # migrate_schemas --fake chatters
        ):
            start = time.perf_counter()
            mission_create(acting_user=SYSTEM, **mission_params(code, index))
            elapsed = time.perf_counter() - start
        cpu_after = backend_cpu_seconds(backend)
        server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        return elapsed, len(queries), dict(phases), server_cpu

    def count() -> int:
        return Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).count()

    results = []
    serial = 0
    for level in args.levels:
        present = count()
        grow_start = time.perf_counter()
        while present < level:
            serial += 1
            create(f"g{serial:04d}", serial)
            present += 1
            if present % 25 == 0 or present == level:
                spent = time.perf_counter() - grow_start
                print(f"  growing: {present}/{level} missions ({spent:.0f} s)", flush=True)
        schemas, relations = catalog_size()
        load_before = os.getloadavg()[0]
        samples = []
        for _ in range(args.samples):
            serial += 1
            samples.append(create(f"s{serial:04d}", serial))
        times = [s[0] for s in samples]
        queries = sorted({s[1] for s in samples})
        server_cpu = [s[3] for s in samples if s[3] is not None]
        phases = {
            "clone": statistics.median(
                s[2].get("clone", 0.0) - s[2].get("fake_migrate", 0.0) for s in samples
            ),
            "fake_migrate": statistics.median(s[2].get("fake_migrate", 0.0) for s in samples),
        }
        row = {
            "level": level,
            "median": statistics.median(times),
            "min": min(times),
            "max": max(times),
            "queries": "/".join(str(q) for q in queries),
            "clone": phases["clone"],
            "fake_migrate": phases["fake_migrate"],
            "rest": statistics.median(s[0] - s[2].get("clone", 0.0) for s in samples),
            "server_cpu": statistics.median(server_cpu) if server_cpu else None,
            "relations": relations,
            "schemas": schemas,
            "load": (load_before + os.getloadavg()[0]) / 2,
        }
        results.append(row)
        print(
            f"{level} missions present: median {row['median']:.3f} s, min {row['min']:.3f}, "
            f"max {row['max']:.3f}; {row['queries']} queries per creation; "
            f"clone {row['clone']:.3f} s, migrate --fake {row['fake_migrate']:.3f} s, "
            f"rest {row['rest']:.3f} s; database server CPU {cpu_text(row['server_cpu'])} s; "
            f"catalog {schemas} schemas, {relations} relations; "
            f"load average {row['load']:.1f}",
            flush=True,
        )

    print()
    print(f"mission_create, {args.samples} samples per level (seconds)")
    header = (
        "| missions present | median | min | max | queries | clone | migrate --fake | rest "
        "| server CPU | pg_class rows | load avg |"
    )
    print(header)
    print("|" + "---:|" * (header.count("|") - 1))
    for row in results:
        print(
            f"| {row['level']} | {row['median']:.3f} | {row['min']:.3f} | {row['max']:.3f} "
            f"| {row['queries']} | {row['clone']:.3f} | {row['fake_migrate']:.3f} "
            f"| {row['rest']:.3f} | {cpu_text(row['server_cpu'])} | {row['relations']} "
            f"| {row['load']:.1f} |"
        )
    print(f"Total run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
