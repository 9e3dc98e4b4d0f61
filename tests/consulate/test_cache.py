"""The shared cache (production's Redis): in each thread one client per connection pool, on one
connection of its own, storing and reading as Django's own backend does."""

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
    clients = client._here.clients[1]
    for index, redis_client in clients.items():
        assert redis_client.connection_pool.connection_kwargs["db"] == (12, 11, 10)[index]
    assert client.get_client(write=True) is clients[0]
    assert set(clients) == {0, 1, 2}


def test_each_thread_keeps_its_client_and_connection_without_mixing_answers(cache):
    errors = []
    connections: dict[int, tuple[int, int]] = {}

    def work(n: int) -> None:
        for i in range(50):
            key = f"t{n}-{i}"
            cache.set(key, (n, i), 60)
            if cache.get(key) != (n, i):
                errors.append(key)
        client = cache._cache.get_client(str(n))
        assert cache._cache.get_client(str(n), write=True) is client  # one server: one client
        connections[n] = (id(client), id(client.connection))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # each thread its own client, holding one connection of its own
    assert len({client for client, _connection in connections.values()}) == 8
    assert len({connection for _client, connection in connections.values()}) == 8


def test_a_forked_process_makes_its_own_client(cache):
    import os

    cache.set("before", 1, 60)
    parent = cache._cache.get_client(write=True)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its copy of this thread's client is not used
        try:
            mine = cache._cache.get_client(write=True)
            ok = mine is not parent and mine.connection is not parent.connection
            ok = ok and cache.get("before") == 1
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(child, 0)
    os.close(read)
    # and the parent's client still answers on its own connection
    assert cache._cache.get_client(write=True) is parent
    assert cache.get("before") == 1


def _commands_sent(cache, work):
    """The commands `work` sends to the cache's Redis, and how many connections it takes from
    the pool (none: this thread's client holds its own)."""
    client = cache._cache.get_client(write=True)
    taken, commands = [], []
    pool, connection = client.connection_pool, client.connection
    original, send = pool.get_connection, connection.send_command

    def counting(*args, **kwargs):
        taken.append(1)
        return original(*args, **kwargs)

    pool.get_connection = counting
    connection.send_command = lambda *a, **k: (commands.append(a[0]), send(*a, **k))[1]
    try:
        result = work()
    finally:
        del pool.get_connection
        del connection.send_command
    return result, commands, len(taken)


def test_a_counter_counts_in_one_round_trip_and_keeps_its_expiry(cache):
    from consulate.kernel.cache import counter_add

    counter_add("warm", timeout=60, using=cache)  # the script loaded on this server
    counts, commands, taken = _commands_sent(
        cache, lambda: [counter_add("window", timeout=60, using=cache) for _ in range(3)]
    )
    assert counts == [1, 2, 3]
    assert commands == ["EVALSHA"] * 3  # one command, one round trip, per count
    assert taken == 0  # on the thread's own connection
    client = cache._cache.get_client(write=True)
    key = cache.make_and_validate_key("window")
    assert 0 < client.ttl(key) <= 60  # the first count set the window; later ones kept it
    assert cache.get("window") == 3  # stored as Django's backend stores an integer
    assert cache.incr("window") == 4


def test_a_server_without_the_script_is_given_it(cache):
    from consulate.kernel.cache import counters_add

    # given a Redis that has forgotten its scripts (a restart, a fail-over)
    cache._cache.get_client(write=True).script_flush()
    # when counters are counted, then the script is loaded and they count
    assert counters_add(["a", "b"], timeout=60, using=cache) == [1, 1]
    assert counters_add(["a", "b"], timeout=60, using=cache) == [2, 2]


