"""The early refusal of a booking for a slot known to be full (appointments/full_slots.py).

At a release most booking requests name a time that has just been taken.
`FullSlotRefusalMiddleware` sits before the session middleware. A POST to a view marked
`refused_early_when_full` (the booking API) whose JSON names a kept full slot of the service it
names is answered here as the view answers a full slot (status, code, message in the reader's
language, `next_release`), with one round trip to the shared cache (`read_then_count`, a script
on Redis): what is kept for the slot, the session's cached data and, only when both are there,
the booking budget's counts, which refuse first when spent (429). Nothing is counted for a slot
marked freed, and a kept refusal lapses at its release (full_slots.py), so what is counted is
nearly always refused here; a request counted that is not refused after all (a session without
a user, a bad token, another service) has its counts given back in one more round trip (a
script), since the view counts it again. A session not in the cache is read by its store and
counted then, as before. A request that goes on through the stack hands the session's data it
read to the session middleware (`session_prefetched`), which does not read it again.

Only a signed-in session with a valid CSRF token (DRF's own check) is answered here, for a body
in the plain form (`{"service": "<code>", "slot": <id>, "persons": [...]}`, UTF-8, as the
view's parser would accept it). Anything else (no session, a bad token, another body, a slot
not kept) goes through the whole stack as before, whose answer stays the judge. The user's row
is not read: the refusal counts against the address's budget (as the view does) and the
session's own, not the account's, so that a session that was signed out elsewhere (a password
change) or whose account was disabled cannot spend its account's budget here. The view checks
the account's budget for every booking that reaches it. For the few seconds a slot is kept,
a request the view would refuse for another reason first (a service withdrawn meanwhile, a
person's details) is told here that the time is full, which is also true.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable
from importlib import import_module
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from rest_framework.authentication import CSRFCheck
from rest_framework.renderers import JSONRenderer

from consulate.kernel.accounts.sessions import session_prefetched
from consulate.kernel.cache import counters_give_back, read_then_count
from consulate.kernel.errors import ApplicationError
from consulate.kernel.http import json_loads_bounded, view_mark
from missions.selectors import current_mission

from .full_slots import FREED, Kept, full_slot_kept_value, full_slot_key, full_slot_quietly
from .ratelimit import client_address, rate_limit_budget_early, rate_limit_consume_early
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
    try:  # as the view's parser reads it: UTF-8, bounded in depth, no control characters
        body = json_loads_bounded(request.body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError too
        return None
    if not isinstance(body, dict):
        return None
    service, slot, persons = body.get("service"), body.get("slot"), body.get("persons")
    if not isinstance(service, str) or type(slot) is not int or not 0 < slot < 1 << 63:
        return None
    if not isinstance(persons, list) or not persons:
        return None  # the view says what is missing
    return service, slot


@functools.lru_cache(maxsize=256)
def _full_answer(
    release: dt.datetime | None, zone: zoneinfo.ZoneInfo, language: str
) -> tuple[int, bytes]:
    """The view's answer for a full slot, rendered (status, body): at a release every refusal of
    a mission says the same, in the reader's language (active here)."""
    error = slot_full_error(next_release=release)
    return error.http_status, JSONRenderer().render(error.as_dict())


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
        if request.method == "POST" and view_mark(request, MARK):
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    @staticmethod
    def _signed_in(data: Any) -> bool:
        user_id = data.get(SESSION_KEY) if isinstance(data, dict) else None
        return isinstance(user_id, str) and bool(user_id)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        named = _slot_named(request)
        if named is None:
            return None
        service_code, slot_id = named
        kept_key = full_slot_key(slot_id=slot_id)
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
        if kept_key is None or not session_key:
            return None
        session = self.sessions(session_key)
        if session.session_key is None:  # not a key this store would ever have given out
            return None
        budget = rate_limit_budget_early(
            address=client_address(request), session_key=session_key, action="book"
        )
        # One round trip: what is kept for the slot, the session's data as its store caches
        # it, and, only when both are there and the slot is not marked freed, the budget's
        # counts.
        read = full_slot_quietly(
            lambda: read_then_count(
                read=[kept_key, session.cache_key],
                count=budget.keys,
                timeout=budget.seconds,
                unless=FREED,
            )
        )
        if read is None:  # the cache failed: the stack judges
            return None
        (kept_value, data), counts = read
        kept = full_slot_kept_value(kept_value)
        if kept is None or not self._refuses(request, kept, service_code, session, data):
            if counts is not None:  # counted for a request the view counts again
                full_slot_quietly(lambda: counters_give_back(budget.keys))
            if isinstance(data, dict):  # read once: the session middleware takes it from here
                session_prefetched(request, session_key=session_key, data=data)
            return None
        language = translation.get_language_from_request(request)
        with translation.override(language):
            try:
                if counts is None:  # the session was not in the cache: counted now
                    rate_limit_consume_early(
                        address=client_address(request), session_key=session_key, action="book"
                    )
                else:
                    budget.judge(counts)
            except ApplicationError as refused:
                status, body = refused.http_status, JSONRenderer().render(refused.as_dict())
            else:
                status, body = _full_answer(kept[1], current_mission().zone, language)
        response = HttpResponse(body, status=status, content_type="application/json")
        # as the view's answer through the whole stack (DRF, the locale and the session)
        response["Content-Language"] = language
        response["Vary"] = "Accept, Accept-Language, Cookie"
        response["Allow"] = "GET, POST, HEAD, OPTIONS"
        # as CommonMiddleware gives the view's answer: a server or proxy that keeps a
        # connection alive only for an answer of known length keeps this one too
        response["Content-Length"] = str(len(body))
        return response

    def _refuses(
        self, request: HttpRequest, kept: Kept, service_code: str, session: Any, data: Any
    ) -> bool:
        """Whether the kept slot is refused here: kept full for this service, its release not
        come, a signed-in session (`data`: its cached data; None when not in the cache, when
        its store reads it) with a valid CSRF token."""
        if kept[0] != service_code:
            return False
        if kept[1] is not None and kept[1] <= timezone.now():
            return False  # that release has come: the view reads the next one
        signed_in = self._signed_in(dict(session.items()) if data is None else data)
        return signed_in and _csrf_passes(request)
