"""The database backend: django-tenants' PostgreSQL wrapper, which also remembers the search
path the connection actually holds across requests.

With TENANT_LIMIT_SET_CALLS django-tenants sends one `SET search_path` per request instead of
one per query, but not fewer: every `set_tenant` (the tenant middleware sets public, then the
host's mission, on each request) forgets the path it set (django-tenants #594). With persistent
connections (CONN_MAX_AGE) a connection mostly serves the same mission request after request,
so that `SET` was one round trip of every request, two of the signed-in home's.

Here the path PostgreSQL holds is kept apart from the tenant: `_path_held` is what the last
`SET` that succeeded put on this connection. It is forgotten whenever PostgreSQL may have undone
it or the session may be another: a rollback (a `SET` inside the transaction is undone), a
rollback to a savepoint (django-tenants #1262), the COMMIT of a failed transaction (which
PostgreSQL turns into a rollback without an error) or one that raises, closing, every new
connection, and any error while the `SET` is sent. When the
tenant asks for exactly the path held, no `SET` is sent. tests/consulate/test_search_path.py
tries to make a request read another mission's rows. A statement that sets the path itself
must be followed by `search_path_forget()`.
"""

from __future__ import annotations

from typing import Any

from django_tenants.postgresql_backend import base
from django_tenants.utils import get_limit_set_calls
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):  # type: ignore[misc]
    search_path_set_schemas: list[str] | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._path_held: list[str] | None = None
        super().__init__(*args, **kwargs)

    def init_connection_state(self) -> None:
        self._path_held = None  # a new session: its path is the server's default
        super().init_connection_state()

    def close(self) -> None:
        self._path_held = None
        super().close()

    def rollback(self) -> None:
        self._path_held = None
        super().rollback()

    def commit(self) -> None:
        # PostgreSQL answers the COMMIT of a failed transaction (an error caught inside an
        # atomic block without a savepoint) with ROLLBACK, and no error: a SET made in it is
        # undone. A COMMIT that raises may have rolled back too.
        connection = self.connection
        if connection is not None and connection.info.transaction_status not in (
            TransactionStatus.IDLE,
            TransactionStatus.INTRANS,
        ):
            self.search_path_forget()
        try:
            super().commit()
        except BaseException:
            self.search_path_forget()
            raise

    def savepoint_rollback(self, sid: Any) -> None:
        try:
            super().savepoint_rollback(sid)
        finally:
            self._path_held = None

    def search_path_forget(self) -> None:
        """After a statement that changed the path behind the backend's back (a raw `SET
        search_path`, `set_config('search_path', …)`): the next query sets it again."""
        self._path_held = None
        self.search_path_set_schemas = None

    def _handle_search_path(self, cursor: Any = None) -> None:
        if (
            not self._setting_search_path
            and get_limit_set_calls()
            and not self.search_path_set_schemas
            and self.schema_name
            and self._path_held is not None
            and self._path_held == self._get_cursor_search_paths()
        ):
            self.search_path_set_schemas = self._path_held
            return
        if not self._setting_search_path:
            self._path_held = None  # unknown until a SET has succeeded (anything may raise)
        super()._handle_search_path(cursor)
        if not self._setting_search_path:
            self._path_held = self.search_path_set_schemas
