"""Security headers on HQ's and a mission's pages: a Content-Security-Policy with a fresh
nonce per response and no 'unsafe-inline' (django-csp), and, under the production settings,
HSTS for the portal host and every mission subdomain."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=]+)'")


def policy(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.mark.parametrize("host", ["hq", "mission"])
def test_pages_carry_a_strict_content_security_policy(host, client_hq, client_a):
    client: Client = client_hq if host == "hq" else client_a
    # when the home page is fetched
    response = client.get("/")
    assert response.status_code == 200
    # then only our own origin serves scripts and styles, never inline code without a nonce
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    assert csp["style-src"][0] == "'self'"
    assert csp["img-src"] == ["'self'", "data:"]  # barcodes, the TOTP QR code
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    # and the page itself has no inline script or style to refuse
    assert "<script>" not in response.content.decode()
    assert "<style>" not in response.content.decode()


def test_the_swagger_ui_runs_its_inline_script_under_the_responses_nonce(client_a):
    # when the API docs page is fetched twice
    first, second = client_a.get("/api/docs/"), client_a.get("/api/docs/")
    # then its inline script and style carry the nonce that the header allows, a fresh one
    # per response, and the UI's files come from our own origin (drf-spectacular-sidecar)
    nonce = NONCE.search(first["Content-Security-Policy"])
    assert nonce is not None
    page = first.content.decode()
    assert f'<script nonce="{nonce.group(1)}">' in page
    assert f'<style nonce="{nonce.group(1)}">' in page
    assert '<script src="/static/drf_spectacular_sidecar/swagger-ui-dist/' in page
    assert NONCE.search(second["Content-Security-Policy"]).group(1) != nonce.group(1)  # type: ignore[union-attr]


def test_the_page_for_an_unknown_host_carries_the_policy_too(db):
    response = Client(HTTP_HOST="nowhere.localhost").get("/")
    assert response.status_code == 404
    assert policy(response)["script-src"] == ["'self'"]


def test_the_nonce_is_only_sent_when_a_page_uses_it(client_hq):
    assert NONCE.search(client_hq.get("/").headers["Content-Security-Policy"]) is None


# Run under the production settings: collectstatic has not run, so plain static files stand in
# for the hashed manifest; everything else is as deployed.
PRODUCTION_REQUESTS = """
import json
import django
django.setup()
from django.db import connection
from django.test import Client, override_settings

answers = {}
static = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=static):
    for host in ("localhost", "alpha.localhost"):
        response = Client(HTTP_HOST=host).get("/", secure=True)
        answers[host] = [response.status_code, response.get("Strict-Transport-Security"),
                         response.get("Content-Security-Policy")]
with connection.cursor() as cursor:
    cursor.execute("SELECT current_user")
    answers["role"] = cursor.fetchone()[0]
print(json.dumps(answers))
"""


def app_database_url() -> str:
    """DATABASE_URL for the test database, as the application's role."""
    app = settings.DATABASE_APP
    host, name = str(app["HOST"]), connection.settings_dict["NAME"]
    auth = quote(app["USER"]) + (f":{quote(app['PASSWORD'])}" if app["PASSWORD"] else "")
    if host.startswith("/"):
        return f"postgres://{auth}@/{name}?host={quote(host, safe='/')}"
    return f"postgres://{auth}@{host or 'localhost'}:{app['PORT'] or 5432}/{name}"


def test_production_pages_send_hsts_covering_every_mission(django_db_setup):
    # given the production settings, on the test database as the application's role
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "consulate.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": app_database_url(),
        "CELERY_BROKER_URL": "memory://",
        "CONSULATE_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "CONSULATE_BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DJANGO_ALLOWED_HOSTS": "localhost,.localhost",
        "CACHE_URL": "locmemcache://",
    }
    # when HQ's and a mission's home pages are fetched over HTTPS
    done = subprocess.run(
        [sys.executable, "-c", PRODUCTION_REQUESTS], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout.splitlines()[-1])
    # then both answer, to the application's role, with HSTS for the portal and its subdomains
    # (every mission) and the Content-Security-Policy
    assert answers.pop("role") == settings.DATABASE_APP["USER"]
    for status, hsts, csp in answers.values():
        assert status == 200
        assert hsts == "max-age=31536000; includeSubDomains; preload"
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
