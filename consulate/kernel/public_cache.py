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

At a release every signed-in reader reloads the home, and reading who they are (the session
from the cache, the user's statement) cost more than the kept page itself. So that answer also
sets a cookie (`READER_COOKIE`, HttpOnly) saying the reader's variant, signed with the secret
key, bound to the session cookie it was read with, and good for
`CONSULATE_READER_NAVIGATION_SECONDS` (0: off). A later request with that cookie, the same
session cookie and a valid form token cookie gets the kept page of that variant from the
middleware, before the session is read: the page with its own form token put in, with the
headers the whole stack gave the kept copy. Nothing else changes: a session cookie that changed
(logged out, logged in as someone else) no longer matches the cookie, a copy not yet kept goes
through the whole stack, and a signature that does not match is ignored. What the cookie allows
is bounded by its life: for that long after their roles change, or after their session ended
elsewhere, a reader's home may still show the navigation it showed before (each link checks
them again), and a home read this way does not count as activity for the session's idle
timeout. A message waiting is always shown: the message storage leaves its cookie whenever one
waits (with a storage that keeps messages in the session alone, the reader cookie is off).

A copy that is older than its seconds is not dropped at once: the first request to find it so
renews it (goes through the whole stack and keeps the new answer; `cache.add` decides between
processes), and every other request meanwhile is still served the old copy, for at most
`STALE_SECONDS` more. Without this, every copy ended at one moment, and every request in flight
until a new one was kept went through the whole stack: under 200 clients on the signed-in home,
several dozen full renders each second, the cause of the pages' slowest answers
(docs/benchmarks.md, nineteenth pass). A copy can so be read up to the renewal's own time late,
and a renewal that fails (an answer that may not be kept) leaves the old copy served until
`STALE_SECONDS` have passed, then every request goes through the whole stack again.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.utils import translation
from django.utils.html import escape

from consulate.kernel.http import view_mark

ViewT = TypeVar("ViewT", bound=Callable[..., Any])

MARK = "public_response"
KEPT_HEADERS = ("Content-Type", "Content-Language", "Vary", "X-Frame-Options")


# how long past its seconds a copy is still served while one request renews it
STALE_SECONDS = 5

PAGE = "page"
# a page kept per variant for signed-in readers too (`public_page(variant=…)`)
READER_PAGE = "reader-page"
PAGES = (PAGE, READER_PAGE)
READER_COOKIE = "consulate_reader"
_READER_SALT = "consulate.kernel.public_cache.reader"
# set on the request by `_reader_page`: the kept copy's key, for the middleware to keep its
# headers (the whole stack's, which the view does not see)
_READER_KEY = "_consulate_reader_key"
# set on the request by the middleware that found a reader's copy stale and claimed its renewal
_RENEWING = "_consulate_reader_renewing"


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

        setattr(wrapper, MARK, READER_PAGE)
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
    reader = variant(request)
    key = _key(request, translation.get_language(), variant=reader)
    kept = cache.get(key)
    # the middleware found the copy stale and this request renews it
    renewing = getattr(request, _RENEWING, False)
    if kept is not None and not renewing and _served(key, kept[2], seconds):
        content, kind, _fresh_until = kept
        response = HttpResponse(content.replace(TOKEN_PLACE, get_token(request).encode()), kind)
    else:
        response = view(request, *args, **kwargs)
        if not (
            response.status_code == 200
            and not response.streaming
            and response.get("Content-Type", "").startswith("text/html")
            and not response.cookies
            and not _names_reader(response.content, user)
        ):
            return response
        content = FORM_TOKEN.sub(lambda m: m.group(1) + TOKEN_PLACE + m.group(3), response.content)
        _keep(key, (content, response["Content-Type"]), seconds)
    setattr(request, _READER_KEY, key)
    _reader_cookie_set(request, response, reader)
    return response


# message storages that leave their cookie whenever a message waits (the fallback storage
# leaves one saying "more in the session"): with these, no cookie means no message
_MESSAGES_IN_A_COOKIE = (
    "django.contrib.messages.storage.fallback.FallbackStorage",
    "django.contrib.messages.storage.cookie.CookieStorage",
)


def _reader_seconds() -> int:
    if settings.MESSAGE_STORAGE not in _MESSAGES_IN_A_COOKIE:
        return 0  # a message could wait in the session alone, which the cookie cannot see
    return int(getattr(settings, "CONSULATE_READER_NAVIGATION_SECONDS", 0))


def _session_tag(request: HttpRequest) -> str:
    """What binds the reader cookie to the session cookie it was read with."""
    session = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    return hashlib.sha256(session.encode()).hexdigest()[:32]


def _reader_cookie_set(request: HttpRequest, response: HttpResponse, reader: str) -> None:
    seconds = _reader_seconds()
    if not seconds or not request.COOKIES.get(settings.SESSION_COOKIE_NAME):
        return
    value = signing.dumps([reader, _session_tag(request)], salt=_READER_SALT)
    response.set_cookie(
        READER_COOKIE,
        value,
        max_age=seconds,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite=settings.SESSION_COOKIE_SAMESITE,  # type: ignore[arg-type]
    )


