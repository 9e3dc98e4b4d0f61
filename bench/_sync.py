"""What the sync benchmarks share (bench/sync_apply.py, bench/sync_export.py,
bench/sync_reconcile.py): their own database, dropped and created again, migrated with
`migrate_all`; the run described (commit, machine, load); one mission.

A benchmark sets DJANGO_SETTINGS_MODULE before it imports this module (which imports
bench/mission_create.py, whose default is the local settings), then calls `database_argument`,
`database_start` (which sets Django up) and the rest.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
from typing import Any

from bench.mission_create import (
    ROOT,
    bench_database_url,
    machine_description,
    mission_params,
    recreate_database,
)


def _database_name(name: str) -> str:
    if not name.replace("_", "").isalnum() or name == "consulate":
        raise argparse.ArgumentTypeError("a plain name other than the project database")
    return name


def database_argument(parser: argparse.ArgumentParser, default: str) -> None:
    """`--database`: the benchmark's own database, a plain name other than the project's."""
    parser.add_argument(
        "--database", default=default, type=_database_name, help="the benchmark's own database"
    )


def database_start(name: str, *, recreate: bool = True) -> None:
    """Point Django at the benchmark's database `name` (on the embedded PostgreSQL when
    DATABASE_URL is unset, else on DATABASE_URL's server with the name replaced), dropped and
    created again unless `recreate` is false, and set Django up. Refuses to go on when the
    settings name another database: a benchmark never touches the developer's."""
    external = bool(os.environ.get("DATABASE_URL"))
    url = bench_database_url(name)
    if recreate:
        recreate_database(url, name)
    os.environ["DATABASE_URL"] = url
    if external:
        os.environ["BENCH_EXTERNAL_DB"] = "1"

    import django

    django.setup()

    from django.conf import settings

    if settings.DATABASES["default"]["NAME"] != name:
        raise SystemExit(f"refusing: the settings name {settings.DATABASES['default']['NAME']}")


def load_text() -> str:
    """The load averages over 1, 5 and 15 minutes (the machine is shared)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run_describe(name: str, *, recreated: bool = True) -> None:
    """Prints the database, the commit, the machine and its load, before a run."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    state = "dropped and created again" if recreated else "kept"
    print(f"Database {name} ({state}); commit {commit}")
    for line in machine_description():
        print(line)
    print(f"load average before: {load_text()}")


def migrate_all() -> None:
    from django.core.management import call_command

    call_command("migrate_all", verbosity=0, stdout=io.StringIO())


def mission_make(code: str) -> Any:
    """A mission made by `mission_create` (its schema, keys and opening event), in Berlin."""
    from consulate.kernel.actors import SYSTEM
    from missions.services import mission_create

    return mission_create(acting_user=SYSTEM, **mission_params(code, 0))
