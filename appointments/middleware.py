"""The early refusal of a booking for a slot known to be full (appointments/full_slots.py).

At a release most booking requests name a time that has just been taken. `FullSlotRefusal
Middleware` sits before the session middleware. A POST to a view marked
`refused_early_when_full` (the booking API) whose JSON names a kept full slot of the service it
names is answered here, exactly as the view would answer it (status, code, message in the
reader's language, `next_release`), with three reads of the shared cache: what is kept for the
slot, the session, and the account's and address's rate limit, which the refusal counts as the
view does, and which refuses first when spent (429).

Only a request the view would otherwise refuse as full is answered here: it must carry a
session that is signed in and a valid CSRF token (the same check as DRF's), in the body's plain
form (`{"service": "<code>", "slot": <integer>, ...}`). Anything else (no session, a bad token,
another body, a slot not kept) goes through the whole stack as before, whose answer stays the
judge. The session's user is taken from the session without reading the user's row: an
account disabled or whose password changed since the session began is told "full" here where
the view would have asked it to sign in again, and nothing else.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from importlib import import_module
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from rest_framework.authentication import CSRFCheck
from rest_framework.renderers import JSONRenderer

from consulate.kernel.errors import ApplicationError

from .full_slots import full_slot_kept
from .ratelimit import client_address, rate_limit_consume_as
from .services.places import slot_full_error

ViewT = TypeVar("ViewT", bound=Callable[..., Any])

MARK = "refused_early_when_full"
# a booking's body is a few hundred bytes; anything longer goes through the whole stack
MAX_BODY = 4096


def refused_early_when_full(view: ViewT) -> ViewT:
    """Mark a booking view whose POST names `service` and `slot` in its JSON body, and which
    refuses a full slot with `slot_full_error`, counting the "book" rate limit first."""
    setattr(view, MARK, True)
    return view


def _marked(request: HttpRequest) -> bool:
    return _marked_path(request.path_info, getattr(request, "urlconf", None))


@functools.lru_cache(maxsize=1024)
def _marked_path(path: str, urlconf: str | None) -> bool:
    """Whether the view at `path` is marked (kept per path: every booking POSTs to one)."""
    try:
        match = resolve(path, urlconf=urlconf)
    except Resolver404:
        return False
    return bool(getattr(match.func, MARK, False))


def _slot_named(request: HttpRequest) -> tuple[str, int] | None:
    """The service and slot of a body in the plain form, or None."""
    if request.content_type != "application/json":
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= MAX_BODY:
        return None
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    service, slot = body.get("service"), body.get("slot")
    if not isinstance(service, str) or type(slot) is not int:
        return None
    return service, slot


def _csrf_passes(request: HttpRequest) -> bool:
    """DRF's own check for a signed-in session (SessionAuthentication.enforce_csrf)."""
    check = CSRFCheck(lambda _request: HttpResponse())
    check.process_request(request)
    return check.process_view(request, None, (), {}) is None  # type: ignore[arg-type]


class FullSlotRefusalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.sessions = import_module(settings.SESSION_ENGINE).SessionStore

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and _marked(request):
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _user_id(self, request: HttpRequest) -> str | None:
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if not session_key:
            return None
        user_id = self.sessions(session_key).get(SESSION_KEY)
        return user_id if isinstance(user_id, str) and user_id else None

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        named = _slot_named(request)
        if named is None:
            return None
        service_code, slot_id = named
        kept = full_slot_kept(slot_id=slot_id)
        if kept is None or kept[0] != service_code:
            return None
        release = kept[1]
        if release is not None and release <= timezone.now():
            return None  # that release has come: the view reads the next one
        user_id = self._user_id(request)
        if user_id is None or not _csrf_passes(request):
            return None
        language = translation.get_language_from_request(request)
        with translation.override(language):
            try:
                rate_limit_consume_as(
                    address=client_address(request), user_id=user_id, action="book"
                )
                error = slot_full_error(next_release=release)
            except ApplicationError as refused:
                error = refused
            body = JSONRenderer().render(error.as_dict())
        response = HttpResponse(body, status=error.http_status, content_type="application/json")
        # as the view's answer through the whole stack (DRF, the locale and the session)
        response["Content-Language"] = language
        response["Vary"] = "Accept, Accept-Language, Cookie"
        response["Allow"] = "GET, POST, HEAD, OPTIONS"
        return response
