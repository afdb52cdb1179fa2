"""The outbox on PostgreSQL: tables in the control plane's schema (on the coordinator with
Citus), made by `balkort migrate`; a small psycopg pool of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from projections.outbox import sql
from projections.outbox.store import SqlOutbox, tables


def create_outbox_tables(conn: psycopg.Connection[Any], schema: str) -> None:
    """What the control plane's migration runs (services/migrations.py)."""
    for statement in tables(f'"{schema}".', "timestamptz"):
        conn.execute(statement)


class PostgresOutbox(SqlOutbox):
    def __init__(self, dsn: str, schema: str, pool_size: int = 2) -> None:
        self.dsn = dsn
        self.schema = schema
        self.pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    def _open(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.dsn,
                    min_size=1,
                    max_size=max(1, self.pool_size),
                    kwargs={"autocommit": True},
                    name="balkort-outbox",
                    open=False,
                )
                self._pool.open(wait=False)
            return self._pool

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._open().connection() as conn, conn.transaction():
            yield conn

    def _statement(self, template: str) -> str:
        return template.format(t=f'"{self.schema}".').replace("?", "%s")

    def _select_due(self) -> str:
        # Two senders never take the same row: the second skips what the first has locked.
        return sql.SELECT_DUE + " FOR UPDATE SKIP LOCKED"

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
