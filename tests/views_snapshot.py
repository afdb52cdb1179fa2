"""What the projection tests share: the application service with a hook run after every
call, a container closed when done, and the read models' tables read back with plain SQL, in a
fixed order, as comparable rows (from a SQLite view store's file or a PostgreSQL schema) and
compared table by table."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from psycopg import sql
from psycopg_pool import ConnectionPool

from services.bootstrap import Container, build_container
from services.settings import Settings


class AfterEachCall:
    """The application service (or anything with methods), running `after_each` after every
    call it passes on."""

    def __init__(self, app: Any, after_each: Callable[[], None]) -> None:
        self._app = app
        self._after_each = after_each

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._app, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            result = found(*args, **kwargs)
            self._after_each()
            return result

        return call


@contextmanager
def container_on(settings: Settings) -> Iterator[Container]:
    """A container built on `settings`, its stores closed afterwards."""
    built = build_container(settings)
    try:
        yield built
    finally:
        built.tenants.close()
        built.control.close()


# Table name -> its rows, in a fixed order.
Views = dict[str, list[tuple[Any, ...]]]

POSTGRES_QUERIES = {
    "position": "SELECT position FROM {s}.view_position",
    "documents": "SELECT key, kind, aggregate_id, body, position FROM {s}.view_documents ORDER BY key",
    "audit": (
        "SELECT position, aggregate_id, aggregate_type, version, event_type, actor_id, actor_role, "
        "occurred_at, recorded_at, command_name, command_id, correlation_id, caused_by::text, "
        "details::text FROM {s}.audit_events ORDER BY position"
    ),
    "nodes": "SELECT * FROM {s}.lineage_nodes ORDER BY node_id",
    "links": "SELECT child, parent FROM {s}.lineage_links ORDER BY 1, 2",
}


def sqlite_views(path: Path) -> Views:
    """The views in a SQLite view store's file."""
    with closing(sqlite3.connect(path)) as conn:
        return {
            "position": conn.execute("SELECT position FROM view_position").fetchall(),
            "documents": conn.execute(
                "SELECT key, kind, aggregate_id, body, position FROM view_documents ORDER BY key"
            ).fetchall(),
            "audit": conn.execute("SELECT * FROM audit_events ORDER BY position").fetchall(),
            "nodes": conn.execute("SELECT * FROM lineage_nodes ORDER BY node_id").fetchall(),
            "links": conn.execute("SELECT child, parent FROM lineage_links ORDER BY 1, 2").fetchall(),
        }


def postgres_views(pool: ConnectionPool, schema: str) -> Views:
    """The views in a PostgreSQL schema."""
    s = sql.Identifier(schema)
    with pool.connection() as conn:
        return {
            name: [tuple(row) for row in conn.execute(sql.SQL(query).format(s=s)).fetchall()]
            for name, query in POSTGRES_QUERIES.items()
        }


def assert_same_views(got: Views, expected: Views, note: object = None) -> None:
    """Every table of `got` equals that of `expected`; a failure names the table and `note`."""
    for table in expected:
        assert got[table] == expected[table], (table, note)