def _reader_from_cookie(request: HttpRequest) -> str | None:
    """The variant the reader cookie says, if it is ours, still good, and read with the session
    cookie this request carries; else None."""
    seconds = _reader_seconds()
    value = request.COOKIES.get(READER_COOKIE)
    if not seconds or not value or not request.COOKIES.get(settings.SESSION_COOKIE_NAME):
        return None
    try:
        said = signing.loads(value, salt=_READER_SALT, max_age=seconds)
        reader, tag = said
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(reader, str) or tag != _session_tag(request):
        return None
    return reader


def _seconds() -> int:
    return int(getattr(settings, "CONSULATE_PUBLIC_RESPONSE_SECONDS", 0))


def _now() -> float:
    return time.time()


def _keep(key: str, value: tuple[Any, ...], seconds: int) -> None:
    """Keep a copy, fresh for `seconds`, with the moment it stops being fresh last."""
    cache.set(key, (*value, _now() + seconds), seconds + STALE_SECONDS)


def _renewal_claimed(key: str, seconds: int) -> bool:
    """Whether this request is the one to renew a stale copy: the first to ask in any process,
    and again once `seconds` have passed without a renewal kept."""
    return bool(cache.add(f"{key}:renewing", True, seconds))


def _served(key: str, fresh_until: float, seconds: int) -> bool:
    """Whether a kept copy is served: while fresh, and once stale, for `STALE_SECONDS` more to
    every request but the one that renews it."""
    now = _now()
    if now < fresh_until:
        return True
    return now < fresh_until + STALE_SECONDS and not _renewal_claimed(key, seconds)


def _keepable(request: HttpRequest, response: HttpResponse, mark: object) -> bool:
    if response.status_code != 200 or response.streaming:
        return False
    kind = response.get("Content-Type", "")
    if mark not in PAGES:
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
    # the copy's form changed with its freshness (each copy kept with the moment it goes stale)
    return f"public-kept:{digest[:40]}"


def _kept_answer(content: bytes, headers: list[tuple[str, str]]) -> HttpResponse:
    response = HttpResponse(content)
    for name, value in headers:
        response[name] = value
    # as CommonMiddleware gives a fresh answer, so that the connection is kept alive
    response["Content-Length"] = str(len(content))
    return response


def _kept_headers(response: HttpResponse) -> list[tuple[str, str]]:
    return [(name, response[name]) for name in KEPT_HEADERS if response.has_header(name)]


class PublicResponseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # reads the form token's cookie as the CSRF middleware does, for a kept reader's page
        self.csrf = CsrfViewMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = _seconds()
        if not seconds or request.method != "GET" or request.META.get("QUERY_STRING"):
            return self.get_response(request)
        # True (the same for every reader), PAGE, READER_PAGE (kept per variant too), or None
        mark = view_mark(request, MARK)
        if not mark:
            return self.get_response(request)
        if mark in PAGES and any(name in request.COOKIES for name in _own_cookies()):
            return self._reader_page(request) if mark == READER_PAGE else self.get_response(request)
        language = translation.get_language_from_request(request)
        key = _key(request, language)
        kept = cache.get(key)
        if kept is not None and _served(key, kept[2], seconds):
            return _kept_answer(kept[0], kept[1])
        response = self.get_response(request)
        if _keepable(request, response, mark):
            _keep(key, (response.content, _kept_headers(response)), seconds)
        return response

    def _reader_page(self, request: HttpRequest) -> HttpResponse:
        """A signed-in reader's kept page, from their reader cookie; else the whole stack, whose
        kept page's headers are kept beside it."""
        reader = _reader_from_cookie(request)
        seconds = _seconds()
        if reader is not None and CookieStorage.cookie_name not in request.COOKIES:
            key = _key(request, translation.get_language_from_request(request), variant=reader)
            kept = cache.get_many([key, key + ":headers"])
            if len(kept) == 2 and self._form_token_read(request):
                content, _kind, fresh_until = kept[key]
                if _served(key, fresh_until, seconds):
                    token = get_token(request).encode()
                    return _kept_answer(content.replace(TOKEN_PLACE, token), kept[key + ":headers"])
                setattr(request, _RENEWING, True)  # the view renders the page anew
        response = self.get_response(request)
        kept_key = getattr(request, _READER_KEY, None)
        if kept_key is not None and response.status_code == 200:
            cache.set(kept_key + ":headers", _kept_headers(response), seconds + STALE_SECONDS)
        return response

    def _form_token_read(self, request: HttpRequest) -> bool:
        """Whether the reader's form token cookie holds a secret to mask into the page (else
        the CSRF middleware would set a new one, which only the whole stack sends)."""
        self.csrf.process_request(request)
        return "CSRF_COOKIE" in request.META and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
