"""One `SET search_path` per request (TENANT_LIMIT_SET_CALLS) must never leave a query on
another mission's schema: django-tenants remembers the path it set and skips the `SET` while it
believes the path holds. These tests try to make it believe wrongly.

PostgreSQL undoes a `SET` made inside a transaction or a savepoint that rolls back; django-tenants
issue #1262 was a savepoint rollback that left the remembered path stale, so the next query read
the other tenant's rows without an error. Each mission schema here holds a service of its own
name, so a query on the wrong schema shows."""

from __future__ import annotations

import contextlib

import pytest
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_context

from appointments.models import Service
from tests.appointments.factories import build_catalogue
from tests.conftest import host_client


@pytest.fixture
def two_catalogues(mission_a, mission_b):
    with schema_context(mission_a.schema_name):
        build_catalogue(code="only-alpha", name="Only at alpha", days=2)
    with schema_context(mission_b.schema_name):
        build_catalogue(code="only-beta", name="Only at beta", days=2)
    return mission_a, mission_b


def _codes() -> set[str]:
    return set(Service.objects.values_list("code", flat=True))


def test_the_setting_is_on():
    assert settings.TENANT_LIMIT_SET_CALLS is True


def test_a_savepoint_rolled_back_after_switching_mission_does_not_leave_a_stale_path(
    two_catalogues,
):
    alpha, beta = two_catalogues
    # given a connection on alpha, whose path has been set
    connection.set_tenant(alpha)
    assert _codes() == {"only-alpha"}
    with transaction.atomic():
        # when a savepoint switches to beta, reads there, and rolls back (PostgreSQL puts the
        # path back to alpha's, while the connection still names beta)
        try:
            with transaction.atomic():
                connection.set_tenant(beta)
                assert _codes() == {"only-beta"}
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        # then the next query runs on beta, the mission the connection names
        assert connection.schema_name == beta.schema_name
        assert _codes() == {"only-beta"}
    connection.set_schema_to_public()


def test_an_explicit_savepoint_rollback_does_not_leave_a_stale_path(two_catalogues):
    alpha, beta = two_catalogues
    connection.set_tenant(alpha)
    assert _codes() == {"only-alpha"}
    # the savepoint API a service might call directly, rather than leaving an atomic block
    with transaction.atomic():
        sid = transaction.savepoint()
        connection.set_tenant(beta)
        assert _codes() == {"only-beta"}
        transaction.savepoint_rollback(sid)
        assert _codes() == {"only-beta"}
        connection.set_tenant(alpha)
        assert _codes() == {"only-alpha"}
    connection.set_schema_to_public()


def test_the_path_is_set_once_per_request(two_catalogues):
    from django.test.utils import CaptureQueriesContext

    a = host_client("alpha.localhost")
    with CaptureQueriesContext(connection) as queries:
        page = a.get("/appointments/").content.decode()
    assert "Only at alpha" in page
    # the host's mission is read on public (the host cache is off here), then the mission's
    # path is set once for all the page's queries
    assert [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET")] == [
        'SET search_path = "public"',
        'SET search_path = "alpha","public"',
    ]
    assert len(queries.captured_queries) > 4


@pytest.mark.parametrize("tenant_cache", [0, 300])
def test_requests_on_one_connection_each_read_their_own_mission(
    two_catalogues, settings, tenant_cache
):
    """The connection persists from request to request, as with CONN_MAX_AGE in production: a
    request to beta after one to alpha (after a refused booking that rolled back, after an
    error answered 400, after a page that failed) still reads beta's rows, and back."""
    settings.CONSULATE_TENANT_CACHE_SECONDS = tenant_cache
    alpha, _ = two_catalogues
    a, b = host_client("alpha.localhost"), host_client("beta.localhost")
    with schema_context(alpha.schema_name):
        slot_pk = Service.objects.get(code="only-alpha").slots.order_by("starts_at").first().pk
    between = [
        # a booking refused inside its transaction (not logged in: refused before it)
        lambda: a.post(
            "/api/v1/appointments/bookings/",
            {"service": "only-alpha", "slot": slot_pk, "persons": []},
            content_type="application/json",
        ),
        # bad input the middleware refuses before any query
        lambda: a.get("/appointments/?q=%00"),
        # a value the database refuses (out of range for its column): a DataError mid-request
        lambda: a.get(f"/appointments/only-alpha/book/{2**63}/"),
        lambda: a.get("/appointments/no-such-service/"),
    ]
    for step in between:
        step()
        beta_page = b.get("/appointments/").content.decode()
        assert "Only at beta" in beta_page
        assert "Only at alpha" not in beta_page
        alpha_page = a.get("/appointments/").content.decode()
        assert "Only at alpha" in alpha_page
        assert "Only at beta" not in alpha_page
        assert connection.schema_name == alpha.schema_name


