"""The embedded PostgreSQL used when DATABASE_URL is unset (development and tests).

The server comes from the `pgserver` package (real PostgreSQL binaries shipped in a wheel),
keeps its data in `var/pgdata` and listens on a Unix socket only, so it never clashes with a
PostgreSQL that the machine runs. It is left running between commands (`cleanup_mode=None`)
and stopped by `python3 dev up` on Ctrl-C, or by `python -m consulate.embedded_db stop`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "var" / "pgdata"
DATABASE_NAME = "consulate"


def _server() -> Any:
    import pgserver  # imported here: production never loads it

    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(DATA_DIR, cleanup_mode=None)


def database_settings() -> dict[str, Any]:
    """Start the server if needed, create the project database once, return Django's settings."""
    server = _server()
    info = server.get_postmaster_info()
    exists = server.psql(
        f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"
    )
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return {
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": "",
    }


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
        print(database_settings()["HOST"])
    elif action == "stop":
        stop()
    else:
        sys.exit("usage: python -m consulate.embedded_db start|stop")
