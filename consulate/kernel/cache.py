"""The shared cache's client: Django's Redis backend, reusing one client per connection pool;
counters and the reads they depend on in one round trip (`counters_add`, `read_then_count`);
and `KeptHere`, a process's own short-lived copies.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` object for every cache call,
and each one fills its table of about 170 response callbacks: some 0.5 ms of CPU per call, a
few calls per request (session, feed, rate limits), on every request. Here each thread keeps
one `redis.Redis` object per pool, holding one connection of that pool for good (redis-py's
`single_connection_client`), as each thread keeps its database connection: taking a connection
from the pool and giving it back, with the pool's checks, was a quarter of a refused booking's
Python at a release (docs/benchmarks.md). A process started by `fork` makes its own.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
import time
from collections.abc import Hashable
from typing import Any, cast

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

DJANGO_REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"
BACKEND = "consulate.kernel.cache.RedisCache"


# Lua scripts (EVALSHA: one round trip and one command each, run atomically by Redis; redis-py
# loads a script again on a server that lacks it).
# Read KEYS[1..ARGV[1]]; if every one of them is there and none holds ARGV[3] (when given: a
# value that stops the count), add one to each of the other keys, and give a counter without
# an expiry its window of ARGV[2] seconds (a first count, or a counter left by a client that
# set none). Returns the values read, the counts, and 1 if it counted.
READ_THEN_COUNT = """
local reads = tonumber(ARGV[1])
local values, counts, present = {}, {}, 1
for i = 1, reads do
  values[i] = redis.call('GET', KEYS[i])
  if not values[i] or (ARGV[3] and values[i] == ARGV[3]) then present = 0 end
end
if present == 1 then
  for i = reads + 1, #KEYS do
    counts[#counts + 1] = redis.call('INCR', KEYS[i])
    if redis.call('TTL', KEYS[i]) == -1 then redis.call('EXPIRE', KEYS[i], ARGV[2]) end
  end
end
return {values, counts, present}
"""
# Take one off each counter that is still there (a lapsed one is not made again, without an
# expiry, as a DECR alone would).
GIVE_BACK = """
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('DECR', KEYS[i]) end
end
return 1
"""


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # this thread's clients: (the process that made them, {server index: client})
        self._here = threading.local()
        self._scripts: dict[str, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's private helpers (not in django-stubs): which server a call goes to (the
        # first for writes, a random one for reads), and its pool, made here for that very
        # index (Django's `_get_connection_pool` would draw a read replica again).
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        made = getattr(self._here, "clients", None)
        if made is None or made[0] != os.getpid():  # a new thread, or a fork's copy of one
            made = self._here.clients = (os.getpid(), {})
        client = made[1].get(index)
        if client is None:
            pools = self._pools  # type: ignore[attr-defined]
            if index not in pools:
                pools[index] = self._pool_class.from_url(  # type: ignore[attr-defined]
                    self._servers[index],  # type: ignore[attr-defined]
                    **self._pool_options,  # type: ignore[attr-defined]
                )
            client = made[1][index] = self._client(  # type: ignore[attr-defined]
                connection_pool=pools[index], single_connection_client=True
            )
        return client

    def _run(self, source: str, keys: list[str], args: list[Any]) -> Any:
        client = self.get_client(write=True)  # counts are writes: the first server
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = client.register_script(source)
        return script(keys=keys, args=args, client=client)

    def read_then_count(
        self, read: list[str], count: list[str], timeout: int, unless: Any
    ) -> tuple[list[Any], list[int] | None]:
        args = [len(read), timeout]
        if unless is not None:
            args.append(self._serializer.dumps(unless))  # type: ignore[attr-defined]
        values, counts, present = self._run(READ_THEN_COUNT, [*read, *count], args)
        loads = self._serializer.loads  # type: ignore[attr-defined]
        read_back = [None if value is None else loads(value) for value in values]
        return read_back, [int(n) for n in counts] if present else None

    def give_back(self, keys: list[str]) -> None:
        self._run(GIVE_BACK, keys, [])


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def read_then_count(
        self, read: list[str], count: list[str], *, timeout: int, unless: Any = None
    ) -> tuple[list[Any], list[int] | None]:
        """`read_then_count` on Redis: one script, one round trip, atomic."""
        return cast(RedisCacheClient, self._cache).read_then_count(
            [self.make_and_validate_key(key) for key in read],
            [self.make_and_validate_key(key) for key in count],
            timeout,
            unless,
        )

    def give_back(self, keys: list[str]) -> None:
        """`counters_give_back` on Redis: one script, one round trip, atomic."""
        cast(RedisCacheClient, self._cache).give_back(
            [self.make_and_validate_key(key) for key in keys]
        )


def _store(using: BaseCache | None) -> BaseCache:
    # the backend itself: `django.core.cache.cache` is a proxy, never an instance of it
    return caches[DEFAULT_CACHE_ALIAS] if using is None else using


def read_then_count(
    *,
    read: list[str],
    count: list[str],
    timeout: int,
    unless: Any = None,
    using: BaseCache | None = None,
) -> tuple[list[Any], list[int] | None]:
    """The values of the keys in `read` (None where missing) and, only if every one of them is
    there and none of them is `unless` (when given), one more on each counter in `count` (each
    lives `timeout` seconds from its first count): (values, counts), counts None when nothing
    was counted.

    On the shared Redis cache this is one round trip, whatever the number of keys (a script);
    reading and then counting were one round trip each. Another cache reads, then counts."""
    store = _store(using)
    if isinstance(store, RedisCache):
        return store.read_then_count(read, count, timeout=timeout, unless=unless)
    values = [store.get(key) for key in read]
    if any(value is None or (unless is not None and value == unless) for value in values):
        return values, None
    return values, [_add_one(store, key, timeout) for key in count]


def counters_add(keys: list[str], *, timeout: int, using: BaseCache | None = None) -> list[int]:
    """Add one to each counter (each lives `timeout` seconds from its first count); return the
    counts. On the shared Redis cache this is one round trip for them all; Django's `add` then
    `incr` are three per counter (its `incr` asks whether the key exists first)."""
    _values, counts = read_then_count(read=[], count=keys, timeout=timeout, using=using)
    return counts or []  # nothing to read: always counted


def counter_add(key: str, *, timeout: int, using: BaseCache | None = None) -> int:
    """`counters_add` for one counter."""
    return counters_add([key], timeout=timeout, using=using)[0]


def counters_give_back(keys: list[str], *, using: BaseCache | None = None) -> None:
    """Take back one count from each counter (counted for a request that another step counts
    again); a counter that has lapsed meanwhile is left alone, not made again. One round trip
    on the shared Redis cache."""
    store = _store(using)
    if isinstance(store, RedisCache):
        store.give_back(keys)
        return
    for key in keys:
        with contextlib.suppress(ValueError):  # lapsed
            store.decr(key)


def _add_one(store: BaseCache, key: str, timeout: int) -> int:
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
