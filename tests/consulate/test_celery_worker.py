"""A real Celery worker on the RabbitMQ or Redis that this machine runs on loopback: a task
queued from a mission runs in that mission's schema (tenant-schemas-celery)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.app.backends import by_url
from celery.result import AsyncResult
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from consulate.celery import app
from consulate.tasks import worker_ping
from missions.models import Mission

pytestmark = pytest.mark.broker
ROOT = Path(settings.BASE_DIR)


def reachable(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def broker_urls(kind: str, tmp_path: Path) -> tuple[str, str, dict[str, str]]:
    """ "loopback": the Redis or RabbitMQ this machine runs, as production uses. "filesystem":
    kombu's file-system transport, the development default (still a real worker process)."""
    if kind == "filesystem":
        folder = tmp_path / "broker"
        folder.mkdir()
        options = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(tmp_path / "control"),
        }
        return "filesystem://", f"file://{tmp_path}", options
    if reachable(6379):
        return "redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15", {}
    if reachable(5672):
        return "amqp://guest:guest@127.0.0.1:5672//", "rpc://", {}
    pytest.skip("NO REDIS (6379) OR RABBITMQ (5672) ON 127.0.0.1: only the file-system broker ran")


def database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    if str(db["HOST"]).startswith("/"):
        return f"postgres://{auth}@/{db['NAME']}?host={quote(db['HOST'], safe='/')}"
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A worker process on one broker, and how to send it a task and read the answer."""

    def __init__(self, broker: str, backend: str, transport_options: dict[str, str]) -> None:
        self.queue = f"test-{uuid.uuid4().hex[:8]}"
        self.broker, self.transport_options = broker, transport_options
        # explicit connection and backend: the app's own pools stay on the configured broker
        backend_cls, url = by_url(backend, app.loader)
        self.backend = backend_cls(app=app, url=url)

    def ping(self) -> dict[str, str]:
        with app.connection_for_write(
            self.broker, transport_options=self.transport_options
        ) as broker:
            sent = worker_ping.apply_async(queue=self.queue, connection=broker)
        return AsyncResult(sent.id, backend=self.backend, app=app).get(timeout=60)


@pytest.fixture(params=["loopback", "filesystem"])
def worker(request, committed_db, tmp_path) -> Iterator[Worker]:  # type: ignore[no-untyped-def]
    broker, backend, transport_options = broker_urls(request.param, tmp_path)
    handle = Worker(broker, backend, transport_options)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "consulate.settings.local",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": backend,
        "CONSULATE_DEMO_MODE": "0",
        "CELERY_BROKER_TRANSPORT_OPTIONS": json.dumps(transport_options),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "consulate", "worker", "--pool", "solo",
         "--queues", handle.queue, "--loglevel", "WARNING", "--without-heartbeat",
         "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        yield handle
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        if process.returncode not in (0, -15):
            print(output)  # noqa: T201 - shown by pytest when the test fails


def test_a_task_queued_from_a_mission_runs_in_that_missions_schema(worker):
    # given two missions
    alpha, beta = Mission.objects.get(code="alpha"), Mission.objects.get(code="beta")
    # when each queues a ping from its own schema, then the worker runs it in that schema
    with schema_context(alpha.schema_name):
        assert worker.ping() == {"schema": "alpha"}
    with schema_context(beta.schema_name):
        assert worker.ping() == {"schema": "beta"}


def test_a_task_queued_at_hq_runs_in_the_public_schema(worker):
    connection.set_schema_to_public()
    assert worker.ping() == {"schema": "public"}
