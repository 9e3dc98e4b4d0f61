"""The WSGI application of tests/sync/test_http_push.py's gunicorn: HQ as served, with the
tests' stand-in for `sync.hq.apply` only while the real module is not on this branch."""

from typing import Any


def application() -> Any:
    from django.core.wsgi import get_wsgi_application

    wsgi = get_wsgi_application()
    from tests.sync.hq_standin import hq_apply_installed

    hq_apply_installed()
    return wsgi
