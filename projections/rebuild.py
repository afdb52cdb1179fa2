"""Rebuilds tenants' read models from their whole event log while the old ones keep serving.

PostgreSQL: fresh view tables are filled beside the live ones in the tenant's own schema, named
with a suffix (`view_documents__fresh`, its indexes likewise); then, in one transaction that
first holds off the live projector (a lock on the live position), the last events are applied
to the fresh tables, the live tables are dropped and the fresh ones renamed to the live names,
their indexes (and primary keys) too, so the tenant's views look as if freshly created and the
next rebuild meets no name of this one. Readers wait for that transaction at most, never see
a table missing, and the live projector's next commit is refused by the position guard and
reads on. No schema is made: on Citus a new schema would be a distributed schema of its own,
perhaps on another worker, and moving tables between schemas copies them through the
coordinator; renames within the tenant's schema stay on its worker and copy nothing.

SQLite: the fresh views are built in a side file (`...views.sqlite3.rebuild`) and copied into
the live file in one write transaction. The live file is not renamed over: its write-ahead log
belongs to the old file, and a connection still open on it would apply old pages to the new one.

Nobody has to ask after an upgrade: `OutdatedViews` runs a rebuild when the projector meets a
tenant whose views were written by an earlier version of a projection (projections/versions.py).
On PostgreSQL one process at a time rebuilds a tenant (an advisory lock per tenant).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import sql

from projections.backends import Mappers, SQLiteViewBackend, ViewBackend
from projections.postgres_schema import VIEW_TABLES, create_view_tables
from projections.postgres_views import (
    OneConnection,
    PostgresEventSource,
    PostgresViewBackend,
    PostgresViewStore,
)
from projections.projector import EventSource, PositionMoved, Recorded, ViewStore, catch_up, source_tenant
from projections.sqlite_views import SQLiteEventSource, SQLiteViewStore, connect
from projections.stores import tenant_store_name
from projections.versions import outdated

# progress(tenant, position reached, last position of the log when the rebuild began)
Progress = Callable[[UUID, int, int], None]
# Names the fresh view tables (and their indexes) a rebuild fills beside the live ones.
FRESH = "__fresh"
# The fresh tables' indexes (renaming an index renames the constraint it backs, a primary key).
# Constraints without an index are named alike on both sets of tables (postgres_schema.SCHEMA).
FRESH_INDEXES = (
    "SELECT c.relname, i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
    "JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relname = ANY(%s) ORDER BY 1, 2"
)
LOCK_TIMEOUT_SECONDS = 30
REBUILD_LOCK = "balkort-rebuild"
logger = logging.getLogger("balkort.projections")


def _quiet(_tenant: UUID, _at: int, _head: int) -> None:
    pass


@contextmanager
def rebuild_lock(dsn: str, tenant_id: UUID, *, wait: bool) -> Iterator[bool]:
    """Holds the tenant's rebuild lock (PostgreSQL, a session advisory lock on a connection of
    its own, outside the projector's pool); yields False when `wait` is off and another process
    holds it."""
    key = f"{REBUILD_LOCK}:{tenant_store_name(tenant_id)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        if wait:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
            mine = True
        else:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()
            mine = bool(row and row[0])
        try:
            yield mine
        finally:
            if mine:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))


class OutdatedViews:
    """Rebuilds a tenant's views beside the live ones and swaps them in when they were written
    by an earlier version of a projection; until the swap the live views keep answering (and
    being projected). Each tenant is asked once per process, until it is found current."""

    def __init__(self, backend: ViewBackend, mappers: Mappers, *, batch_size: int = 500) -> None:
        self.backend = backend
        self.mappers = mappers
        self.batch_size = batch_size
        self._current: set[UUID] = set()
        self._guard = threading.Lock()

    def bring_current(self, tenant_id: UUID) -> int:
        """Blocking. The events a rebuild applied: 0 when none was needed, or when another
        process is rebuilding the tenant right now (asked again next time)."""
        with self._guard:
            if tenant_id in self._current:
                return 0
        backend = self.backend
        applied = 0
        if isinstance(backend, PostgresViewBackend):
            with rebuild_lock(backend.dsn, tenant_id, wait=False) as mine:
                if not mine:
                    return 0
                if outdated(backend.store_for(tenant_id).versions()):
                    logger.info("tenant %s: views of an earlier projection version; rebuilding", tenant_id)
                    applied = _rebuild_postgres(
                        backend, self.mappers(tenant_id), tenant_id, _quiet, batch_size=self.batch_size
                    )
        elif isinstance(backend, SQLiteViewBackend) and outdated(backend.store_for(tenant_id).versions()):
            logger.info("tenant %s: views of an earlier projection version; rebuilding", tenant_id)
            applied = rebuild_sqlite(
                backend.stores_dir, self.mappers(tenant_id), tenant_id, _quiet, batch_size=self.batch_size
            )
        with self._guard:
            self._current.add(tenant_id)
        return applied


class _Reporting:
    """Reports the position each read reaches."""

    def __init__(self, source: EventSource, report: Callable[[int], None]) -> None:
        self.source = source
        self.report = report
        self.tenant_id = source_tenant(source)  # the rebuilt hash chain starts from its genesis

    def read(self, after: int, limit: int) -> list[Recorded]:
        records = self.source.read(after, limit)
        if records:
            self.report(records[-1].position)
        return records


def _catch_up(source: EventSource, store: ViewStore, mapper: Mapper[UUID], batch_size: int) -> int:
    applied = 0
    while True:
        try:
            return applied + catch_up(source, store, mapper, batch_size)
        except PositionMoved:
            continue


def rebuild_postgres(
    backend: PostgresViewBackend,
    mapper: Mapper[UUID],
    tenant_id: UUID,
    progress: Progress,
    *,
    batch_size: int = 500,
) -> int:
    """Rebuilds one tenant's views beside the live ones and swaps them in; waits for a rebuild
    of the tenant by another process to end first."""
    with rebuild_lock(backend.dsn, tenant_id, wait=True):
        return _rebuild_postgres(backend, mapper, tenant_id, progress, batch_size=batch_size)


def _rebuild_postgres(
    backend: PostgresViewBackend,
    mapper: Mapper[UUID],
    tenant_id: UUID,
    progress: Progress,
    *,
    batch_size: int = 500,
) -> int:
    pool = backend.open_pool()
    live = tenant_store_name(tenant_id)
    with pool.connection() as conn:
        create_view_tables(conn, live)
        conn.execute(_drop_fresh(live))  # left by a rebuild that was interrupted
    try:
        fresh = PostgresViewStore(pool, live, suffix=FRESH)
        source = PostgresEventSource(pool, live, mapper)
        head = source.head()
        progress(tenant_id, 0, head)

        def report(position: int) -> None:
            progress(tenant_id, position, max(head, position))

        applied = _catch_up(_Reporting(source, report), fresh, mapper, batch_size)
        with pool.connection() as conn:
            swap = _swap(conn, live)
        with pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'"))
            # Holds off the live projector's commits (they update the position first);
            # readers carry on until the tables are swapped.
            conn.execute(
                sql.SQL("LOCK TABLE {}.view_position IN EXCLUSIVE MODE").format(sql.Identifier(live))
            )
            one = OneConnection(conn)
            applied += catch_up(
                _Reporting(PostgresEventSource(one, live, mapper), report),
                PostgresViewStore(one, live, create=False, suffix=FRESH),
                mapper,
                batch_size,
            )
            # One round trip (from the DROP on, readers of the tenant's views wait), a statement
            # at a time: Citus passes a statement's whole query string on to the worker.
            with conn.pipeline():
                for statement in swap:
                    conn.execute(statement)
    except BaseException:
        try:
            with pool.connection() as conn:
                conn.execute(_drop_fresh(live))
        except psycopg.Error:  # the next rebuild drops them first
            logger.warning("tenant %s: fresh view tables of a failed rebuild left behind", tenant_id)
        raise
    # Whatever arrived during the swap (the live projector would get it too).
    applied += _catch_up(
        _Reporting(source, report), PostgresViewStore(pool, live, create=False), mapper, batch_size
    )
    return applied


def _drop_fresh(schema: str) -> sql.Composed:
    return sql.SQL("DROP TABLE IF EXISTS {}").format(
        sql.SQL(", ").join(sql.Identifier(schema, table + FRESH) for table in VIEW_TABLES)
    )


def _live_name(name: str, table: str) -> str:
    """The name an index of fresh table `table + FRESH` has on the live table: PostgreSQL's own
    names start with the table's (`view_documents__fresh_pkey` becomes `view_documents_pkey`),
    the view schema's end with the suffix (`view_documents_kind__fresh` becomes
    `view_documents_kind`)."""
    fresh = table + FRESH
    if name.startswith(fresh):
        return table + name[len(fresh) :]
    if name.endswith(FRESH):
        return name[: -len(FRESH)]
    return name


def _swap(conn: psycopg.Connection[Any], schema: str) -> list[sql.Composed]:
    """The statements that put the fresh view tables of `schema` in place of the live ones."""
    fresh = {table + FRESH: table for table in VIEW_TABLES}
    statements = [
        sql.SQL("DROP TABLE {}").format(
            sql.SQL(", ").join(sql.Identifier(schema, table) for table in VIEW_TABLES)
        )
    ]
    statements.extend(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(schema, name), sql.Identifier(table))
        for name, table in fresh.items()
    )
    for name, index in conn.execute(FRESH_INDEXES, (schema, list(fresh))).fetchall():
        if (renamed := _live_name(index, fresh[name])) != index:
            statements.append(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    sql.Identifier(schema, index), sql.Identifier(renamed)
                )
            )
    return statements


def rebuild_sqlite(
    stores_dir: Path,
    mapper: Mapper[UUID],
    tenant_id: UUID,
    progress: Progress,
    *,
    batch_size: int = 500,
) -> int:
    name = tenant_store_name(tenant_id)
    events_path = stores_dir / f"{name}.sqlite3"
    live_path = stores_dir / f"{name}.views.sqlite3"
    side_path = stores_dir / f"{name}.views.sqlite3.rebuild"
    _remove_database(side_path)
    SQLiteViewStore(live_path)  # the live file exists (with its tables) before it is written
    head = _sqlite_head(events_path)
    progress(tenant_id, 0, head)

    def report(position: int) -> None:
        progress(tenant_id, position, max(head, position))

    source = _Reporting(SQLiteEventSource(events_path, mapper), report)
    side = SQLiteViewStore(side_path)
    applied = catch_up(source, side, mapper, batch_size)
    try:
        with closing(connect(live_path)) as conn:
            conn.execute("ATTACH DATABASE ? AS fresh", (str(side_path),))
            # The write lock holds off the live projector while the last events are applied
            # to the side file and everything is copied over; readers see the old views until
            # the commit.
            conn.execute("BEGIN IMMEDIATE")
            try:
                applied += catch_up(source, side, mapper, batch_size)
                for table in VIEW_TABLES:
                    conn.execute(f"DELETE FROM main.{table}")  # noqa: S608 - fixed table names
                    conn.execute(f"INSERT INTO main.{table} SELECT * FROM fresh.{table}")  # noqa: S608
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            conn.execute("DETACH DATABASE fresh")
    finally:
        _remove_database(side_path)
    return applied


def _sqlite_head(events_path: Path) -> int:
    with closing(sqlite3.connect(f"file:{events_path}?mode=ro", uri=True, timeout=30)) as conn:
        (head,) = conn.execute("SELECT coalesce(max(rowid), 0) FROM stored_events").fetchone()
    return int(head)


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
