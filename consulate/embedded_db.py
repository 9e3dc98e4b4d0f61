"""The embedded PostgreSQL used when DATABASE_URL is unset (development and tests).

The server comes from the `pgserver` package (real PostgreSQL binaries shipped in a wheel),
keeps its data in `var/pgdata` and listens on a Unix socket only, so it never clashes with a
PostgreSQL that the machine runs. It is left running between commands (`cleanup_mode=None`)
and stopped by `python3 dev up` on Ctrl-C, or by `python -m consulate.embedded_db stop`.

Like production (docs/operations.md, "Database roles"), the project database has two roles
besides the server's superuser: `consulate_owner` owns the database and every schema, table and
function in it and runs `migrate_all`; `consulate_app` is what the web server, worker and beat
connect as, and owns nothing. Starting the server creates both, and hands a database made by an
earlier version (everything owned by the superuser) over to the owner.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
# CONSULATE_VAR_DIR: a mission node started by `python3 dev up --mission` keeps its own
# database (and broker, mail) in var/nodes/<code>, beside HQ's.
VAR_DIR = Path(os.environ.get("CONSULATE_VAR_DIR") or BASE_DIR / "var")
DATA_DIR = VAR_DIR / "pgdata"
DATABASE_NAME = "consulate"
SUPERUSER = "postgres"
OWNER_ROLE = "consulate_owner"
APP_ROLE = "consulate_app"


def _server() -> Any:
    import pgserver  # imported here: production never loads it

    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(DATA_DIR, cleanup_mode=None)


def _running_socket_dir() -> str | None:
    """The socket folder of a live server on DATA_DIR, read from postmaster.pid, else None.

    Reading the pid file instead of asking pgserver keeps processes that merely connect (web,
    worker, beat, parallel test runs) away from pgserver's own bookkeeping file, which is not
    safe for many processes starting at once.
    """
    try:
        lines = (DATA_DIR / "postmaster.pid").read_text().splitlines()
        os.kill(int(lines[0]), 0)
    except (FileNotFoundError, IndexError, ValueError, ProcessLookupError, PermissionError):
        return None
    port = lines[3].strip() if len(lines) > 3 else "5432"
    socket_dir = lines[4].strip() if len(lines) > 4 else ""
    if socket_dir and (Path(socket_dir) / f".s.PGSQL.{port}").exists():
        return socket_dir
    return None


# Everything in the project database that the superuser owns goes to the owner role: the
# database itself, its schemas, tables (with their sequences), free-standing sequences,
# functions and types. Extensions' objects stay where they are.
_HAND_OVER = """
DO $$
DECLARE
    item record;
    superuser oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
BEGIN
    FOR item IN SELECT nspname FROM pg_namespace
            WHERE nspowner = superuser AND nspname NOT LIKE 'pg\\_%'
            AND nspname <> 'information_schema' LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO consulate_owner', item.nspname);
    END LOOP;
    FOR item IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relowner = superuser AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
            AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
            ORDER BY c.relkind = 'S' LOOP
        -- a table's own sequences went with it
        CONTINUE WHEN (SELECT relowner FROM pg_class WHERE oid = item.name) <> superuser;
        EXECUTE format(
            CASE item.relkind WHEN 'S' THEN 'ALTER SEQUENCE %s OWNER TO consulate_owner'
                WHEN 'v' THEN 'ALTER VIEW %s OWNER TO consulate_owner'
                WHEN 'm' THEN 'ALTER MATERIALIZED VIEW %s OWNER TO consulate_owner'
                WHEN 'f' THEN 'ALTER FOREIGN TABLE %s OWNER TO consulate_owner'
                ELSE 'ALTER TABLE %s OWNER TO consulate_owner' END, item.name);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS name FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.proowner = superuser AND n.nspname NOT LIKE 'pg\\_%'
            AND n.nspname <> 'information_schema'
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
            LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO consulate_owner', item.name);
    END LOOP;
    FOR item IN SELECT t.oid::regtype AS name FROM pg_type t
            JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typowner = superuser AND t.typtype IN ('e', 'd', 'r')
            AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
            LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO consulate_owner', item.name);
    END LOOP;
