"""One bounded PostgreSQL connection pool for every tenant store of a process.

eventsourcing gives each application's datastore a pool of its own. With a pool per open
tenant, connections followed the open stores: closing the least recently used store closed
its connections and opening the next one opened new ones, so once more tenants were active
than `open_tenants` every request opened connections (4 per request, measured with
bench/tenant_footprint.py), and a process held up to `open_tenants` pools' worth.

Here each tenant's datastore borrows from one pool of at most `tenant_connections`
connections, kept open while stores come and go. A connection serves any tenant because the
library qualifies every statement with the tenant's schema. The one thing per schema a
connection carries is the composite type adapter of the events table (`stored_event_uuid`):
psycopg makes the Python class of a composite from the type's *name* and caches it, so all
schemas would share one class, and the dumper registered last on a connection would send
another schema's type. Each schema gets a class of its own here, and a connection registers a
schema's adapters the first time it serves that schema.

An application is built on the shared pool when it is constructed inside `lending(pool)`
(`BalkortApplication.construct_factory` asks `lent_pool()`); anything else keeps the
library's pool of its own.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import dict_row
from psycopg.types.composite import CompositeInfo, register_composite
from psycopg_pool import ConnectionPool

from services.settings import Settings

__all__ = ["SharedTenantPool", "lending", "lent_pool"]

# psycopg_pool's background workers: connections are opened one at a time, rarely.
POOL_WORKERS = 1

_LENT: ContextVar[SharedTenantPool | None] = ContextVar("balkort_shared_tenant_pool", default=None)


@contextmanager
def lending(pool: SharedTenantPool | None) -> Iterator[None]:
    """Applications constructed inside borrow their connections from `pool` (None: their own)."""
    token = _LENT.set(pool)
    try:
        yield
    finally:
        _LENT.reset(token)


def lent_pool() -> SharedTenantPool | None:
    """The pool applications constructed here and now should borrow from, if any."""
    return _LENT.get()


class SharedTenantPool:
    """At most `settings.tenant_connections` connections, shared by every tenant store."""

    def __init__(self, settings: Settings) -> None:
        pg = settings.postgres
        self.max_size = settings.tenant_connections
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            kwargs={
                "dbname": pg.dbname,
                "host": pg.host,
                "port": pg.port,
                "user": pg.user,
                "password": pg.password,
                "connect_timeout": settings.database_connect_timeout,
                "row_factory": dict_row,
            },
            # One kept warm; more open under concurrent use and stay until idle for
            # `max_idle` (10 minutes): a burst does not turn into churn.
            min_size=1,
            max_size=settings.tenant_connections,
            open=False,
            configure=_autocommit,
            # As the library's own pools: a database that is away is a quick error, not a hang.
            timeout=settings.database_connect_timeout,
            num_workers=POOL_WORKERS,
            name="tenant-stores",
        )
        self._opened = False

    def open(self) -> None:
        if not self._opened:
            self._pool.open(wait=False)
            self._opened = True

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for statements that name their schema (DDL, catalogue reads)."""
        self.open()
        with self._pool.connection() as conn:
            yield conn

    def datastore_for(self, own: PostgresDatastore) -> PostgresDatastore:
        """A datastore like `own` (the library's, built from the application's environment,
        its pool never opened) that borrows from this pool instead."""
        shared = _SharedPoolDatastore.__new__(_SharedPoolDatastore)
        vars(shared).update(vars(own))
        shared.pool = _SchemaPool(self, shared)  # type: ignore[assignment]
        return shared

    def close(self) -> None:
        if self._opened:
            self._pool.close()
            self._opened = False


def _autocommit(conn: psycopg.Connection[Any]) -> None:
    # What the library's datastore does on every new connection.
    conn.autocommit = True


def _schema_class(schema: str, info: CompositeInfo) -> type:
    # A class per schema (not psycopg's cached one per type name): see the module docstring.
    return namedtuple(f"{info.name}_of_{schema}", info.field_names)


class _SharedPoolDatastore(PostgresDatastore):
    """The library's datastore, registering its composite types under classes of its schema."""

    def register_type_adapters(self) -> None:
        missing = [n for n in self.db_type_names if n not in self.psycopg_type_adapters]
        if not missing:
            return
        with self.get_connection() as conn:
            for name in missing:
                info = CompositeInfo.fetch(conn, f"{self.schema}.{name}")
                if info is None:
                    continue
                python_type = _schema_class(self.schema, info)
                register_composite(info, conn, python_type)
                self.psycopg_type_adapters[name] = info
                self.psycopg_python_types[name] = python_type


class _SchemaPool:
    """What one tenant's datastore sees as its pool: the shared pool, lending connections that
    carry this schema's adapters. Closing it closes nothing: the shared pool outlives stores."""

    def __init__(self, shared: SharedTenantPool, datastore: PostgresDatastore) -> None:
        self._shared = shared
        self._datastore = datastore
        self.max_size = shared.max_size
        self.num_workers = POOL_WORKERS

    def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        self._shared.open()

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection[Any]]:
        with self._shared.connection() as conn:
            for name, info in self._datastore.psycopg_type_adapters.items():
                if not conn.adapters.types.get(info.oid):
                    register_composite(info, conn, self._datastore.psycopg_python_types[name])
            yield conn

    def close(self) -> None:
        return None
