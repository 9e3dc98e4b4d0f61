"""Benchmark: `manage.py migrate_all` (a deploy) as the number of missions grows.

    .venv/bin/python bench/migrate_all.py [--missions 10,300] [--behind 100] [--samples 3]
        [--processes N] [--baseline COMMIT] [--database NAME]

It never touches the developer's database. Like bench/mission_create.py (whose helpers it
uses) it drops and creates its own database (default `consulate_bench_migrate`) on the server
the project would use (the embedded PostgreSQL when DATABASE_URL is unset), runs `migrate_all`,
and grows to each level by calling `mission_create`, with a fresh connection per creation. At
each level it times:

- a no-op deploy: `migrate_all` with nothing to migrate (`--samples` runs, median; one run of
  the baseline, which takes a minute at 300 missions);
- a real deploy: `--behind` percent of the mission schemas, and the template, are first
  rewound by one real migration (appointments 0004, a column added to the slots table: undone
  with `migrate_schemas --schema S appointments 0003_...`), then one `migrate_all` migrates them
  forward again.

After each run it checks that every mission schema holds exactly the template's migrations.
Grants are included, as in production: the application's role is `--app-role` (created if
missing), the owner is the connection's role. With `--baseline COMMIT` each measurement is
repeated with `migrate_all` as it was at that commit (its source read with `git show`), in the
same run, on the same database. Each figure comes with the 1-minute load average before and
after it; the machine is shared.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# Before anything imports the `consulate` package, whose Celery app defaults to production.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consulate.settings.local")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mission_create import (  # noqa: E402
    bench_database_url,
    machine_description,
    mission_params,
    recreate_database,
)

# The migration a real deploy applies here: the last of its app, reversible, and cheap enough
# that the figures show the cost of visiting a schema more than PostgreSQL's.
REWIND_APP = "appointments"
REWIND_TO = "0003_service_name_per_language"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--missions", default="10,300", help="mission counts (default 10,300)")
    parser.add_argument(
        "--behind", type=int, default=100, help="percent of mission schemas behind (default 100)"
    )
    parser.add_argument("--samples", type=int, default=3, help="no-op runs per level (median)")
    parser.add_argument("--processes", type=int, default=None, help="migrate_all --processes")
    parser.add_argument("--baseline", default="", help="also time migrate_all as at this commit")
    parser.add_argument("--app-role", default="consulate_app", help="the application's role")
    parser.add_argument(
        "--database", default="consulate_bench_migrate", help="scratch database name"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database a previous run grew (levels below its missions are skipped)",
    )
    args = parser.parse_args()
    args.levels = sorted({int(n) for n in args.missions.split(",") if n.strip()})
    if not args.database.replace("_", "").isalnum() or args.database == "consulate":
        parser.error("--database must be a plain name other than the project database")
    if not 0 <= args.behind <= 100:
        parser.error("--behind is a percentage")
    return args


def database_exists(url: str, name: str) -> bool:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return found is not None


def command_at(commit: str) -> Any:
    """migrate_all's Command as it was at `commit`, loaded from git, not from the tree."""
    path = "consulate/management/commands/migrate_all.py"
    source = subprocess.run(
        ["git", "show", f"{commit}:{path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType(f"migrate_all_at_{commit}")
    module.__file__ = f"{commit}:{path}"
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 (our own code)
    return module.Command


def main() -> None:
    args = parse_args()
    external = bool(os.environ.get("DATABASE_URL"))
    url = bench_database_url(args.database)
    if not (args.reuse and database_exists(url, args.database)):
        args.reuse = False
        recreate_database(url, args.database)
    os.environ["DATABASE_URL"] = url
    if external:
        os.environ["BENCH_EXTERNAL_DB"] = "1"

    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from consulate.kernel.actors import SYSTEM
    from consulate.management.commands.migrate_all import processes_default, schemas_migrate
    from missions.models import Mission
    from missions.schemas import schemas_compare_with_template
    from missions.services import mission_create

    assert settings.DATABASES["default"]["NAME"] == args.database, "refusing: wrong database"
    # Grant rows to an application's role of its own, as a production deploy does.
    settings.DATABASE_APP_ROLE = args.app_role
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    state = "kept from a previous run" if args.reuse else "dropped and created again"
    print(f"Database {args.database} ({state}); tree at {commit}"
          f"{' (with uncommitted changes)' if dirty else ''}")  # fmt: skip
    for line in machine_description():
        print(line)
    processes = args.processes or processes_default()
    print(f"processes for mission schemas: {processes}; application role {args.app_role!r}")

    versions: dict[str, Any] = {"new": "migrate_all"}
    if args.baseline:
        versions[f"at {args.baseline}"] = command_at(args.baseline)()

    def owner() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            return str(cursor.fetchone()[0])

    def mission_schemas() -> list[str]:
        return list(
            Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
            .order_by("schema_name")
            .values_list("schema_name", flat=True)
        )

    def timed_deploy(command: Any) -> tuple[float, float, str]:
        """(seconds, load average before and after, mean; the command's last lines)."""
        connection.close()
        output = io.StringIO()
        load = os.getloadavg()[0]
        start = time.perf_counter()
        options: dict[str, Any] = {"verbosity": 1, "stdout": output, "stderr": output}
        if command == "migrate_all":
            options["processes"] = processes
        call_command(command, **options)
        elapsed = time.perf_counter() - start
        load = (load + os.getloadavg()[0]) / 2
        lines = output.getvalue().splitlines()
        summary = [
            line for line in lines if re.match(r"^(\d+ mission|Migrat|migrate_all took)", line)
        ]
        return elapsed, load, " | ".join(summary)

    def all_up_to_date() -> int:
        states = schemas_compare_with_template(schema_names=mission_schemas())
        differing = [state.schema_name for state in states if not state.up_to_date]
        assert not differing, f"not migrated: {differing[:5]}"
        return len(states)

    def rewind(fraction: int) -> tuple[int, float]:
        """Undo REWIND_APP's last migration in `fraction` % of the missions, then in the
        template (compared before the template, which is what they are compared with)."""
        names = mission_schemas()
        chosen = names[: round(len(names) * fraction / 100)]
        start = time.perf_counter()
        results = schemas_migrate(
            chosen, owner=owner(), processes=processes, target=(REWIND_APP, REWIND_TO)
        )
        failed = [result for result in results if result.error]
        assert not failed, failed[0].error
        behind = [
            state.schema_name
            for state in schemas_compare_with_template(schema_names=names)
            if not state.up_to_date
        ]
        assert behind == chosen, (len(behind), len(chosen))
        call_command(
            "migrate_schemas",
            REWIND_APP,
            REWIND_TO,
            tenant=True,
            schema_name=settings.TENANT_BASE_SCHEMA,
            interactive=False,
            verbosity=0,
        )
        return len(chosen), time.perf_counter() - start

    started = time.perf_counter()
    first, load, _ = timed_deploy("migrate_all")
    what = "kept database" if args.reuse else "empty database"
    print(f"first migrate_all ({what}): {first:.1f} s, load average {load:.1f}")

    rows: list[dict[str, Any]] = []

    def measure(level: int, scenario: str, run: Callable[[Any], tuple[float, float, str]]) -> None:
        for version, command in versions.items():
            seconds, load, summary = run(command)
            rows.append(
                {
                    "level": level,
                    "scenario": scenario,
                    "version": version,
                    "seconds": seconds,
                    "load": load,
                    "summary": summary,
                }
            )
            print(
                f"  {level} missions, {scenario}, {version}: {seconds:.1f} s "
                f"(load average {load:.1f}); {summary}",
                flush=True,
            )

    def noop(command: Any) -> tuple[float, float, str]:
        runs = args.samples if command == "migrate_all" else 1
        samples = [timed_deploy(command) for _ in range(runs)]
        all_up_to_date()
        seconds = statistics.median(sample[0] for sample in samples)
        load = statistics.mean(sample[1] for sample in samples)
        return seconds, load, f"{runs} run(s), median; " + samples[-1][2]

    def real(command: Any) -> tuple[float, float, str]:
        behind, rewind_seconds = rewind(args.behind)
        seconds, load, summary = timed_deploy(command)
        all_up_to_date()
        return (
            seconds,
            load,
            f"{behind} schemas behind (rewound in {rewind_seconds:.0f} s); " + (summary),
        )

    serial = len(mission_schemas())  # the codes a kept database holds: g0001 ...
    for level in args.levels:
        present = len(mission_schemas())
        if present > level:
            print(f"  {level} missions: skipped, {present} present already")
            continue
        grow_start = time.perf_counter()
        while present < level:
            serial += 1
            connection.close()  # a fresh connection per creation, as an HQ admin request has
            mission_create(acting_user=SYSTEM, **mission_params(f"g{serial:04d}", serial))
            present += 1
            if present % 25 == 0 or present == level:
                spent = time.perf_counter() - grow_start
                print(f"  growing: {present}/{level} missions ({spent:.0f} s)", flush=True)
        measure(level, "no-op", noop)
        measure(level, "real", real)

    print()
    print(f"migrate_all, processes {processes} (seconds; load = 1-minute load average)")
    header = "| missions | scenario | version | seconds | load avg | what it did |"
    print(header)
    print("|---:|---|---|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['level']} | {row['scenario']} | {row['version']} | {row['seconds']:.1f} "
            f"| {row['load']:.1f} | {row['summary']} |"
        )
    print(f"Total run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
