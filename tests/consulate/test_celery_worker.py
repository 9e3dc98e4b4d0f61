"""A real Celery worker on the RabbitMQ or Redis that this machine runs on loopback: a task
queued from a mission runs in that mission's schema (tenant-schemas-celery)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
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


def broker_urls() -> tuple[str, str]:
    if reachable(6379):
        return "redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15"
    if reachable(5672):
        return "amqp://guest:guest@127.0.0.1:5672//", "rpc://"
    if os.environ.get("CONSULATE_SKIP_BROKER") == "1":
        pytest.skip("NO BROKER on loopback (Redis 6379, RabbitMQ 5672) and CONSULATE_SKIP_BROKER=1")
    pytest.fail(
        "No Redis (6379) or RabbitMQ (5672) on 127.0.0.1: start one, or set CONSULATE_SKIP_BROKER=1"
    )


def database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    if str(db["HOST"]).startswith("/"):
        return f"postgres://{auth}@/{db['NAME']}?host={quote(db['HOST'], safe='/')}"
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(committed_db) -> Iterator[str]:  # type: ignore[no-untyped-def]
    broker, backend = broker_urls()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "consulate.settings.local",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": backend,
        "CONSULATE_DEMO_MODE": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "consulate", "worker", "--pool", "solo",
         "--queues", queue, "--loglevel", "WARNING", "--without-heartbeat", "--without-gossip",
         "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    saved = (app.conf.broker_url, app.conf.result_backend)
    app.conf.broker_url, app.conf.result_backend = broker, backend
    try:
        yield queue
    finally:
        app.conf.broker_url, app.conf.result_backend = saved
        process.terminate()
        output, _ = process.communicate(timeout=30)
        if process.returncode not in (0, -15):
            print(output)  # noqa: T201 - shown by pytest when the test fails


def test_a_task_queued_from_a_mission_runs_in_that_missions_schema(worker):
    # given two missions
    alpha, beta = Mission.objects.get(code="alpha"), Mission.objects.get(code="beta")
    # when each queues a ping from its own schema
    with schema_context(alpha.schema_name):
        from_alpha = worker_ping.apply_async(queue=worker)
    with schema_context(beta.schema_name):
        from_beta = worker_ping.apply_async(queue=worker)
    # then the worker ran each in the schema it came from
    assert from_alpha.get(timeout=60) == {"schema": "alpha"}
    assert from_beta.get(timeout=60) == {"schema": "beta"}


def test_a_task_queued_at_hq_runs_in_the_public_schema(worker):
    connection.set_schema_to_public()
    assert worker_ping.apply_async(queue=worker).get(timeout=60) == {"schema": "public"}
