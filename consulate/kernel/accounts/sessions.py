"""Sessions that expire after SESSION_COOKIE_AGE without a request, written at most once a
`CONSULATE_SESSION_TOUCH_SECONDS`.

Django's SESSION_SAVE_EVERY_REQUEST makes the cookie age an idle timeout checked on the server,
but it writes the session on every request: one more statement on every page and every booking
(and, with the cached database backend, a database write behind each cache write). Here an
untouched session is written again only when its last write is older than the touch interval,
which moves its expiry (on the server and in the cookie) to a full idle timeout from now. So a
session expires between `SESSION_COOKIE_AGE - touch` and `SESSION_COOKIE_AGE` after the last
request; a session that changed is written at once, as always."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

TOUCHED_KEY = "_touched"


class IdleSessionMiddleware(SessionMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> Any:
        session = getattr(request, "session", None)
        if session is not None and session.accessed and not session.is_empty():
            now = int(time.time())
            interval = getattr(settings, "CONSULATE_SESSION_TOUCH_SECONDS", 60)
            # a session written anyway (it changed) counts as touched now
            if session.modified or now - session.get(TOUCHED_KEY, 0) >= interval:
                session[TOUCHED_KEY] = now
        return super().process_response(request, response)
