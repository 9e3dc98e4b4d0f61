"""Real processes on real databases, for the tests that need them: HQ served by gunicorn on the
test database, a mission node's own database on the same PostgreSQL server, and management
commands run as separate processes against either."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url(name: str | None = None) -> str:
    """The test database's URL (or database `name`'s on the same server), as its role."""
    db = connection.settings_dict
    name = name or db["NAME"]
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    if str(db["HOST"]).startswith("/"):
        return f"postgres://{auth}@/{name}?host={quote(db['HOST'], safe='/')}"
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{name}"


def server_connect(name: str, **options: object) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "localhost", port=str(db["PORT"] or 5432), user=db["USER"],
        password=db["PASSWORD"] or None, dbname=name, **options,  # type: ignore[arg-type]
    )  # fmt: skip


@contextmanager
def other_database() -> Iterator[str]:
    """An empty database on the test database's server (a node's), dropped afterwards."""
    name = f"test_node_{uuid.uuid4().hex[:8]}"
    with server_connect("postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with server_connect("postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(database: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`manage.py <args>` as its own process on `database`, with the test settings."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "DJANGO_SETTINGS_MODULE": "consulate.settings.test",
        **env,
    }
    environment.pop("DATABASE_OWNER_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True,
        text=True, timeout=600, check=False,
    )  # fmt: skip


class HqServer:
    """gunicorn serving HQ on the test database, as in production (`consulate.wsgi`)."""

    def __init__(self, port: int, **env: str) -> None:
        self.port = port
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "consulate.settings.test",
            **self.env,
        }
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"), "consulate.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "2",
                "--log-level", "warning",
            ],
            cwd=ROOT,
            env=env,
        )  # fmt: skip
        for _ in range(300):
            if self.process.poll() is not None:
                raise AssertionError("gunicorn exited")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/sync/v1/push", headers={"Host": "localhost"})
                if conn.getresponse().status == 405:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError("gunicorn did not answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"