END
$$;
"""


def _ensure_roles(db: Any) -> None:
    """The owner and the application's roles: log in over the local socket (trust), no
    superuser, no role or database creation; the application's role inherits nothing."""
    for role in (OWNER_ROLE, APP_ROLE):
        if not db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            db.execute(
                f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION'
                f" NOBYPASSRLS{' NOINHERIT' if role == APP_ROLE else ''}"
            )


def _ensure_database(socket_dir: str, name: str) -> None:
    import psycopg

    with psycopg.connect(host=socket_dir, user=SUPERUSER, dbname="postgres", autocommit=True) as db:
        _ensure_roles(db)
        # the project database belongs to the owner role; others (benchmarks) to the superuser
        owner = OWNER_ROLE if name == DATABASE_NAME else SUPERUSER
        found = db.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not found:
            db.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        elif found[0] != owner:
            db.execute(f'ALTER DATABASE "{name}" OWNER TO "{owner}"')
    if name == DATABASE_NAME:
        with psycopg.connect(host=socket_dir, user=SUPERUSER, dbname=name, autocommit=True) as db:
            db.execute(_HAND_OVER)


def _start(name: str = DATABASE_NAME) -> str:
    """Start the server once (under a file lock), create database `name`; the socket folder."""
    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    with (DATA_DIR.parent / "pgdata.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        socket_dir = _running_socket_dir()
        if socket_dir is None:
            socket_dir = str(_server().get_postmaster_info().socket_dir)
        _ensure_database(socket_dir, name)
        return socket_dir


def database_settings(name: str = DATABASE_NAME, *, user: str = SUPERUSER) -> dict[str, Any]:
    """Django's settings for database `name` on the embedded server, started if it is not,
    logged in as `user` (the settings pass APP_ROLE or OWNER_ROLE).

    `name` defaults to the project database; benchmarks pass their own so that they never
    touch the developer's data. When the server already runs, nothing but the pid file is read
    (the project database and its roles were set up by whoever started it).
    """
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain database name: {name!r}")
    socket_dir = _running_socket_dir()
    if socket_dir is None or name != DATABASE_NAME:
        socket_dir = _start(name)
    return {
        "NAME": name,
        "USER": user,
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": "",
    }


def database_url(name: str = DATABASE_NAME) -> str:
    """The same as `database_settings`, as a DATABASE_URL that django-environ parses.

    The socket folder goes in the `host` query parameter: django-environ does not decode a
    percent-encoded path in the host part (`postgres://%2Fpath/db` gives HOST "%2Fpath").
    """
    config = database_settings(name)
    return f"postgres://{config['USER']}@/{config['NAME']}?host={quote(config['HOST'], safe='/')}"


def bin_dir() -> Path:
    """The folder of the embedded server's client programs (pg_dump, pgbench, psql)."""
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def stop() -> None:
    if (DATA_DIR / "postmaster.pid").exists():
        server = _server()
        pg_ctl = bin_dir() / "pg_ctl"
        command = [str(pg_ctl), "stop", "-D", str(DATA_DIR), "-m", "fast", "--silent"]
        if server.system_user:
            command = ["su", server.system_user, "-s", "/bin/sh", "-c", " ".join(command)]
        subprocess.run(command, check=False)


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "start"
    if action == "start":
        # "started" only when this call started it: callers stop only what they started
        was_running = _running_socket_dir() is not None
        _start()
        print("running" if was_running else "started")
    elif action == "url":
        print(database_url(sys.argv[2] if len(sys.argv) > 2 else DATABASE_NAME))
    elif action == "stop":
        stop()
    else:
        sys.exit("usage: python -m consulate.embedded_db start|url [name]|stop")
