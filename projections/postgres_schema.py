"""The PostgreSQL read models' tables and statements: each tenant's view tables in its own
schema (`{s}`, beside its events table `{events}`), the statements the projector and the
queries run on them, and the second set of tables a rebuild fills (`suffixed`). The stores that
run them are projections/postgres_views.py.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

from projections.audit import AuditFilter
from projections.versions import PROJECTION_VERSIONS

# The library names a tenant application's events table after the class (and NOTIFYs on a
# channel of the same name, without the schema).
EVENTS_TABLE = "tenantapplication_events"
CHANNEL = EVENTS_TABLE
VIEW_TABLES = (
    "view_position",
    "view_documents",
    "audit_events",
    "lineage_nodes",
    "lineage_links",
    "event_chain",
    "view_version",
)

# A constraint without an index is named here, as PostgreSQL would name it on the live table:
# on the fresh tables of a rebuild it then has its live name already (Citus cannot rename one).
SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.view_position (
    id integer PRIMARY KEY CONSTRAINT view_position_id_check CHECK (id = 1),
    position bigint NOT NULL
);
INSERT INTO {s}.view_position (id, position) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS {s}.view_documents (
    key text PRIMARY KEY,
    kind text NOT NULL,
    aggregate_id uuid NOT NULL,
    state bytea NOT NULL,
    body bytea NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS view_documents_kind ON {s}.view_documents (kind, aggregate_id);
CREATE TABLE IF NOT EXISTS {s}.audit_events (
    position bigint PRIMARY KEY,
    aggregate_id uuid NOT NULL,
    aggregate_type text NOT NULL,
    version bigint NOT NULL,
    event_type text NOT NULL,
    actor_id uuid NOT NULL,
    actor_role text NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    command_name text NOT NULL,
    command_id uuid NOT NULL,
    correlation_id text NOT NULL,
    caused_by jsonb NOT NULL,
    details jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_aggregate ON {s}.audit_events (aggregate_id, position);
CREATE INDEX IF NOT EXISTS audit_by_actor ON {s}.audit_events (actor_id, position);
CREATE INDEX IF NOT EXISTS audit_by_type ON {s}.audit_events (event_type, position);
CREATE INDEX IF NOT EXISTS audit_by_time ON {s}.audit_events (occurred_at, position);
CREATE TABLE IF NOT EXISTS {s}.lineage_nodes (
    node_id text PRIMARY KEY,
    kind text NOT NULL,
    engagement_id uuid NOT NULL,
    label text NOT NULL,
    actor_id uuid NOT NULL,
    actor_role text NOT NULL,
    occurred_at timestamptz NOT NULL,
    position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.lineage_links (
    child text NOT NULL,
    parent text NOT NULL,
    PRIMARY KEY (child, parent)
);
CREATE INDEX IF NOT EXISTS lineage_by_parent ON {s}.lineage_links (parent);
CREATE TABLE IF NOT EXISTS {s}.event_chain (
    position bigint PRIMARY KEY,
    digest bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.view_version (
    projection text PRIMARY KEY,
    version integer NOT NULL
);
"""
# Views that have applied nothing yet are this code's: stamped with its projection versions.
# Views that have (made before versions were recorded) stay unstamped, so count as version 1.
STAMP_VERSIONS = (
    "INSERT INTO {s}.view_version (projection, version) SELECT * FROM unnest(%s::text[], %s::integer[]) "
    "WHERE (SELECT position FROM {s}.view_position WHERE id = 1) = 0 ON CONFLICT (projection) DO NOTHING"
)
SELECT_VERSIONS = "SELECT projection, version FROM {s}.view_version"
# Whether a tenant's views answer yet: how far they are, and whether its log has anything.
READY = "SELECT (SELECT position FROM {s}.view_position WHERE id = 1), EXISTS (SELECT 1 FROM {s}.{events})"

