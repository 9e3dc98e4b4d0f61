"""gunicorn.conf.py's garbage-collector hooks: the preloaded application is frozen before each
fork, and a worker's own objects once, after its warm-up requests, and never again; and
every worker listens on its own socket, so an address already listened on is refused first."""

import gc
import os
import runpy
import socket
import subprocess
from types import SimpleNamespace

import pytest
from django.conf import settings


@pytest.fixture
def conf(monkeypatch):
    monkeypatch.setenv("GUNICORN_GC_FREEZE_AFTER", "3")
    yield runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    gc.unfreeze()


def test_the_master_freezes_what_it_holds_before_each_fork(conf):
    gc.unfreeze()
    held = [[n] for n in range(1000)]  # noqa: F841 - objects the collector tracks
    conf["pre_fork"](None, None)
    assert gc.get_freeze_count() >= 1000


def test_the_first_freezes_follow_a_full_collection(conf):
    gc.unfreeze()
    cycle = [None]
    cycle[0] = cycle  # garbage the young collections may already have promoted
    del cycle
    collected = []
    gc.callbacks.append(lambda phase, info: collected.append(info["generation"]))
    try:
        conf["pre_fork"](None, None)
        for _ in range(3):
            conf["post_request"](None, None, {}, None)
    finally:
        gc.callbacks.pop()
    assert collected.count(2) >= 2 * 2  # a full collection's start and stop, twice


def test_a_worker_freezes_once_after_its_warm_up(conf):
    gc.unfreeze()
    frozen = []
    for _ in range(6):
        before = gc.get_freeze_count()
        held = [[n] for n in range(100)]  # noqa: F841
        conf["post_request"](None, None, {}, None)
        frozen.append(gc.get_freeze_count() > before)
    assert frozen == [False, False, True, False, False, False]


def test_zero_leaves_the_worker_to_the_collector(monkeypatch):
    monkeypatch.setenv("GUNICORN_GC_FREEZE_AFTER", "0")
    conf = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    gc.unfreeze()
    for _ in range(5):
        conf["post_request"](None, None, {}, None)
    assert gc.get_freeze_count() == 0


def listening(reuse_port: bool) -> socket.socket:
    sock = socket.socket()
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


class Cfg:
    def __init__(self, *address, reuse_port=True):
        self.address = list(address)
        self.reuse_port = reuse_port

    def set(self, name, value):
        setattr(self, name, value)


def server(*address, reuse_port=True, master_pid=0):
    return SimpleNamespace(cfg=Cfg(*address, reuse_port=reuse_port), master_pid=master_pid)


@pytest.mark.parametrize("reuse_port", [True, False])
def test_an_address_already_listened_on_is_refused(conf, reuse_port):
    refused = pytest.raises(SystemExit, match=r"Cannot listen on 127\.0\.0\.1")
    with listening(reuse_port) as taken, refused:
        conf["on_starting"](server(taken.getsockname()))


def test_a_free_address_is_not_refused_and_keeps_its_socket_per_worker(conf):
    with listening(False) as probe:
        free = probe.getsockname()
    starting = server(free)
    conf["on_starting"](starting)
    assert starting.cfg.reuse_port is True


def test_a_unix_socket_or_systemds_sockets_go_back_to_one_shared_socket(
    conf, tmp_path, monkeypatch
):
    # a Unix socket cannot be one per worker (SO_REUSEPORT: operation not supported)
    unix = server(("127.0.0.1", 1), str(tmp_path / "x.sock"))
    conf["on_starting"](unix)
    assert unix.cfg.reuse_port is False
    # and gunicorn would ignore systemd's sockets with one per worker
    monkeypatch.setenv("LISTEN_FDS", "1")
    with listening(False) as taken:
        activated = server(taken.getsockname())
        conf["on_starting"](activated)
    assert activated.cfg.reuse_port is False


@pytest.mark.parametrize("starting", [server(reuse_port=False), server(master_pid=4321)])
def test_a_shared_socket_or_a_new_master_is_left_to_gunicorn(conf, starting):
    # GUNICORN_REUSE_PORT=0 (gunicorn's own bind refuses), or a new master after USR2, whose
    # old master still listens on the address
    with listening(True) as taken:
        starting.cfg.address = [taken.getsockname()]
        conf["on_starting"](starting)


def test_a_second_server_on_the_same_port_does_not_start():
    """gunicorn with this configuration, on a port another reuse-port server listens on: it
    exits, where without the check it would have shared the port's connections."""
    with listening(True) as taken:
        port = taken.getsockname()[1]
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "consulate.settings.test"}
        done = subprocess.run(
            [str(settings.BASE_DIR / ".venv" / "bin" / "gunicorn"), "consulate.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stderr
