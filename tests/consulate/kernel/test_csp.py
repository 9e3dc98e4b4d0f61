"""The policy headers (consulate/kernel/csp.py) are django-csp's, for every kind of answer: plain,
with a nonce, changed by a view's decorator, exempt, under an excluded prefix, a debug page, with
a report-only policy; and a change of the settings is seen."""

from __future__ import annotations

import re

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONE, SELF
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from consulate.kernel.csp import CSPMiddleware


def _plain(request):  # type: ignore[no-untyped-def]
    return HttpResponse("plain")


def _with_nonce(request):  # type: ignore[no-untyped-def]
    return HttpResponse(f'<script nonce="{request.csp_nonce}"></script>')


def _missing(request):  # type: ignore[no-untyped-def]
    return HttpResponse("gone", status=404)


VIEWS = {
    "plain": _plain,
    "nonce": _with_nonce,
    "updated": csp_update({"img-src": ["https://maps.example"]})(_plain),
    "replaced": csp_replace({"script-src": [SELF]})(_plain),
    "exempt": csp_exempt()(_plain),
    "missing": _missing,
}


def _headers(middleware_class, view, path):  # type: ignore[no-untyped-def]
    """The answer's two headers, each page's own nonce written as "N"."""
    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    headers = {name: response.get(name) for name in (HEADER, HEADER_REPORT_ONLY)}
    for name, value in headers.items():
        if value is not None:
            headers[name] = re.sub(r"'nonce-[^']+'", "'nonce-N'", value)
    return headers, request


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("path", ["/", "/appointments/", "/api/v1/schema/"])
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("report_only", [False, True])
def test_every_answer_gets_django_csps_headers(settings, view, path, debug, report_only):
    settings.DEBUG = debug
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "EXCLUDE_URL_PREFIXES": ["/api/v1/schema"],
    }
    if report_only:
        settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
            "DIRECTIVES": {"default-src": [NONE], "report-uri": "/csp-reports/"}
        }
    ours, _request = _headers(CSPMiddleware, VIEWS[view], path)
    theirs, _request = _headers(DjangoCSPMiddleware, VIEWS[view], path)
    assert ours == theirs
    if view == "plain" and path == "/":
        assert "default-src 'self'" in ours[HEADER]
        assert bool(ours[HEADER_REPORT_ONLY]) is report_only


def test_a_change_of_the_settings_is_seen(settings):
    before, _request = _headers(CSPMiddleware, _plain, "/")
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": [NONE]}}
    after, _request = _headers(CSPMiddleware, _plain, "/")
    assert before[HEADER] != after[HEADER]
    assert after[HEADER] == "default-src 'none'"


def test_a_nonce_asked_for_after_the_header_is_an_error():
    _sent, request = _headers(CSPMiddleware, _plain, "/")
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_a_nonce_used_by_the_page_is_in_its_header():
    request = RequestFactory().get("/")
    response = CSPMiddleware(_with_nonce)(request)
    nonce = response.content.decode().split('nonce="')[1].split('"')[0]
    assert f"'nonce-{nonce}'" in response[HEADER]
