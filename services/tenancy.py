"""An event store per tenant, with a bounded number of them open at once.

PostgreSQL: one schema per tenant (``tenant_<hex>``), created at onboarding. SQLite: one
file per tenant. Each open tenant is an eventsourcing ``Application`` with its own small
connection pool; at most ``settings.open_tenants`` are open at once. The least recently
used idle one is closed (its pool and pool threads with it) to make room, so a dormant
tenant costs no connection and no thread:

    server connections <= open_tenants * (tenant_pool_size + tenant_pool_overflow) + control plane

Use ``lease`` (or ``call``) around every use of a tenant's application: a leased
application is never closed under the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, ParamSpec, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.postgres import PostgresFactory
from psycopg import sql

from services.auth.jwt import jwt_secret
from services.persistence.base import BalkortApplication
from services.persistence.env import PSEUDONYM_KEY, SNAPSHOT_INTERVAL, application_env, tenant_store_name
from services.persistence.keys import TenantKeys
from services.persistence.mappers import cipher_env
from services.settings import Settings

A = TypeVar("A", bound=BalkortApplication)
P = ParamSpec("P")
T = TypeVar("T")

__all__ = ["TenantStores", "TenantStoresBusy", "TenantStoresClosed", "UnknownTenant"]


class UnknownTenant(LookupError):
    """The tenant was never onboarded (its event store does not exist)."""

    def __init__(self, tenant_id: UUID) -> None:
        super().__init__(f"unknown tenant {tenant_id}")
        self.tenant_id = tenant_id


class TenantStoresBusy(RuntimeError):
    """Every open slot stayed leased for longer than the lease timeout."""


class TenantStoresClosed(RuntimeError):
    """The stores were closed (process shutting down)."""


@dataclass(eq=False)
class _Slot(Generic[A]):
    tenant_id: UUID
    leases: int = 0
    app: A | None = None
    error: BaseException | None = None
    ready: threading.Event = field(default_factory=threading.Event)


class TenantStores(Generic[A]):
    """Opens tenants' applications on demand and keeps at most ``open_tenants`` of them open."""

    def __init__(
        self,
        settings: Settings,
        factory: Callable[[dict[str, str]], A],
        keys: TenantKeys | None = None,
    ) -> None:
        if settings.open_tenants < 1:
            raise ValueError("open_tenants must be at least 1")
        self._settings = settings
        self._factory = factory
        # With keys, each tenant's event payloads are encrypted under the tenant's own key.
        self._keys = keys
        self._cond = threading.Condition()
        # Least recently used first. A slot counts against the bound from the moment it is
        # reserved until its application is closed.
        self._slots: OrderedDict[UUID, _Slot[A]] = OrderedDict()
        self._known: set[UUID] = set()
        self._closed = False

    # -- tenants ---------------------------------------------------------------------

    def onboard(self, tenant_id: UUID) -> None:
        """Create the tenant's event store (idempotent; also creates tables added since),
        and its encryption key (kept if it has one)."""
        if self._keys is not None:
            self._keys.create(tenant_id)
        if self._settings.uses_postgres:
            with self._admin_connection() as conn:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        sql.Identifier(tenant_store_name(tenant_id))
                    )
                )
        app = self._factory(self._env(tenant_id, create_tables=True))
        app.close()
        with self._cond:
            self._known.add(tenant_id)

    def exists(self, tenant_id: UUID) -> bool:
        with self._cond:
            if tenant_id in self._known:
                return True
        if self._settings.uses_postgres:
            with self._admin_connection() as conn:
                row = conn.execute(
                    "SELECT 1 FROM pg_namespace WHERE nspname = %s", (tenant_store_name(tenant_id),)
                ).fetchone()
            found = row is not None
        else:
            found = self._sqlite_path(tenant_id).exists()
        if found:
            with self._cond:
                self._known.add(tenant_id)
        return found

    def erase(self, tenant_id: UUID) -> None:
        """Closes the tenant's store and deletes it: the PostgreSQL schema (events and the
        read models beside them) or the SQLite files. Waits for leases in flight to end."""
        with self._cond:
            self._known.discard(tenant_id)
            while (slot := self._slots.get(tenant_id)) is not None and slot.leases:
                self._cond.wait()
            slot = self._slots.pop(tenant_id, None)
        if slot is not None and slot.app is not None:
            slot.app.close()
        if self._settings.uses_postgres:
            with self._admin_connection() as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(tenant_store_name(tenant_id))
                    )
                )
            return
        stores = self._sqlite_path(tenant_id).parent
        for path in stores.glob(f"{tenant_store_name(tenant_id)}.*"):
            path.unlink(missing_ok=True)

    # -- use -------------------------------------------------------------------------

    @contextmanager
    def lease(self, tenant_id: UUID) -> Iterator[A]:
        """The tenant's open application, opened on demand; not closed while leased.

        Raises ``UnknownTenant`` for a tenant that was not onboarded, and
        ``TenantStoresBusy`` when no slot frees up within ``tenant_lease_timeout``.
        """
        slot = self._acquire(tenant_id)
        try:
            if slot.app is None:  # pragma: no cover - _acquire raises instead
                raise RuntimeError("tenant store slot has no application")
            yield slot.app
        finally:
            self._release(slot)

    def call(self, tenant_id: UUID, fn: Callable[[A], T]) -> T:
        """``fn(app)`` under a lease: handy to pass to a thread pool in one piece."""
        with self.lease(tenant_id) as app:
            return fn(app)

    @property
    def open_count(self) -> int:
        with self._cond:
            return sum(1 for s in self._slots.values() if s.app is not None)

    def close(self) -> None:
        """Close every open application (waits for leases to end). Further leases raise."""
        with self._cond:
            self._closed = True
            while any(s.leases for s in self._slots.values()):
                self._cond.wait()
            slots = list(self._slots.values())
            self._slots.clear()
            self._cond.notify_all()
        for slot in slots:
            if slot.app is not None:
                slot.app.close()

    # -- internals -------------------------------------------------------------------

    def _acquire(self, tenant_id: UUID) -> _Slot[A]:
        timeout = self._settings.tenant_lease_timeout
        deadline = time.monotonic() + timeout
        evicted: _Slot[A] | None = None
        with self._cond:
            while True:
                if self._closed:
                    raise TenantStoresClosed("tenant stores are closed")
                slot = self._slots.get(tenant_id)
                if slot is not None:
                    slot.leases += 1
                    self._slots.move_to_end(tenant_id)
                    opener = False
                    break
                if len(self._slots) >= self._settings.open_tenants:
                    evicted = self._pick_victim()
                    if evicted is None:
                        # Woken by any release: wait out what is left, not the whole timeout again.
                        if not self._cond.wait(max(0.0, deadline - time.monotonic())):
                            raise TenantStoresBusy(
                                f"all {self._settings.open_tenants} tenant stores stayed in use for {timeout}s"
                            )
                        continue
                    del self._slots[evicted.tenant_id]
                slot = self._slots[tenant_id] = _Slot(tenant_id=tenant_id, leases=1)
                opener = True
                break
        if opener:
            # The evicted store closes before this one opens: the bound holds for connections too.
            if evicted is not None and evicted.app is not None:
                evicted.app.close()
            self._open(slot)
        else:
            slot.ready.wait()
        if slot.error is not None:
            self._release(slot)
            raise slot.error
        return slot

    def _pick_victim(self) -> _Slot[A] | None:
        for slot in self._slots.values():
            if slot.leases == 0 and slot.ready.is_set():
                return slot
        return None

    def _open(self, slot: _Slot[A]) -> None:
        try:
            if not self.exists(slot.tenant_id):
                raise UnknownTenant(slot.tenant_id)
            slot.app = self._factory(self._env(slot.tenant_id, create_tables=False))
        except BaseException as e:
            slot.error = e
            with self._cond:
                if self._slots.get(slot.tenant_id) is slot:
                    del self._slots[slot.tenant_id]
                self._cond.notify_all()
        finally:
            slot.ready.set()

    def _release(self, slot: _Slot[A]) -> None:
        with self._cond:
            slot.leases -= 1
            if slot.leases == 0:
                self._cond.notify_all()

    def _env(self, tenant_id: UUID, *, create_tables: bool) -> dict[str, str]:
        store = tenant_store_name(tenant_id)
        env = application_env(self._settings, store)
        # Tables are created at onboarding; opening a tenant then costs no DDL round trips.
        env[PostgresFactory.CREATE_TABLE] = "y" if create_tables else "n"
        if self._keys is not None:
            env.update(cipher_env(self._keys.get(tenant_id)))
        env[SNAPSHOT_INTERVAL] = str(self._settings.snapshot_interval)
        # Pseudonyms of individual raters: a key per tenant, derived from the platform secret.
        secret = jwt_secret(self._settings).encode()
        env[PSEUDONYM_KEY] = hmac.new(secret, f"pseudonyms:{store}".encode(), hashlib.sha256).hexdigest()
        return env

    def _sqlite_path(self, tenant_id: UUID) -> Path:
        return Path(application_env(self._settings, tenant_store_name(tenant_id))["SQLITE_DBNAME"])

    def _admin_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        # Short-lived on purpose: a held connection would cost one more server connection.
        return psycopg.connect(self._settings.postgres.dsn, autocommit=True)