MOVE_POSITION = "UPDATE {s}.view_position SET position = %s WHERE id = 1 AND position = %s"
# Documents (an engagement's is hundreds of KB) are compressed with lz4 where the server has it:
# about three times faster to write than the default pglz (docs/benchmarks.md, P6).
HAS_LZ4 = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
COMPRESS_WITH_LZ4 = "SET LOCAL default_toast_compression = 'lz4'"
UPSERT_DOCUMENT = (
    "INSERT INTO {s}.view_documents (key, kind, aggregate_id, state, body, position) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET "
    "state = EXCLUDED.state, body = EXCLUDED.body, position = EXCLUDED.position"
)
# A batch's rows (projections/postgres_rows.py): by COPY into the append-only tables, by one
# array a column into those that upsert.
COPY_AUDIT = (
    "COPY {s}.audit_events (position, aggregate_id, aggregate_type, version, event_type, actor_id, "
    "actor_role, occurred_at, recorded_at, command_name, command_id, correlation_id, caused_by, details) "
    "FROM STDIN"
)
COPY_CHAIN = "COPY {s}.event_chain (position, digest) FROM STDIN"
UPSERT_NODES = (
    "INSERT INTO {s}.lineage_nodes (node_id, kind, engagement_id, label, actor_id, actor_role, "
    "occurred_at, position) SELECT * FROM unnest(%s::text[], %s::text[], %s::uuid[], %s::text[], "
    "%s::uuid[], %s::text[], %s::timestamptz[], %s::bigint[]) ON CONFLICT (node_id) DO UPDATE SET "
    "label = EXCLUDED.label, actor_id = EXCLUDED.actor_id, actor_role = EXCLUDED.actor_role, "
    "occurred_at = EXCLUDED.occurred_at, position = EXCLUDED.position"
)
UPSERT_LINKS = (
    "INSERT INTO {s}.lineage_links (child, parent) SELECT * FROM unnest(%s::text[], %s::text[]) "
    "ON CONFLICT DO NOTHING"
)
SELECT_POSITION = "SELECT position FROM {s}.view_position WHERE id = 1"
SELECT_LAST_LINK = "SELECT position, digest FROM {s}.event_chain ORDER BY position DESC LIMIT 1"
SELECT_LINKS = "SELECT position, digest FROM {s}.event_chain WHERE position > %s ORDER BY position LIMIT %s"
SELECT_STATES = "SELECT key, state FROM {s}.view_documents WHERE key = ANY(%s)"
SELECT_DOCUMENT = "SELECT body FROM {s}.view_documents WHERE key = %s"
SELECT_DOCUMENTS = "SELECT body FROM {s}.view_documents WHERE kind = %s ORDER BY position"
SELECT_EVENTS = (
    "SELECT notification_id, originator_id, originator_version, topic, state FROM {s}.{events} "
    "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
)

# Queries on the asyncpg pool: `{s}` is the tenant's quoted schema. The audit trail comes a
# page at a time in position order (keyset: after the last position seen); each criterion of
# an `AuditFilter` adds its condition, `{n}` being its argument's number.
SELECT_AUDIT = (
    "SELECT position, aggregate_id, aggregate_type, version, event_type, actor_id, actor_role, "
    "occurred_at, recorded_at, command_name, command_id, correlation_id, caused_by::text, details::text "
    "FROM {s}.audit_events WHERE position > $1"
)
AUDIT_CRITERIA = {
    "aggregate_id": "aggregate_id = ${n}",
    "aggregate_type": "aggregate_type = ${n}",
    "actor_id": "actor_id = ${n}",
    "occurred_from": "occurred_at >= ${n}",
    "occurred_to": "occurred_at < ${n}",
    "recorded_from": "recorded_at >= ${n}",
    "recorded_to": "recorded_at < ${n}",
    "event_types": "event_type = ANY(${n}::text[])",
}
AUDIT_PAGE = " ORDER BY position LIMIT ${n}"
SELECT_NODES = (
    "SELECT node_id, kind, engagement_id, label, actor_id, actor_role, occurred_at, position, "
    "coalesce((SELECT array_agg(l.parent ORDER BY l.parent) FROM {s}.lineage_links AS l "
    "WHERE l.child = n.node_id), '{{}}') AS parents "
    "FROM {s}.lineage_nodes AS n WHERE node_id = ANY($1::text[]) ORDER BY position, node_id"
)
# Every link walked from a node back to its causes (ancestors), or on to what it caused
# (descendants), at most $2 links away; each link once, nearest first.
SELECT_ANCESTOR_LINKS = """
WITH RECURSIVE walk(child, parent, depth) AS (
    SELECT child, parent, 1 FROM {s}.lineage_links WHERE child = $1
    UNION
    SELECT l.child, l.parent, walk.depth + 1
    FROM {s}.lineage_links AS l JOIN walk ON l.child = walk.parent
    WHERE walk.depth < $2
)
SELECT child, parent FROM walk GROUP BY child, parent ORDER BY min(depth), child, parent
"""
SELECT_DESCENDANT_LINKS = """
WITH RECURSIVE walk(child, parent, depth) AS (
    SELECT child, parent, 1 FROM {s}.lineage_links WHERE parent = $1
    UNION
    SELECT l.child, l.parent, walk.depth + 1
    FROM {s}.lineage_links AS l JOIN walk ON l.parent = walk.child
    WHERE walk.depth < $2
)
SELECT child, parent FROM walk GROUP BY child, parent ORDER BY min(depth), child, parent
"""


