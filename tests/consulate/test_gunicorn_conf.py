"""gunicorn.conf.py's garbage-collector hooks: the preloaded application is frozen before each
fork, and a worker's own objects once, after its warm-up requests, and never again."""

import gc
import runpy

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
