"""The shared cache's client: Django's Redis backend, reusing one client per connection pool;
a counter in one round trip (`counter_add`); and `KeptHere`, a process's own short-lived
copies.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` object for every cache call,
and each one fills its table of about 170 response callbacks: some 0.5 ms of CPU per call, a
few calls per request (session, feed, rate limits), on every request. A `redis.Redis` object is
safe to share between threads (its connections come from the pool), so one per pool is kept.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Hashable
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

DJANGO_REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"
BACKEND = "consulate.kernel.cache.RedisCache"


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's private helpers (not in django-stubs): which server a call goes to (the
        # first for writes, a random one for reads), and its pool, made here for that very
        # index (Django's `_get_connection_pool` would draw a read replica again).
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pools = self._pools  # type: ignore[attr-defined]
            if index not in pools:
                pools[index] = self._pool_class.from_url(  # type: ignore[attr-defined]
                    self._servers[index],  # type: ignore[attr-defined]
                    **self._pool_options,  # type: ignore[attr-defined]
                )
            client = self._clients[index] = self._client(connection_pool=pools[index])  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def counter_add(self, key: str, *, timeout: int) -> int:
        """`counter_add` on Redis: SET NX with the timeout, then INCR, in one MULTI (one round
        trip, and no counter left without its expiry)."""
        key = self.make_and_validate_key(key)
        client = self._cache.get_client(key, write=True)
        with client.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=timeout, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _created, count, ttl = pipe.execute()
        if ttl == -1:  # a counter without expiry (left by another client): give it its window
            client.expire(key, timeout)
        return int(count)


def counter_add(key: str, *, timeout: int, using: BaseCache | None = None) -> int:
    """Add one to a counter that lives `timeout` seconds from its first count; return the count.

    On the shared Redis cache this is one round trip; Django's `add` then `incr` are three (its
    `incr` asks whether the key exists first), on every booking request."""
    # the backend itself: `django.core.cache.cache` is a proxy, never an instance of it
    store = caches[DEFAULT_CACHE_ALIAS] if using is None else using
    if isinstance(store, RedisCache):
        return store.counter_add(key, timeout=timeout)
    store.add(key, 0, timeout=timeout)
    try:
        return int(store.incr(key))
    except ValueError:  # expired between add and incr
        store.set(key, 1, timeout=timeout)
        return 1


def cache_of_url(config: dict[str, Any]) -> dict[str, Any]:
    """A cache setting parsed from a URL (django-environ), with this module's Redis backend in
    place of Django's."""
    if config.get("BACKEND") == DJANGO_REDIS_BACKEND:
        return {**config, "BACKEND": BACKEND}
    return config


def _clock() -> float:
    return time.monotonic()


class KeptHere:
    """What this process keeps for a few seconds without asking anyone (the request's mission,
    a service): kept pickled, so each reader gets its own instance and nothing one request sets
    on it reaches another. Another process's change shows here when the copy lapses; this
    process's own drops the copy (`forget`)."""

    def __init__(self) -> None:
        self._kept: dict[Hashable, tuple[float, bytes]] = {}

    def get(self, key: Hashable) -> Any:
        """The copy of `key`, or None when there is none or it has lapsed."""
        kept = self._kept.get(key)
        if kept is None or kept[0] <= _clock():
            return None
        return pickle.loads(kept[1])  # noqa: S301 (pickled by this process, in put)

    def put(self, key: Hashable, value: Any, *, seconds: float) -> None:
        self._kept[key] = (_clock() + seconds, pickle.dumps(value))

    def forget(self, keys: Any = None) -> None:
        """Drop the copies of `keys` (an iterable), or every copy."""
        if keys is None:
            self._kept.clear()
            return
        for key in keys:
            self._kept.pop(key, None)
