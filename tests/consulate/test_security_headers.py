"""Security headers on HQ's and a mission's pages: a Content-Security-Policy with a fresh
nonce per response and no 'unsafe-inline' (django-csp), and, under the production settings,
HSTS for the portal host and every mission subdomain."""

from __future__ import annotations

import re

import pytest
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


def test_the_nonce_is_only_sent_when_a_page_uses_it(client_hq):
    assert NONCE.search(client_hq.get("/").headers["Content-Security-Policy"]) is None