def test_a_connection_that_holds_the_missions_path_is_not_sent_it_again(two_catalogues, settings):
    """consulate/kernel/db/base.py: with the host's mission kept (as in production), a request
    to the mission the connection already holds sends no `SET`; another mission's request sets
    its own path, and the first mission's next request sets it back."""
    from django.test.utils import CaptureQueriesContext

    from consulate.kernel.tenancy import tenant_cache_forget_here

    settings.CONSULATE_TENANT_CACHE_SECONDS = 300
    settings.CONSULATE_TENANT_LOCAL_SECONDS = 300
    tenant_cache_forget_here()
    a, b = host_client("alpha.localhost"), host_client("beta.localhost")

    def read(client) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/appointments/").content.decode()
        return page, [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET")]

    read(a)  # each host's mission is read once from public, then kept
    read(b)
    read(a)
    page, sets = read(a)
    assert "Only at alpha" in page
    assert sets == []
    page, sets = read(b)
    assert "Only at beta" in page
    assert "Only at alpha" not in page
    assert sets == ['SET search_path = "beta","public"']
    page, sets = read(a)
    assert "Only at alpha" in page
    assert "Only at beta" not in page
    assert sets == ['SET search_path = "alpha","public"']
    tenant_cache_forget_here()


def test_the_path_held_is_forgotten_when_postgresql_undoes_it(two_catalogues):
    alpha, beta = two_catalogues
    connection.set_tenant(alpha)
    assert _codes() == {"only-alpha"}
    # a savepoint that set beta's path rolls back: PostgreSQL holds alpha's again
    with transaction.atomic():
        sid = transaction.savepoint()
        connection.set_tenant(beta)
        assert _codes() == {"only-beta"}
        transaction.savepoint_rollback(sid)
        # when beta is asked for again, its path is sent again, not taken as held
        connection.set_schema_to_public()
        connection.set_tenant(beta)
        assert _codes() == {"only-beta"}
    assert connection._path_held == [beta.schema_name, "public"]
    connection.set_schema_to_public()


def _server_path() -> str:
    """The path the server holds, read on the driver's own cursor (no `SET` from the backend)."""
    with connection.connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return str(cursor.fetchone()[0])


def _schema_read() -> str:
    """The schema a query through the backend runs on."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return str(cursor.fetchone()[0])


def _request_for(mission) -> None:  # type: ignore[no-untyped-def]
    """What the tenant middleware does when the host's mission is kept: public, then it."""
    connection.set_schema_to_public()
    connection.set_tenant(mission)


@pytest.fixture
def committed_missions(committed_db):  # type: ignore[no-untyped-def]
    from missions.models import Mission

    yield Mission.objects.get(code="alpha"), Mission.objects.get(code="beta")
    connection.set_schema_to_public()


def test_a_commit_postgresql_turns_into_a_rollback_forgets_the_path(committed_missions):
    """An error caught inside an atomic block without a savepoint: Django commits, PostgreSQL
    rolls back without an error, and the `SET` made in the transaction is undone (found by a
    reviewer)."""
    from django.db import DataError

    alpha, beta = committed_missions
    _request_for(alpha)
    assert _schema_read() == "alpha"
    # a request to beta whose first query is inside the transaction, and fails (a read)
    _request_for(beta)
    with transaction.atomic(), contextlib.suppress(DataError):
        Service.objects.filter(code__regex="(").exists()
    assert _server_path() == "alpha, public"
    # then beta's next request sets its path again rather than reading alpha's rows
    _request_for(beta)
    assert _schema_read() == "beta"


def test_an_error_while_the_path_is_set_forgets_it(committed_missions):
    """Anything may raise after the server ran the `SET` (an execute wrapper, a time limit):
    the path held is then unknown, not the one before (found by a reviewer)."""
    alpha, beta = committed_missions
    _request_for(alpha)
    assert _schema_read() == "alpha"

    def failing(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        result = execute(sql, params, many, context)
        if sql.startswith("SET search_path"):
            raise RuntimeError("instrumentation failed after the statement ran")
        return result

    _request_for(beta)
    with connection.execute_wrapper(failing), pytest.raises(RuntimeError):
        _schema_read()
    assert _server_path() == "beta, public"
    _request_for(alpha)
    assert _schema_read() == "alpha"
