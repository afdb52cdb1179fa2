"""The composition root: builds everything a Balkort process uses from one Settings object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import psycopg
import redis.asyncio as aioredis
from psycopg import sql

from domain.errors import AlreadyExists
from domain.provenance import Provenance
from projections.backends import Mappers, SQLiteViewBackend, ViewBackend
from projections.runner import ProjectionRunner
from projections.verify import anchor_head
from services.application import TenantApplication
from services.auth.join_codes import code_key
from services.auth.jwt import jwt_secret
from services.controlplane import ControlPlane
from services.http.idempotency import IdempotencyKeys, idempotency_keys_for
from services.offloop import OffLoop
from services.persistence.env import CONTROL_STORE, application_env
from services.persistence.keys import TenantKeys
from services.persistence.mappers import TenantMappers
from services.settings import Settings
from services.tenancy import TenantStores

# Short, so that a Redis outage turns into a quick 503 instead of a hung request.
REDIS_CONNECT_TIMEOUT_SECONDS = 1.0
REDIS_SOCKET_TIMEOUT_SECONDS = 2.0


@dataclass
class Container:
    """Everything long-lived a process holds; closed once, at shutdown."""

    settings: Settings
    offloop: OffLoop
    control: ControlPlane
    tenants: TenantStores[TenantApplication]
    idempotency: IdempotencyKeys
    redis: aioredis.Redis | None
    views: ViewBackend
    projections: ProjectionRunner
    keys: TenantKeys
    mappers: TenantMappers
    # Keys join codes' digests (services/auth/join_codes.py).
    join_code_key: bytes
    # What join codes are checked against; tests move it to see codes expire.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    closed: bool = False

    def onboard_tenant(self, name: str, slug: str, provenance: Provenance) -> UUID:
        """Onboard a client organisation: its own event store first (creating it can be
        repeated safely), then its record on the platform. Blocking; raises AlreadyExists."""
        tenant_id = self.control.tenant_id_for(slug)
        if self.control.slug_taken(slug):
            raise AlreadyExists(f"slug {slug!r} is taken", state=f"tenant {tenant_id}")
        if self.control.erased(tenant_id):
            raise AlreadyExists(f"slug {slug!r} belonged to an erased tenant", state=f"tenant {tenant_id}")
        self.tenants.onboard(tenant_id)
        return self.control.onboard_tenant(name, slug, provenance)

    def erase_tenant(self, slug: str, provenance: Provenance) -> UUID:
        """Crypto-shreds a client organisation: its key deleted, its event store and read
        models dropped, an erasure record left in the control plane. Blocking; raises
        NotFound for a slug that names no tenant (or one erased already)."""
        tenant_id = self.control.tenant_id_for(slug)
        if self.control.erased(tenant_id):
            # A run that stopped half-way: finish it.
            self.finish_erasure(tenant_id)
            return tenant_id
        # The record first: from here on the tenant is gone for the platform (404), and a
        # failure below leaves a tenant that a second run finishes erasing.
        self.control.erase_tenant(tenant_id, provenance)
        self.finish_erasure(tenant_id)
        return tenant_id

    def finish_erasure(self, tenant_id: UUID) -> None:
        """The destructive part of an erasure (idempotent): key, store and views."""
        self.keys.delete(tenant_id)
        self.mappers.forget(tenant_id)
        self.views.forget(tenant_id)
        self.tenants.erase(tenant_id)

    async def close(self) -> None:
        """Closes stores and connections; waits for tenant leases in flight to end. Idempotent."""
        if self.closed:
            return
        self.closed = True
        await self.views.close()
        await self.idempotency.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.offloop(self.tenants.close)
        await self.offloop(self.control.close)


def redis_client(settings: Settings) -> aioredis.Redis | None:
    """The asyncio Redis client for `settings.redis_url` (created unconnected), or None."""
    if not settings.redis_url:
        return None
    return aioredis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
        socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
    )


def build_container(settings: Settings) -> Container:
    """Builds the container for `settings`. Blocking (opens the control plane's store)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    redis = redis_client(settings)
    env = application_env(settings, CONTROL_STORE)
    if settings.uses_postgres:
        _ensure_schema(settings, CONTROL_STORE)
    control = ControlPlane(env)
    keys = TenantKeys(settings)
    mappers = TenantMappers(keys.get)
    views = view_backend(settings, mappers)
    return Container(
        settings=settings,
        offloop=OffLoop(settings.worker_threads),
        control=control,
        tenants=TenantStores(settings, TenantApplication, keys),
        idempotency=idempotency_keys_for(settings, redis),
        redis=redis,
        views=views,
        projections=ProjectionRunner(
            views,
            mappers,
            lambda: [t.id for t in control.tenants()],
            anchor=lambda tenant_id, position, digest: anchor_head(control, tenant_id, position, digest),
            anchor_seconds=settings.chain_anchor_seconds,
            poll_seconds=settings.projector_poll_seconds,
        ),
        join_code_key=code_key(jwt_secret(settings)),
        keys=keys,
        mappers=mappers,
    )


def view_backend(settings: Settings, mappers: Mappers) -> ViewBackend:
    """Read models beside the event stores: a SQLite file per tenant, or the tenant's schema."""
    if settings.uses_postgres:
        from projections.postgres_views import PostgresViewBackend

        return PostgresViewBackend(settings, mappers)
    return SQLiteViewBackend(settings.data_dir / "stores", mappers)


def _ensure_schema(settings: Settings, schema: str) -> None:
    # POSTGRES_SCHEMA qualifies every statement but the library does not create the schema.
    with psycopg.connect(settings.postgres.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
