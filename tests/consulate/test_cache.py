"""The shared cache (production's Redis): one client per connection pool, used from many
threads, storing and reading as Django's own backend does."""

import socket
import threading
import uuid

import pytest

from consulate.kernel.cache import BACKEND, RedisCache, cache_of_url


def redis_on_loopback() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.fixture
def cache():
    if not redis_on_loopback():
        pytest.skip("NO REDIS ON 127.0.0.1:6379: the shared cache's client was not exercised")
    prefix = f"test-cache-{uuid.uuid4().hex}"
    cache = RedisCache("redis://127.0.0.1:6379/14", {"KEY_PREFIX": prefix})
    yield cache
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_a_redis_url_gets_the_reusing_backend_and_others_are_left_alone():
    django_redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "x"}
    assert cache_of_url(django_redis) == {"BACKEND": BACKEND, "LOCATION": "x"}
    locmem = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    assert cache_of_url(locmem) == locmem


def test_one_client_serves_every_call(cache):
    cache.set("a", {"value": 1}, 60)
    first = cache._cache.get_client("a")
    assert cache.get("a") == {"value": 1}
    assert cache.add("b", 2, 60) is True
    assert cache.add("b", 3, 60) is False
    assert cache.incr("b") == 3
    assert cache._cache.get_client("b", write=True) is first
    assert cache.get_many(["a", "b"]) == {"a": {"value": 1}, "b": 3}


def test_each_read_replica_keeps_its_own_client_on_its_own_server():
    # given a primary and two read replicas (three databases of the loopback Redis stand in)
    if not redis_on_loopback():
        pytest.skip("NO REDIS ON 127.0.0.1:6379: the shared cache's client was not exercised")
    servers = [f"redis://127.0.0.1:6379/{db}" for db in (12, 11, 10)]
    client = RedisCache(servers, {})._cache
    # when many reads and writes pick their server
    for _ in range(200):
        client.get_client(write=False)
        client.get_client(write=True)
    # then each client talks to the server of its own index, and writes go to the primary
    for index, redis_client in client._clients.items():
        assert redis_client.connection_pool.connection_kwargs["db"] == (12, 11, 10)[index]
    assert client.get_client(write=True) is client._clients[0]
    assert set(client._clients) == {0, 1, 2}


def test_threads_share_the_client_without_mixing_answers(cache):
    errors = []

    def work(n: int) -> None:
        for i in range(50):
            key = f"t{n}-{i}"
            cache.set(key, (n, i), 60)
            if cache.get(key) != (n, i):
                errors.append(key)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({id(cache._cache.get_client(str(n))) for n in range(8)}) == 1


def test_a_counter_counts_in_one_round_trip_and_keeps_its_expiry(cache):
    from consulate.kernel.cache import counter_add

    client = cache._cache.get_client(write=True)
    sent = []
    original = client.connection_pool.get_connection

    def counting(*args, **kwargs):
        connection = original(*args, **kwargs)
        sent.append(connection)
        return connection

    client.connection_pool.get_connection = counting
    try:
        counts = [counter_add("window", timeout=60, using=cache) for _ in range(3)]
    finally:
        client.connection_pool.get_connection = original
    assert counts == [1, 2, 3]
    assert len(sent) == 3  # one connection taken, one MULTI sent, per count
    key = cache.make_and_validate_key("window")
    assert 0 < client.ttl(key) <= 60  # the first count set the window; later ones kept it
    assert cache.get("window") == 3  # stored as Django's backend stores an integer
    assert cache.incr("window") == 4


def test_a_counter_counted_from_many_threads_loses_no_count(cache):
    from consulate.kernel.cache import counter_add

    seen: list[int] = []

    def work() -> None:
        for _ in range(25):
            seen.append(counter_add("busy", timeout=60, using=cache))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 201))


def test_a_counter_starts_again_when_its_window_lapses(cache):
    import time

    from consulate.kernel.cache import counter_add

    assert counter_add("short", timeout=1, using=cache) == 1
    assert counter_add("short", timeout=1, using=cache) == 2
    time.sleep(1.1)
    assert counter_add("short", timeout=1, using=cache) == 1


def test_a_counter_on_another_cache_uses_its_add_and_incr():
    from django.core.cache.backends.locmem import LocMemCache

    from consulate.kernel.cache import counter_add

    local = LocMemCache(f"counter-{uuid.uuid4().hex}", {})
    assert [counter_add("k", timeout=60, using=local) for _ in range(3)] == [1, 2, 3]


def test_the_default_cache_on_redis_counts_through_the_one_round_trip(settings, monkeypatch):
    # given production's shape: the default cache is this module's Redis backend
    if not redis_on_loopback():
        pytest.skip("NO REDIS ON 127.0.0.1:6379: the shared cache's client was not exercised")
    from consulate.kernel import cache as module

    settings.CACHES = {
        "default": {
            "BACKEND": BACKEND,
            "LOCATION": "redis://127.0.0.1:6379/14",
            "KEY_PREFIX": f"test-cache-{uuid.uuid4().hex}",
        }
    }
    taken: list[str] = []
    original = module.RedisCache.counter_add

    def spying(self, key, *, timeout):
        taken.append(key)
        return original(self, key, timeout=timeout)

    monkeypatch.setattr(module.RedisCache, "counter_add", spying)
    # when a rate limit counts without naming a cache
    assert [module.counter_add("default-path", timeout=60) for _ in range(2)] == [1, 2]
    # then it went through the Redis backend's own counter, not add and incr
    assert taken == ["default-path", "default-path"]


def test_a_counter_left_without_expiry_gets_its_window_back(cache):
    from consulate.kernel.cache import counter_add

    client = cache._cache.get_client(write=True)
    key = cache.make_and_validate_key("stuck")
    client.set(key, 7)  # as Django's incr could leave it: EXISTS, the key lapses, INCR
    assert client.ttl(key) == -1
    assert counter_add("stuck", timeout=60, using=cache) == 8
    assert 0 < client.ttl(key) <= 60
