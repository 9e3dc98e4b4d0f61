"""Sessions that expire after SESSION_COOKIE_AGE without a request, written at most once a
`CONSULATE_SESSION_TOUCH_SECONDS`.

Django's SESSION_SAVE_EVERY_REQUEST makes the cookie age an idle timeout checked on the server,
but it writes the session on every request: one more statement on every page and every booking
(and, with the cached database backend, a database write behind each cache write). Here an
untouched session is written again only when its last write is older than the touch interval,
which moves its expiry (on the server and in the cookie) to a full idle timeout from now. So a
session expires between `SESSION_COOKIE_AGE - touch` and `SESSION_COOKIE_AGE` after the last
request; a session that changed is written at once, as always.

`SessionStore` (SESSION_ENGINE names this module) is Django's cached database store, with an
existing session written in one statement: Django's wraps its UPDATE in a transaction of its
own (BEGIN, UPDATE, COMMIT: three round trips), which a single statement in autocommit does not
need. Every touch pays it, and at a release nearly every first booking of the moment does."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse

TOUCHED_KEY = "_touched"
logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    def save(self, must_create: bool = False) -> None:
        if must_create or self.session_key is None:
            super().save(must_create)  # a new session: Django's, with its retry on a clash
            return
        data = dict(self.items())
        updated = self.model.objects.filter(session_key=self.session_key).update(
            session_data=self.encode(data), expire_date=self.get_expiry_date()
        )
        if not updated:  # gone from the database (logged out elsewhere, cleared): as Django
            raise UpdateError
        try:
            cache = caches[settings.SESSION_CACHE_ALIAS]
            cache.set(self.cache_key, data, self.get_expiry_age())
        except Exception:  # as Django's: the database holds it, the cache is only a copy
            logger.exception("Error saving the session to the cache")


# The session's data as its store's cache held it, read earlier in the same request by a
# middleware that needed it before the session middleware (the early refusal of a full slot
# reads it in the same round trip as what it checks): (session key, data).
PREFETCHED = "_consulate_session_prefetched"


def session_prefetched(request: HttpRequest, *, session_key: str, data: dict[str, Any]) -> None:
    """Hand the session middleware the session's data, just read from the cache under the
    store's own key for `session_key`, so that it is not read again (one round trip less)."""
    setattr(request, PREFETCHED, (session_key, data))


class IdleSessionMiddleware(SessionMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        prefetched = request.__dict__.pop(PREFETCHED, None)
        if (
            prefetched is not None
            and isinstance(prefetched[1], dict)
            and prefetched[0] == request.session.session_key
        ):
            # what cached_db's load() would return from the cache: loaded, not yet accessed
            request.session._session_cache = prefetched[1]  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> Any:
        session = getattr(request, "session", None)
        if session is not None and session.accessed and not session.is_empty():
            now = int(time.time())
            interval = getattr(settings, "CONSULATE_SESSION_TOUCH_SECONDS", 60)
            # a session written anyway (it changed) counts as touched now
            if session.modified or now - session.get(TOUCHED_KEY, 0) >= interval:
                session[TOUCHED_KEY] = now
        return super().process_response(request, response)
