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

A page marked `public_page` (the mission's home) is the same for every reader who is not
signed in: it is answered the same way, but only to a request that carries neither a session
nor a message waiting to be shown (their cookies), and kept only when the reader was not signed
in and the answer is a 200 in HTML that sets no cookie. Such a page must hold nothing of its
reader's: no form token (the language form needs none, consulate/urls_common.py), no name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import translation

ViewT = TypeVar("ViewT", bound=Callable[..., Any])

MARK = "public_response"
KEPT_HEADERS = ("Content-Type", "Content-Language", "Vary", "X-Frame-Options")


PAGE = "page"


def _own_cookies() -> tuple[str, str]:
    """Cookies that make a page the reader's own: the session (signed in, or a form's state)
    and a message waiting to be shown once (the cookie of Django's message storage)."""
    return settings.SESSION_COOKIE_NAME, CookieStorage.cookie_name


def public_response(view: ViewT) -> ViewT:
    """Mark a view whose answer is the same for every reader of a mission in one language."""
    setattr(view, MARK, True)
    return view


def public_page(view: ViewT) -> ViewT:
    """Mark a page that is the same for every reader of a mission in one language who is not
    signed in (see the module's text for what it must not hold)."""
    setattr(view, MARK, PAGE)
    return view


def _seconds() -> int:
    return int(getattr(settings, "CONSULATE_PUBLIC_RESPONSE_SECONDS", 0))


def _mark(request: HttpRequest) -> object:
    """The view's mark: True (the same for every reader), PAGE, or False."""
    try:
        match = resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return getattr(match.func, MARK, False)


def _keepable(request: HttpRequest, response: HttpResponse, mark: object) -> bool:
    if response.status_code != 200 or response.streaming:
        return False
    kind = response.get("Content-Type", "")
    if mark != PAGE:
        return kind.startswith("application/json")
    user = getattr(request, "user", None)
    return (
        kind.startswith("text/html")
        and not response.cookies
        and user is not None
        and not user.is_authenticated
    )


def _key(request: HttpRequest, language: str) -> str:
    tenant = getattr(request, "tenant", None)
    schema = getattr(tenant, "schema_name", "")
    # the port too: a page's links to other hosts keep the request's (`{% hq_url %}`)
    port = request.get_port()
    digest = hashlib.sha256(f"{schema}|{port}|{request.path}|{language}".encode()).hexdigest()
    return f"public-response:{digest[:40]}"


class PublicResponseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = _seconds()
        if not seconds or request.method != "GET" or request.META.get("QUERY_STRING"):
            return self.get_response(request)
        mark = _mark(request)
        if not mark or (mark == PAGE and any(name in request.COOKIES for name in _own_cookies())):
            return self.get_response(request)
        language = translation.get_language_from_request(request)
        key = _key(request, language)
        kept = cache.get(key)
        if kept is not None:
            content, headers = kept
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            # as CommonMiddleware gives a fresh answer, so that the connection is kept alive
            response["Content-Length"] = str(len(content))
            return response
        response = self.get_response(request)
        if _keepable(request, response, mark):
            headers = [(name, response[name]) for name in KEPT_HEADERS if response.has_header(name)]
            cache.set(key, (response.content, headers), seconds)
        return response
