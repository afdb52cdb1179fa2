"""Read models on PostgreSQL: each tenant's views live in its own schema, beside its events.

The projector's blocking work (reading events, committing batches) goes through ONE bounded
psycopg pool shared by every tenant: plain SQL on our own tables, so the library's per-schema
composite-type adapter clash does not arise. Queries are answered by a small asyncpg pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol
from uuid import UUID

import anyio.to_thread
import msgspec
import psycopg
import psycopg.errors
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg_pool import ConnectionPool

from projections.audit import AuditFilter, AuditRow
from projections.backends import ViewsNotReady
from projections.chain import ChainLink, tenant_of
from projections.decoding import decode_at
from projections.lineage import LineageNode
from projections.postgres_behind import tenants_with_new_events
from projections.postgres_rows import copy_rows, merged, upsert_columns
from projections.postgres_schema import (
    COMPRESS_WITH_LZ4,
    COPY_AUDIT,
    COPY_CHAIN,
    EVENTS_TABLE,
    HAS_LZ4,
    MOVE_POSITION,
    READY,
    SELECT_ANCESTOR_LINKS,
    SELECT_DESCENDANT_LINKS,
    SELECT_DOCUMENT,
    SELECT_DOCUMENTS,
    SELECT_EVENTS,
    SELECT_LAST_LINK,
    SELECT_LINKS,
    SELECT_NODES,
    SELECT_POSITION,
    SELECT_STATES,
    SELECT_VERSIONS,
    UPSERT_DOCUMENT,
    UPSERT_LINKS,
    UPSERT_NODES,
    audit_query,
    create_view_tables,
    quote_ident,
    statement_for,
)
from projections.projector import Batch, PositionMoved, Recorded
from projections.storable import storable_json, storable_row
from projections.stores import tenant_store_name

_json = msgspec.json.Encoder()
_caused_by = msgspec.json.Decoder(list[str])


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


class PostgresViewStore:
    """The views of one tenant in a schema; rows and position committed in one transaction.
    With a `suffix`, the set of view tables named with it (see `create_view_tables`)."""

    def __init__(self, pool: Connections, schema: str, *, create: bool = True, suffix: str = "") -> None:
        self.pool = pool
        self.schema = schema
        self.suffix = suffix
        self._move = statement_for(MOVE_POSITION, schema, suffix)
        self._upsert_document = statement_for(UPSERT_DOCUMENT, schema, suffix)
        self._copy_audit = statement_for(COPY_AUDIT, schema, suffix)
        self._upsert_nodes = statement_for(UPSERT_NODES, schema, suffix)
        self._upsert_links = statement_for(UPSERT_LINKS, schema, suffix)
        self._select_position = statement_for(SELECT_POSITION, schema, suffix)
        self._copy_chain = statement_for(COPY_CHAIN, schema, suffix)
        self._select_last_link = statement_for(SELECT_LAST_LINK, schema, suffix)
        self._select_links = statement_for(SELECT_LINKS, schema, suffix)
        self._select_states = statement_for(SELECT_STATES, schema, suffix)
        self._select_document = statement_for(SELECT_DOCUMENT, schema, suffix)
        self._select_documents = statement_for(SELECT_DOCUMENTS, schema, suffix)
        self._has_lz4: bool | None = None
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
                rows = conn.execute(statement_for(SELECT_VERSIONS, self.schema, self.suffix)).fetchall()
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
            if batch.documents and self._lz4(cursor):
                cursor.execute(COMPRESS_WITH_LZ4)
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
                copy_rows(
                    cursor,
                    self._copy_audit,
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
                # A node keeps its id, kind and engagement: what the upsert does not change.
                upsert_columns(
                    cursor,
                    self._upsert_nodes,
                    8,
                    merged(
                        (
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
                        ),
                        kept_from_first=3,
                    ),
                )
                links = [storable_row(n.node_id, parent) for n in batch.lineage for parent in n.parents]
                upsert_columns(cursor, self._upsert_links, 2, links)
            if batch.chain:
                copy_rows(cursor, self._copy_chain, [(c.position, c.digest) for c in batch.chain])

    def _lz4(self, cursor: psycopg.Cursor[Any]) -> bool:
        """Whether the server compresses with lz4 (asked once per store)."""
        if self._has_lz4 is None:
            row = cursor.execute(HAS_LZ4).fetchone()
            self._has_lz4 = bool(row and row[0])
        return self._has_lz4

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
        self._select = statement_for(SELECT_EVENTS, schema)

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
                statement_for("SELECT coalesce(max(notification_id), 0) FROM {s}.{events}", self.schema)
            ).fetchone()
        return 0 if row is None else int(row[0])


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
