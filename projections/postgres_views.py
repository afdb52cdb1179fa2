"""Read models on PostgreSQL: each tenant's views live in its own schema, beside its events.

The projector's blocking work (reading events, committing batches) goes through ONE bounded
psycopg pool shared by every tenant: plain SQL on our own tables, so the library's per-schema
composite-type adapter clash does not arise. Queries are answered by a small asyncpg pool.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol
from uuid import UUID

import anyio.to_thread
import msgspec
import psycopg
import psycopg.errors
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg import sql
from psycopg_pool import ConnectionPool

from projections.audit import AuditFilter, AuditRow
from projections.backends import ViewsNotReady
from projections.chain import ChainLink, tenant_of
from projections.decoding import decode_at
from projections.lineage import LineageNode
from projections.projector import Batch, PositionMoved, Recorded
from projections.storable import storable_json, storable_row
from projections.stores import tenant_store_name
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
# Statements per round trip when asking which of many tenants are behind.
TENANTS_PER_QUERY = 500
logger = logging.getLogger("balkort.projections")

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
UPSERT_DOCUMENT = (
    "INSERT INTO {s}.view_documents (key, kind, aggregate_id, state, body, position) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET "
    "state = EXCLUDED.state, body = EXCLUDED.body, position = EXCLUDED.position"
)
INSERT_AUDIT = (
    "INSERT INTO {s}.audit_events (position, aggregate_id, aggregate_type, version, event_type, "
    "actor_id, actor_role, occurred_at, recorded_at, command_name, command_id, correlation_id, "
    "caused_by, details) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb)"
)
UPSERT_NODE = (
    "INSERT INTO {s}.lineage_nodes (node_id, kind, engagement_id, label, actor_id, actor_role, "
    "occurred_at, position) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (node_id) DO UPDATE SET "
    "label = EXCLUDED.label, actor_id = EXCLUDED.actor_id, actor_role = EXCLUDED.actor_role, "
    "occurred_at = EXCLUDED.occurred_at, position = EXCLUDED.position"
)
INSERT_LINK = "INSERT INTO {s}.lineage_links (child, parent) VALUES (%s, %s) ON CONFLICT DO NOTHING"
SELECT_POSITION = "SELECT position FROM {s}.view_position WHERE id = 1"
INSERT_CHAIN = "INSERT INTO {s}.event_chain (position, digest) VALUES (%s, %s)"
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

_json = msgspec.json.Encoder()
_caused_by = msgspec.json.Decoder(list[str])


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


def _statement(template: str, schema: str, suffix: str = "") -> sql.Composed:
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


def _uuid(value: Any) -> UUID:
    """asyncpg's own UUID type as the standard one."""
    return value if type(value) is UUID else UUID(int=value.int)


class Connections(Protocol):
    """Where a store gets a connection: a pool, or one connection inside a transaction."""

    def connection(self) -> AbstractContextManager[psycopg.Connection[Any]]: ...


class OneConnection:
    """Hands out the same connection every time: lets stores work inside a caller's transaction
    (their own transactions become savepoints)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        yield self.conn


def create_view_tables(conn: psycopg.Connection[Any], schema: str, suffix: str = "") -> None:
    """Creates the view tables in `schema` (idempotent; safe against concurrent creators); with
    a `suffix`, a second set beside them (`view_documents__fresh`, ...) that a rebuild fills."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"balkort-views:{schema}{suffix}",))
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(_statement(statement, schema, suffix))
        conn.execute(
            _statement(STAMP_VERSIONS, schema, suffix),
            (list(PROJECTION_VERSIONS), list(PROJECTION_VERSIONS.values())),
        )


