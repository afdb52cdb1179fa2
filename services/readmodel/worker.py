"""The `balkort projector` process: keeps every tenant's read models on PostgreSQL up to date.

Woken by the library's NOTIFY (one channel for all tenants, so a wake-up asks in one round trip
which tenants are actually behind), with a poll fallback in case a notification is lost, and a
LISTEN connection that is re-established with backoff when it dies. What it projects it
publishes on the live channels (docs/adr/0021): whoever projects a change is the only one who
knows it changed something. Exactly once is the
store's job: a commit is refused when another worker got there first (`PositionMoved`), and
the loser reads on from the new position. Several processes can share the load by tenant
partition (`--partition K/N`).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import FrameType
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import sql

from projections.postgres_behind import schemas_with_views, tenants_with_new_events
from projections.postgres_schema import CHANNEL
from projections.postgres_views import PostgresEventSource, PostgresViewBackend, PostgresViewStore
from projections.projector import PositionMoved, Recorded, catch_up
from projections.rebuild import OutdatedViews
from projections.runner import Anchor, anchor_when_due
from projections.stores import tenant_store_name
from services.bootstrap import build_container
from services.live import blocking_publisher
from services.mail.sender_thread import SenderThread
from services.observability.projector_health import Heartbeat, ProbeServer
from services.readmodel.anchors import anchor_head
from services.settings import Settings

logger = logging.getLogger("balkort.projector")

MAX_BACKOFF_SECONDS = 10.0
FIRST_BACKOFF_SECONDS = 0.2
LIST_REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class Partition:
    """This process's share of the tenants: those whose id modulo `count` is `index`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Partition:
        index, sep, count = text.partition("/")
        try:
            partition = cls(int(index), int(count))
        except ValueError:
            raise ValueError(f"partition must look like K/N, got {text!r}") from None
        if not sep or partition.count < 1 or not 0 <= partition.index < partition.count:
            raise ValueError(f"partition must be K/N with 0 <= K < N, got {text!r}")
        return partition

    def owns(self, tenant_id: UUID) -> bool:
        return tenant_id.int % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


class _Stoppable:
    """An event source that reads nothing once the process is stopping, so a long catch-up
    ends at a batch boundary (everything committed so far stays committed)."""

    def __init__(self, source: PostgresEventSource, stop: threading.Event) -> None:
        self.source = source
        self.stop = stop
        self.tenant_id = source.tenant_id  # the hash chain starts from the tenant's genesis

    def read(self, after: int, limit: int) -> list[Recorded]:
        return [] if self.stop.is_set() else self.source.read(after, limit)


class Listener(threading.Thread):
    """Holds a connection that LISTENs on the events channel and sets `wake` on every
    notification. When the connection dies it reconnects with exponential backoff, and wakes
    the projector once connected again (notifications sent meanwhile are lost)."""

    def __init__(self, dsn: str, wake: threading.Event, stop: threading.Event) -> None:
        super().__init__(name="balkort-projector-listen", daemon=True)
        self.dsn = dsn
        self.wake = wake
        self.stop = stop
        self.connects = 0

    def run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while not self.stop.is_set():
            try:
                with psycopg.connect(
                    self.dsn,
                    autocommit=True,
                    connect_timeout=5,
                    application_name="balkort-projector-listen",
                    keepalives=1,
                    keepalives_idle=30,
                    keepalives_interval=10,
                    keepalives_count=3,
                ) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    self.connects += 1
                    logger.info("listening on %s", CHANNEL)
                    backoff = FIRST_BACKOFF_SECONDS
                    self.wake.set()
                    while not self.stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self.wake.set()
            except psycopg.Error as error:
                if self.stop.is_set():
                    break
                logger.warning(
                    "LISTEN connection lost (%s); reconnecting in %.1fs", str(error).strip(), backoff
                )
                self.stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


