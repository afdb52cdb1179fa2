"""The composition root: builds everything a Balkort process uses from one Settings object."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis.asyncio as aioredis
from eventsourcing.postgres import PostgresFactory
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from projections.backends import Mappers, SQLiteViewBackend, ViewBackend
from projections.runner import ProjectionRunner
from services.application import TenantApplication
from services.auth.revocation import Revocations
from services.auth.secret_keys import SecretKeys
from services.controlplane import ControlPlane
from services.mail.outbox import Outbox, outbox_store
from services.mail.preferences import settings_in
from services.mail.sender import Sender
from services.mail.transport import outbox_directory, transport_for
from services.mail.unsubscribe import unsubscribe_key
from services.migrations import check_schema
from services.offloop import OffLoop
from services.persistence.env import CONTROL_STORE, application_env, private_files
from services.persistence.keys import TenantKeys
from services.persistence.mappers import TenantMappers
from services.readmodel.anchors import anchor_head
from services.report_pdf import ReportRenderer
from services.settings import Settings
from services.stores.attempts import Attempts, attempts_for
from services.stores.idempotency import IdempotencyKeys, idempotency_keys_for
from services.tenancy import TenantStores

# Short, so that a Redis outage turns into a quick 503 instead of a hung request.
REDIS_CONNECT_TIMEOUT_SECONDS = 1.0
REDIS_SOCKET_TIMEOUT_SECONDS = 2.0
REPORT_CACHE_NAMESPACE = "balkort:report-pdf"


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
    # Renders the follow-up report's PDF in worker processes and keeps what it rendered.
    reports: ReportRenderer
    # Keys join codes' digests (services/auth/join_codes.py); codes issued under the earlier
    # keys are looked up under those.
    join_code_key: bytes
    earlier_join_code_keys: tuple[bytes, ...]
    # Derive personal codes (services/auth/personal_codes.py), the current key first.
    personal_code_keys: tuple[bytes, ...]
    # Keys the one-time links of invitations and forgotten passwords (services/auth/links.py).
    link_key: bytes
    # Sign-in and join-code attempts, and tokens signed out before they expire.
    attempts: Attempts
    revocations: Revocations
    # What events decide must be sent, and what sends it (docs/adr/0030).
    outbox: Outbox
    mail: Sender
    # What join codes are checked against; tests move it to see codes expire.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    closed: bool = False

    async def close(self) -> None:
        """Closes stores and connections; waits for tenant leases in flight to end. Idempotent."""
        if self.closed:
            return
        self.closed = True
        await self.reports.close()
        await self.views.close()
        await self.idempotency.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.offloop(self.outbox.close)
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
    """Builds the container for `settings`. Blocking (opens the control plane's store). Raises
    SettingsError, before touching any store, when a secret is missing (on PostgreSQL) or weak, and
    SchemaBehind when the database's schema is older than this release (`balkort migrate`)."""
    # First, so that every file made from here on (secrets, stores, journals) is private.
    private_files(settings)
    secret_keys = SecretKeys.load(settings)
    # Tables are `balkort migrate`'s to make (services/migrations.py); a process of this release
    # refuses a database whose schema is older.
    check_schema(settings)
    redis = redis_client(settings)
    env = application_env(settings, CONTROL_STORE)
    if settings.uses_postgres:
        env[PostgresFactory.CREATE_TABLE] = "n"
    control = ControlPlane(env)
    keys = TenantKeys(settings)
    mappers = TenantMappers(keys.get, keys.legacy_until)
    views = view_backend(settings, mappers)
    outbox = Outbox(outbox_store(settings), control, views, outbox_directory(settings))
    container = Container(
        settings=settings,
        offloop=OffLoop(settings.worker_threads),
        control=control,
        # Every lease asks the control plane whether the tenant was erased, by any process.
        tenants=TenantStores(settings, TenantApplication, keys, erased=control.erased),
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
            # Who projects what in this process (docs/adr/0021).
            scope=settings.in_process_projection,
            follow=outbox.follow_tenant,
        ),
        join_code_key=secret_keys.join_codes,
        earlier_join_code_keys=secret_keys.earlier_join_codes,
        personal_code_keys=(secret_keys.personal_codes, *secret_keys.earlier_personal_codes),
        link_key=secret_keys.links,
        attempts=attempts_for(settings, redis),
        revocations=Revocations(redis, settings.rate_limit_namespace),
        keys=keys,
        mappers=mappers,
        reports=report_renderer(settings, redis),
        outbox=outbox,
        mail=Sender(
            outbox.store,
            transport_for(settings),
            settings,
            clock=lambda: container.clock(),
            erased=control.erased,
            # Who receives what and who turned what off, as the organisation's store says now.
            settings_of=lambda tenant_id: container.tenants.call(
                tenant_id, lambda app: settings_in(app, tenant_id)
            ),
            unsubscribe_key=unsubscribe_key(secret_keys),
            link_key=secret_keys.links,
        ),
    )
    return container


@contextmanager
def container_for(settings: Settings) -> Iterator[Container]:
    """A container for a blocking process (a command of the CLI, the projector worker): built,
    handed out, and its stores closed on the way out."""
    container = build_container(settings)
    try:
        yield container
    finally:
        close_views = getattr(container.views, "close_blocking", None)
        if close_views is not None:
            close_views()
        container.outbox.close()
        container.tenants.close()
        container.control.close()


def report_renderer(settings: Settings, redis: aioredis.Redis | None) -> ReportRenderer:
    """The PDF renderer; rendered reports kept in Redis when there is one (shared by every API
    process), else in this process's memory. Workers start on the first PDF."""
    cache: Store = (
        MemoryStore()
        if redis is None
        else RedisStore(redis, namespace=REPORT_CACHE_NAMESPACE, handle_client_shutdown=False)
    )
    return ReportRenderer(
        workers=settings.report_workers,
        queue=settings.report_queue,
        cache=cache,
        cache_seconds=settings.report_cache_seconds,
    )


def view_backend(settings: Settings, mappers: Mappers) -> ViewBackend:
    """Read models beside the event stores: a SQLite file per tenant, or the tenant's schema."""
    if settings.uses_postgres:
        from projections.postgres_views import PostgresViewBackend

        return PostgresViewBackend(
            settings.postgres.dsn,
            mappers,
            pool_size=settings.projector_pool_size,
            query_pool_size=settings.view_query_pool_size,
        )
    return SQLiteViewBackend(settings.data_dir / "stores", mappers)