class PostgresViewStore:
    """The views of one tenant in a schema; rows and position committed in one transaction.
    With a `suffix`, the set of view tables named with it (see `create_view_tables`)."""

    def __init__(self, pool: Connections, schema: str, *, create: bool = True, suffix: str = "") -> None:
        self.pool = pool
        self.schema = schema
        self.suffix = suffix
        self._move = _statement(MOVE_POSITION, schema, suffix)
        self._upsert_document = _statement(UPSERT_DOCUMENT, schema, suffix)
        self._insert_audit = _statement(INSERT_AUDIT, schema, suffix)
        self._upsert_node = _statement(UPSERT_NODE, schema, suffix)
        self._insert_link = _statement(INSERT_LINK, schema, suffix)
        self._select_position = _statement(SELECT_POSITION, schema, suffix)
        self._insert_chain = _statement(INSERT_CHAIN, schema, suffix)
        self._select_last_link = _statement(SELECT_LAST_LINK, schema, suffix)
        self._select_links = _statement(SELECT_LINKS, schema, suffix)
        self._select_states = _statement(SELECT_STATES, schema, suffix)
        self._select_document = _statement(SELECT_DOCUMENT, schema, suffix)
        self._select_documents = _statement(SELECT_DOCUMENTS, schema, suffix)
        if create:
            with pool.connection() as conn:
                create_view_tables(conn, schema, suffix)

    def position(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(self._select_position).fetchone()
        if row is None:
            raise RuntimeError(f"{self.schema}.view_position{self.suffix} has no row")
        return int(row[0])

    def versions(self) -> dict[str, int]:
        """The projection versions the views were written by (projections/versions.py)."""
        try:
            with self.pool.connection() as conn:
                rows = conn.execute(_statement(SELECT_VERSIONS, self.schema, self.suffix)).fetchall()
        except psycopg.errors.UndefinedTable:  # views older than the versions table
            return {}
        return {projection: int(version) for projection, version in rows}

    def states(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(keys)
        if not wanted:
            return {}
        with self.pool.connection() as conn:
            rows = conn.execute(self._select_states, (wanted,)).fetchall()
        return {key: bytes(state) for key, state in rows}

    def commit(self, batch: Batch) -> None:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.execute(self._move, (batch.position, batch.after))
            if cursor.rowcount != 1:
                raise PositionMoved(f"views of {self.schema}{self.suffix} moved past {batch.after} meanwhile")
            if batch.documents:
                cursor.executemany(
                    self._upsert_document,
                    [
                        storable_row(d.key, d.kind, d.aggregate_id, d.state, d.body, d.position)
                        for d in batch.documents
                    ],
                )
            if batch.audit:
                cursor.executemany(
                    self._insert_audit,
                    [
                        storable_row(
                            a.position,
                            a.aggregate_id,
                            a.aggregate_type,
                            a.version,
                            a.event_type,
                            a.actor_id,
                            a.actor_role,
                            a.occurred_at,
                            a.recorded_at,
                            a.command_name,
                            a.command_id,
                            a.correlation_id,
                            storable_json(_json.encode(a.caused_by).decode()),
                            storable_json(bytes(a.details).decode()),
                        )
                        for a in batch.audit
                    ],
                )
            if batch.lineage:
                cursor.executemany(
                    self._upsert_node,
                    [
                        storable_row(
                            n.node_id,
                            n.kind,
                            n.engagement_id,
                            n.label,
                            n.actor_id,
                            n.actor_role,
                            n.occurred_at,
                            n.position,
                        )
                        for n in batch.lineage
                    ],
                )
                links = [storable_row(n.node_id, parent) for n in batch.lineage for parent in n.parents]
                if links:
                    cursor.executemany(self._insert_link, links)
            if batch.chain:
                cursor.executemany(self._insert_chain, [(c.position, c.digest) for c in batch.chain])

    def last_digest(self) -> ChainLink | None:
        with self.pool.connection() as conn:
            row = conn.execute(self._select_last_link).fetchone()
        return None if row is None else ChainLink(int(row[0]), bytes(row[1]))

    def chain_links(self, after: int, limit: int) -> list[ChainLink]:
        """Up to `limit` chain links after position `after`, in position order."""
        with self.pool.connection() as conn:
            rows = conn.execute(self._select_links, (after, limit)).fetchall()
        return [ChainLink(int(position), bytes(digest)) for position, digest in rows]

    def document(self, key: str) -> bytes | None:
        with self.pool.connection() as conn:
            row = conn.execute(self._select_document, (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def documents(self, kind: str) -> list[bytes]:
        with self.pool.connection() as conn:
            rows = conn.execute(self._select_documents, (kind,)).fetchall()
        return [bytes(body) for (body,) in rows]


class PostgresEventSource:
    """A tenant's event table read in notification order, decoded with the tenant's mapper."""

    def __init__(
        self, pool: Connections, schema: str, mapper: Mapper[UUID], tenant_id: UUID | None = None
    ) -> None:
        self.pool = pool
        self.schema = schema
        self.mapper = mapper
        # Whose log this is: the hash chain starts from the tenant's genesis digest.
        self.tenant_id = tenant_id or tenant_of(schema)
        self._select = _statement(SELECT_EVENTS, schema)

    def read(self, after: int, limit: int) -> list[Recorded]:
        return [
            # Decoded as the event at its position: unbound states only where legacy ones may be.
            Recorded(position, decode_at(self.mapper, position, stored), stored)
            for position, stored in self.read_stored(after, limit)
        ]

    def read_stored(self, after: int, limit: int) -> list[tuple[int, StoredEvent]]:
        """Up to `limit` rows after `after` as stored, not decoded (what the hash chain covers)."""
        with self.pool.connection() as conn:
            rows = conn.execute(self._select, (after, limit)).fetchall()
        return [
            (int(position), StoredEvent(oid, int(version), topic, bytes(state)))
            for position, oid, version, topic, state in rows
        ]

    def head(self) -> int:
        """The last notification id of the log (0 when empty)."""
        with self.pool.connection() as conn:
            row = conn.execute(
                _statement("SELECT coalesce(max(notification_id), 0) FROM {s}.{events}", self.schema)
            ).fetchone()
        return 0 if row is None else int(row[0])


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
            cursor.execute(_statement(BEHIND, schema))
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
    return conn.execute(_statement("SELECT 1 FROM {s}.{events} LIMIT 1", schema)).fetchone() is not None


class PostgresViewBackend:
    """Every tenant's views in its own schema. One bounded psycopg pool (opened on first use)
    for the projector, one asyncpg pool (created on the first query) for queries."""

    def __init__(
        self,
        dsn: str,
        mappers: Callable[[UUID], Mapper[UUID]],
        *,
        pool_size: int,
        query_pool_size: int,
    ) -> None:
        # Where the tenants' schemas are, and how many connections each pool may hold: the
        # composition root passes them from the settings (services/bootstrap.py).
        self.dsn = dsn
        self.pool_size = pool_size
        self.query_pool_size = query_pool_size
        self.mappers = mappers
        self._erased: set[UUID] = set()
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._stores: dict[UUID, PostgresViewStore] = {}
        self._async_pool: Any = None
        self._async_lock: Any = None
        # Tenants whose views have applied events: they answer from then on (a position only
        # moves forward, a rebuild swaps in views as far along as the live ones).
        self._answering: set[UUID] = set()

    def open_pool(self) -> ConnectionPool:
        """The projector's pool (min 1, max `pool_size`), opened on first use."""
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.dsn,
                    min_size=1,
                    max_size=max(1, self.pool_size),
                    kwargs={"autocommit": True},
                    name="balkort-views",
                    open=False,
                )
                self._pool.open(wait=False)
            return self._pool

    def behind(self, tenant_ids: Iterable[UUID]) -> list[UUID]:
        """Of these tenants, those with events their views have not applied: one round trip."""
        with self.open_pool().connection() as conn:
            return tenants_with_new_events(conn, tenant_ids)

    def store_for(self, tenant_id: UUID) -> PostgresViewStore:
        store = self._stores.get(tenant_id)
        if store is None:
            if tenant_id in self._erased:
                raise LookupError(f"tenant {tenant_id} was erased")
            # The tables are the tenant's migrations' to make (services/migrations.py).
            store = PostgresViewStore(self.open_pool(), tenant_store_name(tenant_id), create=False)
            with self._lock:
                store = self._stores.setdefault(tenant_id, store)
        return store

    def source_for(self, tenant_id: UUID) -> PostgresEventSource:
        if tenant_id in self._erased:
            raise LookupError(f"tenant {tenant_id} was erased")
        return PostgresEventSource(
            self.open_pool(), tenant_store_name(tenant_id), self.mappers(tenant_id), tenant_id
        )

    def forget(self, tenant_id: UUID) -> None:
        """The tenant was erased (its schema, views included, dropped): forget its store."""
        with self._lock:
            self._erased.add(tenant_id)
            self._stores.pop(tenant_id, None)
            self._answering.discard(tenant_id)

    def pool_stats(self) -> tuple[dict[str, int], dict[str, int]]:
        """The projector pool's psycopg statistics and the query pool's sizes (open, idle,
        max), for metrics; empty for a pool not opened yet."""
        with self._lock:
            pool = self._pool
        async_pool = self._async_pool
        queries = (
            {}
            if async_pool is None
            else {
                "open": async_pool.get_size(),
                "idle": async_pool.get_idle_size(),
                "max": async_pool.get_max_size(),
            }
        )
        return ({} if pool is None else dict(pool.get_stats())), queries

    async def ping(self) -> None:
        """Raises unless PostgreSQL answers a query on the query pool (readiness)."""
        pool = await self._async()
        await pool.fetchval("SELECT 1")

    # -- queries (asyncpg) ----------------------------------------------------------

    async def _async(self) -> Any:
        import asyncio

        import asyncpg

        if self._async_pool is None:
            if self._async_lock is None:
                self._async_lock = asyncio.Lock()
            async with self._async_lock:
                if self._async_pool is None:
                    self._async_pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=1,
                        max_size=max(1, self.query_pool_size),
                    )
        return self._async_pool

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        import asyncpg

        pool = await self._async()
        try:
            return list(await pool.fetch(query, *args))
        except asyncpg.exceptions.UndefinedTableError:
            # The tenant's views were never created: nothing projected yet.
            return []

    async def _read(self, tenant_id: UUID, query: str, *args: Any) -> list[Any]:
        """A query on the tenant's views. Raises ViewsNotReady while they catch up from empty
        (the log has events, the views none yet) or are missing, rather than answer nothing."""
        import asyncpg

        pool = await self._async()
        schema = quote_ident(tenant_store_name(tenant_id))
        try:
            if tenant_id not in self._answering:
                at, has_events = await pool.fetchrow(READY.format(s=schema, events=quote_ident(EVENTS_TABLE)))
                if at:
                    self._answering.add(tenant_id)
                elif has_events:
                    raise ViewsNotReady(tenant_id)
            return list(await pool.fetch(query, *args))
        except asyncpg.exceptions.UndefinedTableError:
            raise ViewsNotReady(tenant_id) from None

    async def document(self, tenant_id: UUID, key: str) -> bytes | None:
        schema = quote_ident(tenant_store_name(tenant_id))
        rows = await self._read(tenant_id, f"SELECT body FROM {schema}.view_documents WHERE key = $1", key)  # noqa: S608
        return None if not rows else bytes(rows[0][0])

    async def documents(self, tenant_id: UUID, kind: str) -> list[bytes]:
        schema = quote_ident(tenant_store_name(tenant_id))
        rows = await self._read(
            tenant_id,
            f"SELECT body FROM {schema}.view_documents WHERE kind = $1 ORDER BY position",  # noqa: S608
            kind,
        )
        return [bytes(row[0]) for row in rows]

    async def position(self, tenant_id: UUID) -> int:
        schema = quote_ident(tenant_store_name(tenant_id))
        rows = await self._fetch(f"SELECT position FROM {schema}.view_position WHERE id = 1")  # noqa: S608
        return 0 if not rows else int(rows[0][0])

    async def audit(
        self, tenant_id: UUID, filters: AuditFilter, after: int | None, limit: int
    ) -> list[AuditRow]:
        query, args = audit_query(quote_ident(tenant_store_name(tenant_id)), filters, after, limit)
        rows = await self._read(tenant_id, query, *args)
        return [
            AuditRow(
                position=int(row[0]),
                aggregate_id=_uuid(row[1]),
                aggregate_type=row[2],
                version=int(row[3]),
                event_type=row[4],
                actor_id=_uuid(row[5]),
                actor_role=row[6],
                occurred_at=row[7],
                recorded_at=row[8],
                command_name=row[9],
                command_id=_uuid(row[10]),
                correlation_id=row[11],
                caused_by=_caused_by.decode(row[12]),
                details=msgspec.Raw(row[13].encode()),
            )
            for row in rows
        ]

    async def lineage(self, tenant_id: UUID, node_ids: list[str]) -> list[LineageNode]:
        if not node_ids:
            return []
        schema = quote_ident(tenant_store_name(tenant_id))
        rows = await self._read(tenant_id, SELECT_NODES.format(s=schema), list(dict.fromkeys(node_ids)))
        return [
            LineageNode(
                node_id=row[0],
                kind=row[1],
                engagement_id=_uuid(row[2]),
                label=row[3],
                actor_id=_uuid(row[4]),
                actor_role=row[5],
                occurred_at=row[6],
                position=int(row[7]),
                parents=list(row[8]),
            )
            for row in rows
        ]

    async def lineage_ancestors(self, tenant_id: UUID, node_id: str, depth: int) -> list[tuple[str, str]]:
        schema = quote_ident(tenant_store_name(tenant_id))
        rows = await self._read(tenant_id, SELECT_ANCESTOR_LINKS.format(s=schema), node_id, depth)
        return [(row[0], row[1]) for row in rows]

    async def lineage_descendants(self, tenant_id: UUID, node_id: str, depth: int) -> list[tuple[str, str]]:
        schema = quote_ident(tenant_store_name(tenant_id))
        rows = await self._read(tenant_id, SELECT_DESCENDANT_LINKS.format(s=schema), node_id, depth)
        return [(row[0], row[1]) for row in rows]

    async def close(self) -> None:
        pool, self._async_pool, self._async_lock = self._async_pool, None, None
        if pool is not None:
            await pool.close()
        await anyio.to_thread.run_sync(self.close_blocking)

    def close_blocking(self) -> None:
        """Closes the projector's pool (for processes without an event loop); a later use
        opens a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._stores.clear()
        if pool is not None:
            pool.close()