class Projector:
    """Catches up the tenants that are behind, each time it is woken."""

    def __init__(
        self,
        backend: PostgresViewBackend,
        mappers: Callable[[UUID], Mapper[UUID]],
        tenants: Callable[[], Iterable[UUID]],
        *,
        partition: Partition | None = None,
        poll_seconds: float = 2.0,
        batch_size: int = 500,
        threads: int = 2,
        anchor: Anchor | None = None,
        anchor_seconds: float = 300.0,
        publish: Callable[[UUID, set[str]], None] | None = None,
        follow: Callable[[UUID], object] | None = None,
    ) -> None:
        self.backend = backend
        # Run after each tenant's views caught up: the outbox follows the same log.
        self.follow = follow
        self.mappers = mappers
        # Told, after each tenant's catch-up, which of its documents changed (never raises).
        self.publish = publish
        self.tenants = tenants
        self.partition = partition
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.threads = max(1, threads)
        self.stop = threading.Event()
        self.wake = threading.Event()
        self._ready: set[UUID] = set()
        self.anchor = anchor
        self.anchor_seconds = anchor_seconds
        self._anchored: dict[UUID, float] = {}
        self.outdated = OutdatedViews(backend, mappers, batch_size=batch_size)
        # What the loop last did, for the probe port (services/observability/projector_health.py).
        self.heartbeat = Heartbeat(partition=str(partition or "all"))

    def listed(self) -> list[UUID]:
        listed = list(self.tenants())
        if self.partition is not None:
            listed = [t for t in listed if self.partition.owns(t)]
        return listed

    def prepare(self, tenants: Iterable[UUID]) -> None:
        """Creates the view tables of tenants seen for the first time (one query to find them)."""
        new = [t for t in tenants if t not in self._ready]
        if not new:
            return
        with self.backend.open_pool().connection() as conn:
            have = set(schemas_with_views(conn, [tenant_store_name(t) for t in new]))
        for tenant_id in new:
            if tenant_store_name(tenant_id) not in have:
                self.backend.store_for(tenant_id)
            self._ready.add(tenant_id)

    def behind(self, tenants: list[UUID]) -> list[UUID]:
        if not tenants:
            return []
        with self.backend.open_pool().connection() as conn:
            return tenants_with_new_events(conn, tenants)

    def catch_up_tenant(self, tenant_id: UUID) -> int:
        """Blocking: bring one tenant's views to the end of its log (or until stopping)."""
        started = time.perf_counter()
        # Views of an earlier projection version are rebuilt and swapped in first.
        self.outdated.bring_current(tenant_id)
        store = self.backend.store_for(tenant_id)
        source = _Stoppable(self.backend.source_for(tenant_id), self.stop)
        mapper = self.mappers(tenant_id)
        applied = 0
        changed: set[str] = set()
        try:
            while True:
                try:
                    applied += catch_up(source, store, mapper, self.batch_size, changed)
                    break
                except PositionMoved:
                    # Another worker committed first; read on from where it got to.
                    continue
        finally:
            # What was committed is announced even when a later batch failed.
            if changed and self.publish is not None:
                self.publish(tenant_id, changed)
        self.anchor_head(tenant_id, store)
        if self.follow is not None and not self.stop.is_set():
            try:
                self.follow(tenant_id)
            except Exception:
                logger.warning("following tenant %s into the outbox failed", tenant_id, exc_info=True)
        elapsed = time.perf_counter() - started
        if applied:
            logger.info(
                "tenant %s: applied %d events in %.3fs (%.0f events/s)",
                tenant_id,
                applied,
                elapsed,
                applied / elapsed if elapsed > 0 else 0.0,
            )
        return applied

    def anchor_head(self, tenant_id: UUID, store: PostgresViewStore) -> None:
        """Anchors the tenant's chain head, at most once per `anchor_seconds`."""
        anchor_when_due(self.anchor, self.anchor_seconds, self._anchored, tenant_id, store)

    def pass_once(self, tenants: list[UUID], executor: ThreadPoolExecutor | None = None) -> int:
        """One wake-up: which tenants are behind (one query), then catch each of them up."""
        self.prepare(tenants)
        due = self.behind(tenants)
        self.heartbeat.behind = len(due)
        if executor is None or len(due) < 2:
            return sum(self.catch_up_tenant(t) for t in due if not self.stop.is_set())
        return sum(executor.map(self.catch_up_tenant, due))

    def request_stop(self) -> None:
        self.stop.set()
        self.wake.set()

    def run(self, dsn: str) -> None:
        """Run until `request_stop` (or SIGTERM/SIGINT through `run_projector`)."""
        listener = Listener(dsn, self.wake, self.stop)
        listener.start()
        refresh = min(self.poll_seconds, LIST_REFRESH_SECONDS)
        listed_at = float("-inf")
        owed = False  # a wake-up came while the tenant list was fresh; re-read it soon
        tenants: list[UUID] = []
        self.wake.set()
        with ThreadPoolExecutor(self.threads, thread_name_prefix="balkort-projector") as executor:
            while not self.stop.is_set():
                timeout = max(0.0, listed_at + refresh - time.monotonic()) if owed else self.poll_seconds
                notified = self.wake.wait(timeout)
                # Cleared before asking: a notification arriving from here on wakes the next
                # round, and whatever committed before the query is seen by it.
                self.wake.clear()
                if self.stop.is_set():
                    break
                try:
                    now = time.monotonic()
                    # The tenant list is re-read on every poll, and on a wake-up at most once
                    # per `refresh` (a new tenant's first events wake us before it is listed).
                    if not notified or now - listed_at >= refresh:
                        tenants = self.listed()
                        listed_at = now
                        owed = False
                    else:
                        owed = True
                    self.pass_once(tenants, executor)
                    self.heartbeat.passed(len(tenants), self.heartbeat.behind)
                except Exception as error:
                    self.heartbeat.failed(error)
                    logger.exception("projector pass failed; retrying in %.1fs", self.poll_seconds)
                    self.stop.wait(self.poll_seconds)
        listener.join(timeout=5)