def test_reads_and_the_counts_they_allow_are_one_round_trip(cache):
    from consulate.kernel.cache import read_then_count

    cache.set("kept", ("passport", None), 60)
    cache.set("session", {"user": "7"}, 60)
    read_then_count(read=[], count=["warm"], timeout=60, using=cache)
    # when both keys are read and two counters counted
    (values, counts), commands, _taken = _commands_sent(
        cache,
        lambda: read_then_count(
            read=["kept", "session"], count=["address", "own"], timeout=60, using=cache
        ),
    )
    # then the values come back as Django stored them, the counters counted, in one command
    assert values == [("passport", None), {"user": "7"}]
    assert counts == [1, 1]
    assert commands == ["EVALSHA"]
    # and with one key missing nothing is counted, and the other is still read
    values, counts = read_then_count(
        read=["kept", "missing"], count=["address", "own"], timeout=60, using=cache
    )
    assert values == [("passport", None), None]
    assert counts is None
    assert [cache.get("address"), cache.get("own")] == [1, 1]
    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_and_validate_key("own")) <= 60


def test_reads_and_counts_on_another_cache_say_the_same():
    from django.core.cache.backends.locmem import LocMemCache

    from consulate.kernel.cache import counters_give_back, read_then_count

    local = LocMemCache(f"read-count-{uuid.uuid4().hex}", {})
    local.set("kept", ("passport", None), 60)
    assert read_then_count(read=["kept", "gone"], count=["c"], timeout=60, using=local) == (
        [("passport", None), None],
        None,
    )
    assert read_then_count(read=["kept"], count=["c", "d"], timeout=60, using=local) == (
        [("passport", None)],
        [1, 1],
    )
    counters_give_back(["c", "lapsed"], using=local)
    assert [local.get("c"), local.get("lapsed")] == [0, None]


def test_a_value_that_stops_the_count_is_read_and_counts_nothing(cache):
    from consulate.kernel.cache import read_then_count

    cache.set("slot", "freed", 60)
    cache.set("session", {"user": "7"}, 60)
    # when the slot holds the value that stops the count: read, not counted
    assert read_then_count(
        read=["slot", "session"], count=["c"], timeout=60, unless="freed", using=cache
    ) == (["freed", {"user": "7"}], None)
    assert cache.get("c") is None
    # and any other value counts
    cache.set("slot", ("passport", None), 60)
    assert read_then_count(
        read=["slot", "session"], count=["c"], timeout=60, unless="freed", using=cache
    )[1] == [1]


def test_a_count_given_back_after_its_window_is_not_made_again(cache):
    from consulate.kernel.cache import counters_add, counters_give_back

    counters_give_back(["warm"], using=cache)  # the script loaded on this server
    # given a counter whose window lapsed before its count was given back
    assert counters_add(["gone"], timeout=60, using=cache) == [1]
    cache.delete("gone")
    # when it is given back (one command), then no counter is made without an expiry
    _result, commands, _taken = _commands_sent(
        cache, lambda: counters_give_back(["gone"], using=cache)
    )
    assert commands == ["EVALSHA"]
    client = cache._cache.get_client(write=True)
    assert client.exists(cache.make_and_validate_key("gone")) == 0
    assert counters_add(["gone"], timeout=60, using=cache) == [1]


def test_a_count_given_back_is_taken_off(cache):
    from consulate.kernel.cache import counters_add, counters_give_back

    assert counters_add(["x", "y"], timeout=60, using=cache) == [1, 1]
    counters_give_back(["x", "y", "never-counted"], using=cache)
    assert counters_add(["x", "y"], timeout=60, using=cache) == [1, 1]
    assert cache.get("never-counted") is None


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
    taken: list[list[str]] = []
    original = module.RedisCache.read_then_count

    def spying(self, read, count, *, timeout, unless=None):
        taken.append(count)
        return original(self, read, count, timeout=timeout, unless=unless)

    monkeypatch.setattr(module.RedisCache, "read_then_count", spying)
    # when a rate limit counts without naming a cache
    assert [module.counter_add("default-path", timeout=60) for _ in range(2)] == [1, 2]
    # then it went through the Redis backend's own script, not add and incr
    assert taken == [["default-path"], ["default-path"]]


def test_a_counter_left_without_expiry_gets_its_window_back(cache):
    from consulate.kernel.cache import counter_add

    client = cache._cache.get_client(write=True)
    key = cache.make_and_validate_key("stuck")
    client.set(key, 7)  # as Django's incr could leave it: EXISTS, the key lapses, INCR
    assert client.ttl(key) == -1
    assert counter_add("stuck", timeout=60, using=cache) == 8
    assert 0 < client.ttl(key) <= 60
