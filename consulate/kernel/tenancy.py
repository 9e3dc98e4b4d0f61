"""Typed access to what django-tenants adds to the database connection, and the request's
tenant by host name."""

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_tenants.middleware.main import TenantMainMiddleware

from .cache import KeptHere


def current_schema() -> str:
    """The schema the connection is set to: `public` at HQ, the mission's schema elsewhere."""
    return str(getattr(connection, "schema_name", settings.PUBLIC_SCHEMA_NAME))


def in_public_schema() -> bool:
    return current_schema() == settings.PUBLIC_SCHEMA_NAME


def use_public_schema() -> None:
    connection.set_schema_to_public()  # type: ignore[attr-defined]


def host_url(request: Any, host: str, path: str = "/") -> str:
    """A link to another host of the portal (HQ or a mission), on the same scheme and keeping
    the request's port (development serves every host on one port): `//berlin.example:8000/`."""
    port = request.get_port() if request is not None else "80"
    return f"//{host}{'' if port in ('80', '443') else f':{port}'}{path}"


def absolute_url(host: str, path: str = "/") -> str:
    """A full link to a host of the portal, for what leaves the site (an e-mail, a file):
    https in production, http on a development machine, the configured port if any."""
    from django.conf import settings

    scheme = "http" if settings.DEBUG or settings.PORTAL_HOST == "localhost" else "https"
    port = settings.PORTAL_PORT
    return f"{scheme}://{host}{':' + str(port) if port else ''}{path}"


def task_queue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue a Celery task once the current transaction commits, to run in *this* schema.

    tenant-schemas-celery stamps a task with the connection's schema when it is published. An
    on_commit callback is published when the outermost transaction commits, which may be after
    the code has left the mission's `schema_context` (a command seeding several missions in one
    transaction did): the task would then run in `public`. The schema is captured here instead.

    A broker that cannot take the task (down, unreachable) is logged (Django's robust on_commit)
    and does not fail the request: the change it follows is committed, and an error answer
    would tell the person it was not (a booking answered 500, then "already booked" on retry).
    """
    from django.db import transaction
    from django_tenants.utils import schema_context

    schema = current_schema()

    def publish() -> None:
        with schema_context(schema):
            task.delay(*args, **kwargs)

    transaction.on_commit(publish, robust=True)


class Nudges:
    """When each task was last queued to start, per schema, in this process: what
    `task_nudge_on_commit` reads to queue one run for many commits."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._starts: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def reserve(self, key: tuple[str, str], every: float) -> float | None:
        """For a change committed now: the seconds from now at which to queue the next run
        (taken: later changes count on it), or None when a run already queued starts after
        now and will see the change. Runs are spaced `every` seconds apart; none starts later
        than `every` seconds after the change."""
        now = self.clock()
        with self._lock:
            start = self._starts.get(key)
            if start is not None and start > now:
                return None
            start = now if start is None else max(now, start + every)
            self._starts[key] = start
            return start - now

    def forget(self, key: tuple[str, str]) -> None:
        """The run reserved could not be queued: the next change queues one at once."""
        with self._lock:
            self._starts.pop(key, None)


_nudges = Nudges()


def task_nudge_on_commit(task: Any, *, every: float, nudges: Nudges | None = None) -> None:
    """Make sure `task` (no arguments; it finds its own work in the schema) runs in *this*
    schema after the current transaction commits, queueing it at most once per `every` seconds
    per process and schema: a run already queued to start after the commit covers it.

    For work that a periodic sweep also does (the sweep is what makes it certain: a broker that
    is down, a clock that differs between hosts): the nudge only makes it prompt. With tasks run
    in-process (`task_always_eager`), each nudge runs the task at once. A broker that refuses
    is logged, as by `task_queue_on_commit`, and the next nudge tries again; a change that
    counted on the run it refused waits for the periodic sweep."""
    from django.db import transaction
    from django_tenants.utils import schema_context

    schema = current_schema()
    key = (task.name, schema)
    nudges = nudges or _nudges

    def publish() -> None:
        countdown = nudges.reserve(key, every)
        if countdown is None:  # covered by a run queued, unless tasks run in-process
            if not task.app.conf.task_always_eager:
                return
            countdown = 0.0
        try:
            with schema_context(schema):
                task.apply_async(countdown=countdown or None)
        except Exception:
            nudges.forget(key)
            raise

    transaction.on_commit(publish, robust=True)


def task_queue_per_mission(task: Any) -> int:
    """Beat's fan-out: queue `task` once in every active mission's schema served from this
    database (not one moved to its own node); return how many.

    Beat publishes with no schema (tasks run in `public`); a periodic task that works inside
    missions is a beat task calling this, and the task itself then runs in each schema."""
    from django_tenants.utils import get_tenant_model, schema_context

    schemas = list(
        get_tenant_model()
        .objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .filter(status="active", node_url="")
        .values_list("schema_name", flat=True)
    )
    for schema in schemas:
        with schema_context(schema):
            task.delay()
    return len(schemas)


TENANT_CACHE_PREFIX = "tenant-by-host:"
# host name -> the mission: this process's copy of the shared cache's entries, read without a
# round trip (TenantMiddleware)
_tenants_here = KeptHere()


def tenant_cache_forget(hostnames: Iterable[str]) -> None:
    """Drop the cached missions of these host names (a mission or a domain changed): from the
    shared cache, and from this process's copy."""
    names = list(hostnames)
    _tenants_here.forget(names)
    cache.delete_many([TENANT_CACHE_PREFIX + name for name in names])


def tenant_cache_forget_here() -> None:
    """Drop this process's copies (the tests, whose database rows change under the names)."""
    _tenants_here.forget()


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware, with each host's mission kept in the cache.

    Every request needs its mission, and looking it up costs a query on `public` (and a
    `SET search_path` before it) on every page and every booking. Missions change rarely:
    saving a mission or a domain drops its entries (missions/apps.py), and an entry lives at
    most `CONSULATE_TENANT_CACHE_SECONDS` (with a per-process cache, as in development, that
    bounds how long another process lags). 0 turns the cache off.

    Each process also keeps what it read from the shared cache for
    `CONSULATE_TENANT_LOCAL_SECONDS` (a round trip to Redis saved on almost every request): a
    change shows in the other processes that much later at most, and in this one at once
    (or as late, when another thread of it was reading the mission at that very moment). The
    copy is kept pickled and each request gets its own instance, so that nothing a request
    sets on its mission reaches another."""

    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        seconds = getattr(settings, "CONSULATE_TENANT_CACHE_SECONDS", 0)
        if not seconds:
            return super().get_tenant(domain_model, hostname)
        kept = _tenants_here.get(hostname)
        if kept is not None:
            return kept
        key = TENANT_CACHE_PREFIX + hostname
        tenant = cache.get(key)
        if tenant is None:
            tenant = super().get_tenant(domain_model, hostname)
            cache.set(key, tenant, seconds)
        local = getattr(settings, "CONSULATE_TENANT_LOCAL_SECONDS", 0)
        if local:
            _tenants_here.put(hostname, tenant, seconds=local)
        return tenant
