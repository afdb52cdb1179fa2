"""Which tenants' read models on PostgreSQL are behind their log: asked of many tenants at once,
each tenant's statement naming only its own schema (docs/adr/0021's workers and the in-process
runner ask it on every wake-up)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from typing import Any
from uuid import UUID

import psycopg
import psycopg.errors

from projections.postgres_schema import EVENTS_TABLE, quote_ident, statement_for
from projections.stores import tenant_store_name

# Statements per round trip when asking which of many tenants are behind.
TENANTS_PER_QUERY = 500
logger = logging.getLogger("balkort.projections")

# One tenant's question, naming only its own schema (so Citus routes it to that tenant's node):
# has its log an event its views have not applied?
BEHIND = (
    "SELECT coalesce((SELECT max(notification_id) FROM {s}.{events}), 0) "
    "> coalesce((SELECT position FROM {s}.view_position WHERE id = 1), 0)"
)


def _behind(conn: psycopg.Connection[Any], schemas: Sequence[str]) -> list[str]:
    """Those of `schemas` that are behind: one statement per schema, all sent in one round trip
    (pipeline mode). Raises when a schema lacks a table; the statements after it are skipped."""
    if not schemas:
        return []
    cursors: list[tuple[str, psycopg.Cursor[Any]]] = []
    # In autocommit a failed statement leaves the connection usable; otherwise a transaction
    # (or savepoint) scopes the failure.
    with nullcontext() if conn.autocommit else conn.transaction(), conn.pipeline():
        for schema in schemas:
            cursor = conn.cursor()
            cursor.execute(statement_for(BEHIND, schema))
            cursors.append((schema, cursor))
    behind = []
    for schema, cursor in cursors:
        row = cursor.fetchone()
        if row is not None and row[0]:
            behind.append(schema)
    return behind


def schemas_with_views(conn: psycopg.Connection[Any], schemas: Sequence[str]) -> list[str]:
    """Those of `schemas` that hold both the events table and the view tables."""
    return _schemas_with_tables(conn, schemas)


def _schemas_with_tables(conn: psycopg.Connection[Any], schemas: Sequence[str]) -> list[str]:
    rows = conn.execute(
        "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
        "WHERE n.nspname = ANY(%s) AND c.relname = ANY(%s) AND c.relkind = 'r' "
        "GROUP BY n.nspname HAVING count(*) = 2",
        (list(schemas), [EVENTS_TABLE, "view_position"]),
    ).fetchall()
    return [name for (name,) in rows]


def tenants_with_new_events(conn: psycopg.Connection[Any], tenant_ids: Iterable[UUID]) -> list[UUID]:
    """The tenants among `tenant_ids` whose log has events their views have not applied.

    One round trip per `TENANTS_PER_QUERY` tenants, and no statement spans two tenants' schemas:
    each tenant's last notification id against its view position, one statement per tenant,
    pipelined (a statement over many schemas is slow, and on Citus it would fan out to every
    node). A tenant whose tables do not exist yet (still being onboarded, or never projected)
    makes its statement fail; the chunk is then asked again over the schemas that have both
    tables, and a tenant with events but no views yet counts as behind. A tenant whose node does
    not answer (a Citus worker down) is left out of this answer, so the tenants on the other
    nodes are still projected; it is asked again at the next wake-up.
    """
    by_schema = {tenant_store_name(t): t for t in tenant_ids}
    schemas = list(by_schema)
    behind: list[str] = []
    for start in range(0, len(schemas), TENANTS_PER_QUERY):
        chunk = schemas[start : start + TENANTS_PER_QUERY]
        try:
            behind.extend(_behind(conn, chunk))
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            complete = _schemas_with_tables(conn, chunk)
            behind.extend(_behind_one_by_one(conn, complete))
            behind.extend(schema for schema in set(chunk) - set(complete) if _has_events(conn, schema))
        except psycopg.Error:
            if conn.closed:
                raise  # the database itself is away: nothing to ask one by one
            behind.extend(_behind_where_answered(conn, chunk))
    return [by_schema[schema] for schema in behind]


def _behind_where_answered(conn: psycopg.Connection[Any], schemas: Sequence[str]) -> list[str]:
    """`_behind` asked one schema at a time, leaving out those whose statement fails."""
    behind: list[str] = []
    unanswered = 0
    for schema in schemas:
        try:
            behind.extend(_behind(conn, [schema]))
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            if _has_events(conn, schema):
                behind.append(schema)
        except psycopg.Error:
            if conn.closed:
                raise
            unanswered += 1
    if unanswered:
        logger.warning("%d of %d tenants did not answer whether they are behind", unanswered, len(schemas))
    return behind


def _behind_one_by_one(conn: psycopg.Connection[Any], schemas: Sequence[str]) -> list[str]:
    """As `_behind`, for schemas that had both tables a moment ago: pipelined again, and if a
    schema went away meanwhile (its tenant erased) the rest are asked one at a time."""
    try:
        return _behind(conn, schemas)
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
        behind: list[str] = []
        for schema in schemas:
            try:
                behind.extend(_behind(conn, [schema]))
            except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
                continue
        return behind


def _has_events(conn: psycopg.Connection[Any], schema: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", (f"{quote_ident(schema)}.{EVENTS_TABLE}",)).fetchone()
    if row is None or row[0] is None:
        return False
    return conn.execute(statement_for("SELECT 1 FROM {s}.{events} LIMIT 1", schema)).fetchone() is not None
