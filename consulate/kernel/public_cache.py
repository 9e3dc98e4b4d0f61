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

`public_page(variant=f)` also keeps the page for signed-in readers: it is the same for every
reader of a mission, in one language, for whom `f(request)` gives the same text (what the
layout shows of them: missions.permissions.navigation_variant), but for the log-out form's
token. That is served after the session and the user are read (they decide the variant), by
the view's wrapper: the kept page with the reader's own form token put in, when no message is
waiting to be shown. A page that holds the reader's e-mail address or name is never kept.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation
from django.utils.html import escape

from consulate.kernel.http import view_mark

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


def public_page(
    view: ViewT | None = None, *, variant: Callable[[HttpRequest], str] | None = None
) -> Any:
    """Mark a page that is the same for every reader of a mission in one language who is not
    signed in (see the module's text for what it must not hold); with `variant`, kept for
    signed-in readers too, per variant."""

    def mark(view: ViewT) -> ViewT:
        if variant is None:
            setattr(view, MARK, PAGE)
            return view

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return _reader_page(request, view, variant, args, kwargs)

        setattr(wrapper, MARK, PAGE)
        return wrapper  # type: ignore[return-value]

    return mark if view is None else mark(view)


# the form token's place in a kept page: no page holds a NUL byte (BadInputMiddleware)
TOKEN_PLACE = b"\x00form-token\x00"
FORM_TOKEN = re.compile(rb'(name="csrfmiddlewaretoken" value=")([A-Za-z0-9]+)(")')


def _message_waiting(request: HttpRequest) -> bool:
    """A message is waiting to be shown once, in its cookie or (when too long) the session."""
    session = getattr(request, "session", None)
    return CookieStorage.cookie_name in request.COOKIES or (
        session is not None and "_messages" in session
    )


def _names_reader(content: bytes, user: Any) -> bool:
    """Whether the page shows the reader's e-mail address or name, as written or as the
    templates escape it (O'Brien is O&#x27;Brien)."""
    for value in (user.email, user.first_name, user.last_name):
        if value and any(form.encode() in content for form in {str(value), escape(value)}):
            return True
    return False


def _reader_page(
    request: HttpRequest,
    view: Callable[..., HttpResponse],
    variant: Callable[[HttpRequest], str],
    args: Any,
    kwargs: Any,
) -> HttpResponse:
    seconds = _seconds()
    user = getattr(request, "user", None)
    if (
        not seconds
        or user is None
        or not user.is_authenticated
        or request.method != "GET"
        or request.META.get("QUERY_STRING")
        or _message_waiting(request)
    ):
        return view(request, *args, **kwargs)
    key = _key(request, translation.get_language(), variant=variant(request))
    kept = cache.get(key)
    if kept is not None:
        content, kind = kept
        return HttpResponse(content.replace(TOKEN_PLACE, get_token(request).encode()), kind)
    response = view(request, *args, **kwargs)
    if (
        response.status_code == 200
        and not response.streaming
        and response.get("Content-Type", "").startswith("text/html")
        and not response.cookies
        and not _names_reader(response.content, user)
    ):
        content = FORM_TOKEN.sub(lambda m: m.group(1) + TOKEN_PLACE + m.group(3), response.content)
        cache.set(key, (content, response["Content-Type"]), seconds)
    return response


def _seconds() -> int:
    return int(getattr(settings, "CONSULATE_PUBLIC_RESPONSE_SECONDS", 0))


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


def _key(request: HttpRequest, language: str, *, variant: str | None = None) -> str:
    tenant = getattr(request, "tenant", None)
    schema = getattr(tenant, "schema_name", "")
    # the port too: a page's links to other hosts keep the request's (`{% hq_url %}`)
    port = request.get_port()
    # a signed-in reader's variant; None: the page for readers not signed in
    reader = "" if variant is None else f"signed-in:{variant}"
    digest = hashlib.sha256(
        f"{schema}|{port}|{request.path}|{language}|{reader}".encode()
    ).hexdigest()
    return f"public-response:{digest[:40]}"


class PublicResponseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = _seconds()
        if not seconds or request.method != "GET" or request.META.get("QUERY_STRING"):
            return self.get_response(request)
        mark = view_mark(request, MARK)  # True (the same for every reader), PAGE, or None
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