def run_projector(settings: Settings, partition: Partition | None = None) -> None:
    """The projector process's main: runs until SIGTERM or SIGINT. Needs PostgreSQL."""
    if not settings.uses_postgres:
        raise RuntimeError(
            "the projector process keeps PostgreSQL read models; the embedded SQLite default "
            "projects inside the serving process"
        )
    container = build_container(settings)
    backend = container.views
    if not isinstance(backend, PostgresViewBackend):  # pragma: no cover - build_container picks it
        raise RuntimeError("expected the PostgreSQL view backend")
    control = container.control
    publisher = blocking_publisher(settings)
    if publisher is None:
        logger.warning("no REDIS_URL: live boards will not hear of what this worker projects")
    projector = Projector(
        backend,
        container.projections.mappers,
        lambda: [t.id for t in control.tenants()],
        partition=partition,
        poll_seconds=settings.projector_poll_seconds,
        threads=max(1, settings.projector_pool_size - 1),
        anchor=lambda tenant_id, position, digest: anchor_head(control, tenant_id, position, digest),
        anchor_seconds=settings.chain_anchor_seconds,
        publish=None if publisher is None else publisher.publish_changes,
        follow=container.outbox.follow_tenant,
    )
    # The outbox's sender beside the projector, on an event loop of its own (docs/adr/0030).
    sending = SenderThread(container.mail, lambda: container.outbox.follow_all(projector.listed()))

    def stop(signum: int, frame: FrameType | None) -> None:
        logger.info("stopping on %s", signal.Signals(signum).name)
        projector.request_stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    logger.info(
        "projector started (partition %s, poll %.1fs, pool %d)",
        partition or "all",
        settings.projector_poll_seconds,
        settings.projector_pool_size,
    )
    probes = None
    if settings.projector_health_port is not None:
        probes = ProbeServer(
            projector.heartbeat, settings.projector_health_port, settings.projector_stale_seconds
        )
        probes.start()
        logger.info("answering /healthz and /readyz on port %d", probes.port)
    sending.start()
    try:
        projector.run(settings.postgres.dsn)
    finally:
        sending.stop()
        if probes is not None:
            probes.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        backend.close_blocking()
        if publisher is not None:
            publisher.close()
        container.outbox.close()
        container.tenants.close()
        control.close()
        logger.info("projector stopped")