# In a template, a view table is named `{s}.<table>` and an index `INDEX IF NOT EXISTS <name>`:
# `suffixed` appends a suffix to both.
_VIEW_TABLE = re.compile(r"\{s\}\.(" + "|".join(VIEW_TABLES) + r")\b")
_INDEX = re.compile(r"(INDEX IF NOT EXISTS )(\w+)")
_SUFFIX = re.compile(r"\w*")


def suffixed(template: str, suffix: str) -> str:
    """The template on a second set of view tables in the same schema, whose tables and indexes
    are named with `suffix` (`view_documents__fresh`, `view_documents_kind__fresh`): an index
    left unsuffixed would clash with the live table's and `IF NOT EXISTS` would skip it."""
    if not _SUFFIX.fullmatch(suffix):
        raise ValueError(f"not a name suffix: {suffix!r}")
    if not suffix:
        return template
    template = _VIEW_TABLE.sub(lambda m: f"{{s}}.{m[1]}{suffix}", template)
    return _INDEX.sub(lambda m: f"{m[1]}{m[2]}{suffix}", template)


def statement_for(template: str, schema: str, suffix: str = "") -> sql.Composed:
    return sql.SQL(suffixed(template, suffix)).format(
        s=sql.Identifier(schema), events=sql.Identifier(EVENTS_TABLE)
    )


def quote_ident(name: str) -> str:
    """A double-quoted identifier for text queries (asyncpg takes no psycopg `sql` objects)."""
    return '"' + name.replace('"', '""') + '"'


def audit_query(schema: str, filters: AuditFilter, after: int | None, limit: int) -> tuple[str, list[Any]]:
    """The page of the audit trail `filters` select after position `after`, as SQL and arguments
    (for asyncpg; `schema` already quoted)."""
    query = [SELECT_AUDIT.format(s=schema)]
    args: list[Any] = [after or 0]
    for criterion, value in filters.conditions():
        args.append(list(value) if isinstance(value, tuple) else value)
        query.append(" AND " + AUDIT_CRITERIA[criterion].format(n=len(args)))
    args.append(limit)
    query.append(AUDIT_PAGE.format(n=len(args)))
    return "".join(query), args


def create_view_tables(conn: psycopg.Connection[Any], schema: str, suffix: str = "") -> None:
    """Creates the view tables in `schema` (idempotent; safe against concurrent creators); with
    a `suffix`, a second set beside them (`view_documents__fresh`, ...) that a rebuild fills."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"balkort-views:{schema}{suffix}",))
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement_for(statement, schema, suffix))
        conn.execute(
            statement_for(STAMP_VERSIONS, schema, suffix),
            (list(PROJECTION_VERSIONS), list(PROJECTION_VERSIONS.values())),
        )
