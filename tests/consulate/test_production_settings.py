"""Production settings refuse to start without their secrets, with weak ones, or reused ones."""

import base64
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings


def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


FULL = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://user@db.internal/consulate",
    "CELERY_BROKER_URL": "amqp://guest@mq.internal//",
    "CONSULATE_MASTER_KEY": key(),
    "CONSULATE_BLIND_INDEX_KEY": key(),
    "DJANGO_ALLOWED_HOSTS": "consulate.example,.consulate.example",
    "CACHE_URL": "redis://cache.internal:6379/1",
}


def load(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "consulate.settings.production"}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('loaded')"],
        cwd=settings.BASE_DIR, env=env | environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_complete_environment_loads():
    assert load(FULL).stdout.strip() == "loaded"


def test_the_owner_role_may_be_given_for_migrate_all():
    owner = {"DATABASE_OWNER_URL": "postgres://owner:secret@db.internal/consulate"}
    assert load(FULL | owner).stdout.strip() == "loaded"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY must be set"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"CONSULATE_MASTER_KEY": "c2hvcnQ="}, "CONSULATE_MASTER_KEY must be 32 random bytes"),
        ({"CONSULATE_BLIND_INDEX_KEY": FULL["CONSULATE_MASTER_KEY"]}, "must differ"),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS"),
        ({"CACHE_URL": ""}, "CACHE_URL must name a shared cache"),
        (
            {"DATABASE_OWNER_URL": "postgres://owner@db.internal/other"},
            "DATABASE_OWNER_URL must name the database of DATABASE_URL",
        ),
        ({"SYNC_HQ_URL": "http://hq.example"}, "SYNC_HQ_URL must be an https:// address"),
    ],
)
def test_a_missing_or_weak_setting_stops_the_start(change, message):
    result = load(FULL | change)
    assert result.returncode != 0
    assert message in result.stderr


def check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "consulate.settings.production"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=env | environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


PRODUCTION_LIKE = FULL | {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}


def test_check_deploy_finds_no_security_issue():
    # given the production settings with a production-like environment
    # when Django's deployment checks run, then none of its security checks complains (HSTS
    # with includeSubDomains and preload, secure cookies, SSL redirect, a long secret key)
    result = check_deploy(PRODUCTION_LIKE)
    assert "security." not in result.stdout + result.stderr


def test_check_deploy_is_clean():
    result = check_deploy(PRODUCTION_LIKE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
