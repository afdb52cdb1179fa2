"""Where each tenant's read models live and how its events are read, per persistence backend.

A backend hands the projector a `ViewStore` and an `EventSource` for a tenant (blocking; the
projector runs them off the event loop), and answers queries asynchronously.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Protocol
from uuid import UUID

import anyio.to_thread
from eventsourcing.persistence import Mapper

from projections.audit import AuditFilter, AuditRow
from projections.lineage import LineageNode
from projections.projector import EventSource, ViewStore
from projections.sqlite_views import SQLiteEventSource, SQLiteViewStore
from projections.stores import tenant_store_name


class ViewBackend(Protocol):
    def store_for(self, tenant_id: UUID) -> ViewStore: ...

    def source_for(self, tenant_id: UUID) -> EventSource: ...

    def behind(self, tenant_ids: Iterable[UUID]) -> list[UUID]: ...

    async def document(self, tenant_id: UUID, key: str) -> bytes | None: ...

    async def documents(self, tenant_id: UUID, kind: str) -> list[bytes]: ...

    async def position(self, tenant_id: UUID) -> int: ...

    async def audit(
        self, tenant_id: UUID, filters: AuditFilter, after: int | None, limit: int
    ) -> list[AuditRow]:
        """Up to `limit` audit rows that `filters` select, in position order, after position
        `after` (the last one seen; from the start when None)."""
        ...

    async def lineage(self, tenant_id: UUID, node_ids: list[str]) -> list[LineageNode]:
        """The lineage nodes of those ids that exist, each with its parents, in position order."""
        ...

    async def lineage_ancestors(self, tenant_id: UUID, node_id: str, depth: int) -> list[tuple[str, str]]:
        """The (child, parent) links walked from `node_id` back to its causes, `depth` links at most."""
        ...

    async def lineage_descendants(self, tenant_id: UUID, node_id: str, depth: int) -> list[tuple[str, str]]:
        """The (child, parent) links walked from `node_id` on to what it caused, `depth` links at most."""
        ...

    def forget(self, tenant_id: UUID) -> None:
        """The tenant was erased: drop what is cached about it and refuse to recreate its views."""
        ...

    async def close(self) -> None: ...


# tenant id -> the mapper that decodes (and decrypts) that tenant's events.
Mappers = Callable[[UUID], Mapper[UUID]]


class TenantErased(LookupError):
    """The tenant's store was erased; its views are not recreated."""


class ViewsNotReady(RuntimeError):
    """The tenant's views are catching up from empty (its log has events, its views none yet):
    an answer now would say "nothing" where there is something. Retry shortly (503)."""

    retry_after = 2

    def __init__(self, tenant_id: UUID) -> None:
        super().__init__(f"the read models of tenant {tenant_id} are still being built")
        self.tenant_id = tenant_id


def _has_events(events_path: Path) -> bool:
    try:
        with closing(sqlite3.connect(f"file:{events_path}?mode=ro", uri=True, timeout=30)) as conn:
            return conn.execute("SELECT 1 FROM stored_events LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # no store, or no table in it yet
        return False


class SQLiteViewBackend:
    """The embedded default: `<data_dir>/stores/tenant_<id>.views.sqlite3` beside the event store."""

    def __init__(self, stores_dir: Path, mappers: Mappers) -> None:
        self.stores_dir = stores_dir
        self.mappers = mappers
        self._stores: dict[UUID, SQLiteViewStore] = {}
        self._erased: set[UUID] = set()
        # Tenants whose views have applied events: they answer from then on.
        self._answering: set[UUID] = set()

    def _events_path(self, tenant_id: UUID) -> Path:
        return self.stores_dir / f"{tenant_store_name(tenant_id)}.sqlite3"

    def store_for(self, tenant_id: UUID) -> SQLiteViewStore:
        store = self._stores.get(tenant_id)
        if store is None:
            if tenant_id in self._erased:
                raise TenantErased(f"tenant {tenant_id} was erased")
            store = self._stores[tenant_id] = SQLiteViewStore(
                self.stores_dir / f"{tenant_store_name(tenant_id)}.views.sqlite3"
            )
        return store

    def source_for(self, tenant_id: UUID) -> SQLiteEventSource:
        if tenant_id in self._erased:
            raise TenantErased(f"tenant {tenant_id} was erased")
        return SQLiteEventSource(self._events_path(tenant_id), self.mappers(tenant_id))

    def behind(self, tenant_ids: Iterable[UUID]) -> list[UUID]:
        # Asking each file is as cheap as a catch-up that finds nothing to do.
        return list(tenant_ids)

    def _store_answering(self, tenant_id: UUID) -> SQLiteViewStore:
        """The tenant's views, once they answer: raises ViewsNotReady while they catch up from
        empty (its log has events, its views none yet), rather than answer nothing."""
        store = self.store_for(tenant_id)
        if tenant_id not in self._answering:
            if store.position():
                self._answering.add(tenant_id)
            elif _has_events(self._events_path(tenant_id)):
                raise ViewsNotReady(tenant_id)
        return store

    async def document(self, tenant_id: UUID, key: str) -> bytes | None:
        return await anyio.to_thread.run_sync(lambda: self._store_answering(tenant_id).document(key))

    async def documents(self, tenant_id: UUID, kind: str) -> list[bytes]:
        return await anyio.to_thread.run_sync(lambda: self._store_answering(tenant_id).documents(kind))

    async def position(self, tenant_id: UUID) -> int:
        return await anyio.to_thread.run_sync(lambda: self.store_for(tenant_id).position())

    async def audit(
        self, tenant_id: UUID, filters: AuditFilter, after: int | None, limit: int
    ) -> list[AuditRow]:
        return await anyio.to_thread.run_sync(
            lambda: self._store_answering(tenant_id).audit(filters, after, limit)
        )

    async def lineage(self, tenant_id: UUID, node_ids: list[str]) -> list[LineageNode]:
        return await anyio.to_thread.run_sync(lambda: self._store_answering(tenant_id).lineage(node_ids))

    async def lineage_ancestors(self, tenant_id: UUID, node_id: str, depth: int) -> list[tuple[str, str]]:
        return await anyio.to_thread.run_sync(
            lambda: self._store_answering(tenant_id).lineage_ancestors(node_id, depth)
        )

    async def lineage_descendants(self, tenant_id: UUID, node_id: str, depth: int) -> list[tuple[str, str]]:
        return await anyio.to_thread.run_sync(
            lambda: self._store_answering(tenant_id).lineage_descendants(node_id, depth)
        )

    def forget(self, tenant_id: UUID) -> None:
        self._erased.add(tenant_id)
        self._stores.pop(tenant_id, None)
        self._answering.discard(tenant_id)

    async def close(self) -> None:
        self._stores.clear()
