"""A batch's rows in a few statements instead of one statement per row (docs/benchmarks.md, P3;
docs/adr/0034).

A batch of 500 events makes about 500 audit rows, 500 chain links and 2,000 to 2,500 lineage
nodes and links. Rows of the append-only tables (audit, chain) are copied in with `COPY`. Rows
of the tables that upsert (lineage nodes and links) go in one `INSERT … SELECT … FROM
unnest(<one array per column>) ON CONFLICT` each: a statement of fixed text with a parameter a
column, so psycopg neither parses a long statement each time (as it would a multi-row `VALUES`)
nor sends a row at a time. An upsert may not touch a row twice in one statement, so nodes with
the same id are first merged into the row the same upserts one after another would have left.
No temporary table: a rebuild must leave no schema behind, and PostgreSQL keeps one per
connection that ever made a temporary table.

On Citus both make the projector's transaction a two-phase commit: one per batch, off the path
of commands (the event store's inserts stay single-statement `VALUES`, docs/adr/0025).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import Cursor, sql

Row = Sequence[Any]


def merged(rows: Iterable[Row], kept_from_first: int) -> list[Row]:
    """One row per key (the first column): the first `kept_from_first` columns as the first
    row has them (what `ON CONFLICT … DO UPDATE` leaves), the rest as the last row has them."""
    by_key: dict[Any, Row] = {}
    for row in rows:
        first = by_key.get(row[0])
        by_key[row[0]] = row if first is None else (*first[:kept_from_first], *row[kept_from_first:])
    return list(by_key.values())


def copy_rows(cursor: Cursor[Any], copy: sql.Composed, rows: Sequence[Row]) -> None:
    """`rows` through a `COPY … FROM STDIN` statement."""
    if not rows:
        return
    with cursor.copy(copy) as writer:
        for row in rows:
            writer.write_row(row)


def upsert_columns(cursor: Cursor[Any], upsert: sql.Composed, columns: int, rows: Sequence[Row]) -> None:
    """`rows` through an `INSERT … SELECT … FROM unnest(%s::<type>[], …)` statement that takes
    one array a column."""
    if not rows:
        return
    cursor.execute(upsert, [[row[i] for row in rows] for i in range(columns)])
