"""An event store per tenant, with a bounded number of them open at once.

PostgreSQL: one schema per tenant (``tenant_<hex>``), created at onboarding. SQLite: one
file per tenant. Each open tenant is an eventsourcing ``Application``; at most
``settings.open_tenants`` are open at once, and the least recently used idle one is closed
to make room, so a dormant tenant costs no memory and no thread. On PostgreSQL every store
borrows its connections from one pool (services/persistence/shared_pool.py), which stays
open while stores come and go, so opening a store opens no connection and the bound does not
grow with the number of open or active tenants:

    tenant store connections <= tenant_connections

Use ``lease`` (or ``call``) around every use of a tenant's application: a leased
application is never closed under the caller.

Erased means gone for every process at once: each lease, and ``exists``, asks the control
plane whether the tenant was erased (by this process or any other) and raises ``Erased``
(410) if so, closing the store this process still had open; a lease whose tenant was erased
while it ran raises too, so what it wrote into the erased store is never acknowledged.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, ParamSpec, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.postgres import PostgresFactory
from psycopg import sql

from domain.errors import Erased
from services.auth.secret_keys import SecretKeys
from services.migrations import migrate_tenant
from services.observability.metrics import LEASE_TIMEOUTS, LEASE_WAIT_SECONDS
from services.persistence.base import BalkortApplication
from services.persistence.binding import LEGACY_UNTIL
from services.persistence.env import (
    EARLIER_PSEUDONYM_KEYS,
    PSEUDONYM_KEY,
    SNAPSHOT_INTERVAL,
    application_env,
    tenant_store_name,
)
from services.persistence.keys import TenantKeys
from services.persistence.mappers import cipher_env
from services.persistence.shared_pool import SharedTenantPool, lending
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
        erased: Callable[[UUID], bool] | None = None,
    ) -> None:
        if settings.open_tenants < 1:
            raise ValueError("open_tenants must be at least 1")
        self._settings = settings
        self._factory = factory
        # With keys, each tenant's event payloads are encrypted under the tenant's own key.
        self._keys = keys
        # The control plane's erased flag: shared by every process, unlike `_known`.
        self._erased = erased
        self._cond = threading.Condition()
        # Least recently used first. A slot counts against the bound from the moment it is
        # reserved until its application is closed.
        self._slots: OrderedDict[UUID, _Slot[A]] = OrderedDict()
        self._known: set[UUID] = set()
        self._closed = False
        # Every tenant store's connections, and the statements below that name a schema.
        self._pool = SharedTenantPool(settings) if settings.uses_postgres else None
        # Each tenant's cipher environment (its key and legacy watermark), read from the control
        # plane once rather than at every opening of its store: two round trips, each on a new
        # connection, per opening otherwise. Dropped when the tenant is erased.
        self._ciphers: dict[UUID, dict[str, str]] = {}

    # -- tenants ---------------------------------------------------------------------

    def onboard(self, tenant_id: UUID) -> None:
        """Create the tenant's event store (idempotent; also creates tables added since),
        and its encryption key (kept if it has one). On PostgreSQL: the tenant's migrations
        (services/migrations.py)."""
        if self._keys is not None:
            self._keys.create(tenant_id)
        if self._settings.uses_postgres:
            # The schema, its tables and its read models, at this release's tenant version.
            migrate_tenant(self._settings, tenant_id)
        else:
            app = self._factory(self._env(tenant_id, create_tables=True))
            app.close()
        with self._cond:
            self._known.add(tenant_id)

    def exists(self, tenant_id: UUID) -> bool:
        """True when the tenant's event store exists; raises ``Erased`` for an erased tenant."""
        self.check_not_erased(tenant_id)
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

    def check_not_erased(self, tenant_id: UUID) -> None:
        """Raises ``Erased`` when the control plane says the tenant was erased (by any
        process), after closing this process's store of it once no lease holds it."""
        if self._erased is None or not self._erased(tenant_id):
            return
        with self._cond:
            self._known.discard(tenant_id)
            self._ciphers.pop(tenant_id, None)
            slot = self._slots.get(tenant_id)
            if slot is not None and slot.leases == 0 and slot.ready.is_set():
                del self._slots[tenant_id]
                self._cond.notify_all()
            else:
                slot = None  # a lease still holds it: the last one out closes it next time
        if slot is not None and slot.app is not None:
            slot.app.close()
        raise Erased("client_organisation_erased", tenant=str(tenant_id))

    def erase(self, tenant_id: UUID) -> None:
        """Closes the tenant's store and deletes it: the PostgreSQL schema (events and the
        read models beside them) or the SQLite files. Waits for leases in flight to end."""
        with self._cond:
            self._known.discard(tenant_id)
            self._ciphers.pop(tenant_id, None)
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

        Raises ``UnknownTenant`` for a tenant that was not onboarded, ``Erased`` for one
        that was erased (also when that happened while the lease ran: what was written went
        with the store, so it must not be acknowledged), and ``TenantStoresBusy`` when no
        slot frees up within ``tenant_lease_timeout``.
        """
        self.check_not_erased(tenant_id)
        slot = self._acquire(tenant_id)
        try:
            if slot.app is None:  # pragma: no cover - _acquire raises instead
                raise RuntimeError("tenant store slot has no application")
            yield slot.app
        finally:
            self._release(slot)
        self.check_not_erased(tenant_id)

    def call(self, tenant_id: UUID, fn: Callable[[A], T]) -> T:
        """``fn(app)`` under a lease: handy to pass to a thread pool in one piece."""
        with self.lease(tenant_id) as app:
            return fn(app)

    @property
    def open_count(self) -> int:
        with self._cond:
            return sum(1 for s in self._slots.values() if s.app is not None)

    def open_tenants(self) -> list[UUID]:
        """The tenants whose stores are open now (at most `open_tenants` of them)."""
        with self._cond:
            return [s.tenant_id for s in self._slots.values() if s.app is not None]

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
        if self._pool is not None:
            self._pool.close()

    # -- internals -------------------------------------------------------------------

    def _acquire(self, tenant_id: UUID) -> _Slot[A]:
        timeout = self._settings.tenant_lease_timeout
        deadline = time.monotonic() + timeout
        evicted: _Slot[A] | None = None
        waited_since: float | None = None  # for metrics: when every slot was found in use
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
                        if waited_since is None:
                            waited_since = time.monotonic()
                        # Woken by any release: wait out what is left, not the whole timeout again.
                        if not self._cond.wait(max(0.0, deadline - time.monotonic())):
                            LEASE_TIMEOUTS.inc()
                            raise TenantStoresBusy(
                                f"all {self._settings.open_tenants} tenant stores stayed in use for {timeout}s"
                            )
                        continue
                    del self._slots[evicted.tenant_id]
                slot = self._slots[tenant_id] = _Slot(tenant_id=tenant_id, leases=1)
                opener = True
                break
        if waited_since is not None:
            LEASE_WAIT_SECONDS.observe(time.monotonic() - waited_since)
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
            with lending(self._pool):
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
        # Tables are created at onboarding (on PostgreSQL by the tenant's migrations); opening
        # a tenant then costs no DDL round trips.
        env[PostgresFactory.CREATE_TABLE] = "y" if create_tables and not self._settings.uses_postgres else "n"
        if self._keys is not None:
            env.update(self._cipher_env(self._keys, tenant_id))
        env[SNAPSHOT_INTERVAL] = str(self._settings.snapshot_interval)
        # Pseudonyms of individual raters: a key per tenant, derived from the platform secret,
        # and the earlier ones that raters who rated under them keep (services/auth/secret_keys.py).
        secret_keys = SecretKeys.load(self._settings)
        env[PSEUDONYM_KEY] = secret_keys.pseudonyms(store)
        env[EARLIER_PSEUDONYM_KEYS] = ",".join(secret_keys.earlier_pseudonyms(store))
        return env

    def _cipher_env(self, keys: TenantKeys, tenant_id: UUID) -> dict[str, str]:
        with self._cond:
            cached = self._ciphers.get(tenant_id)
        if cached is not None:
            return cached
        key = keys.get(tenant_id)
        found = {**cipher_env(key), LEGACY_UNTIL: str(keys.legacy_until(tenant_id))}
        if key is not None:  # a tenant without a key yet gets one at onboarding: ask again then
            with self._cond:
                self._ciphers[tenant_id] = found
        return found

    def _sqlite_path(self, tenant_id: UUID) -> Path:
        return Path(application_env(self._settings, tenant_store_name(tenant_id))["SQLITE_DBNAME"])

    @contextmanager
    def _admin_connection(self) -> Iterator[psycopg.Connection[Any]]:
        # From the stores' pool: a connection of its own per statement would be churn.
        if self._pool is None:  # pragma: no cover - only called on PostgreSQL
            raise RuntimeError("no PostgreSQL pool on the embedded default")
        with self._pool.connection() as conn:
            yield conn
