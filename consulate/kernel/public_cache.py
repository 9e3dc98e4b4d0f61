"""Public answers kept whole for a moment and served before the session is read.

A few answers are the same for every reader of a mission in one language: the availability
feed (page and API) holds no personal data, asks no sign-in and counts against no rate limit.
At a release thousands of clients poll it each second. Through the whole middleware stack each
answer still costs about 2 ms of CPU (the session from the cache, the user's statement, CSRF,
the locale, the view); most of it is spent on who the reader is, which the answer does not
depend on.

A view marked `public_response` is answered by `PublicResponseMiddleware`, which sits before
the session is read, from the cache when an answer of the same mission, path and language is
at most `CONSULATE_PUBLIC_RESPONSE_SECONDS` old (0: off). A miss goes through the whole stack as
before, and its answer is kept only when it is a plain 200 in JSON: a marked view must answer
JSON whatever the `Accept` header (an API view: `renderer_classes = [JSONRenderer]`, since the
browsable API's page names the signed-in reader). Requests with a query string are never kept,
so the variants a client can make are the mission's few languages. The answer keeps its type,
language and `Vary`; no cookie is ever stored or sent from the cache. What the view read may
itself be kept (the availability feed, 2 s): an answer can be that much older again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import translation

ViewT = TypeVar("ViewT", bound=Callable[..., Any])

MARK = "public_response"
KEPT_HEADERS = ("Content-Type", "Content-Language", "Vary", "X-Frame-Options")


def public_response(view: ViewT) -> ViewT:
    """Mark a view whose answer is the same for every reader of a mission in one language."""
    setattr(view, MARK, True)
    return view


def _seconds() -> int:
    return int(getattr(settings, "CONSULATE_PUBLIC_RESPONSE_SECONDS", 0))


def _is_public(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return bool(getattr(match.func, MARK, False))


def _key(request: HttpRequest, language: str) -> str:
    tenant = getattr(request, "tenant", None)
    schema = getattr(tenant, "schema_name", "")
    digest = hashlib.sha256(f"{schema}|{request.path}|{language}".encode()).hexdigest()
    return f"public-response:{digest[:40]}"


class PublicResponseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = _seconds()
        if (
            not seconds
            or request.method != "GET"
            or request.META.get("QUERY_STRING")
            or not _is_public(request)
        ):
            return self.get_response(request)
        language = translation.get_language_from_request(request)
        key = _key(request, language)
        kept = cache.get(key)
        if kept is not None:
            content, headers = kept
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            return response
        response = self.get_response(request)
        if (
            response.status_code == 200
            and not response.streaming
            and response.get("Content-Type", "").startswith("application/json")
        ):
            headers = [(name, response[name]) for name in KEPT_HEADERS if response.has_header(name)]
            cache.set(key, (response.content, headers), seconds)
        return response
