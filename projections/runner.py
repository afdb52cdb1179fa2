"""Keeps tenants' read models up to date from inside a process: catch-up runs off the event
loop, one tenant at a time per worker, woken by commands of this process and, in scope "all",
by a slow poll (writes made by other processes). Exactly once is the store's job: a commit is
refused when another runner got there first, and the loser simply reads on from the new
position. Who projects what, and who publishes: docs/adr/0021."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal
from uuid import UUID

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from projections.backends import Mappers, ViewBackend
from projections.projector import PositionMoved, ViewStore, catch_up
from projections.rebuild import OutdatedViews

logger = logging.getLogger("balkort.projections")

# Told, after a catch-up, which documents of which tenant changed.
Published = Callable[[UUID, set[str]], Awaitable[None]]
# Anchors a tenant's hash-chain head (position, digest) outside its store.
Anchor = Callable[[UUID, int, bytes], object]
SETTLE_SECONDS = 5.0
# While a reader waits for projector workers (scope "none"), how often it asks whether they
# have caught up.
SETTLE_POLL_SECONDS = 0.05
# What a process projects itself: "all" (what it writes at once, everyone else's writes by a
# poll), "written" (only what it writes; projector workers do the rest) or "none" (workers do
# everything, and read-your-writes waits for them).
Scope = Literal["all", "written", "none"]


def anchor_when_due(
    anchor: Anchor | None, every: float, anchored: dict[UUID, float], tenant_id: UUID, store: ViewStore
) -> None:
    """Anchors the tenant's chain head, at most once per `every` seconds (`anchored` remembers
    when each tenant was last anchored). A failure is logged: anchoring is retried next time."""
    now = time.monotonic()
    if anchor is None or now - anchored.get(tenant_id, -every) < every:
        return
    head = store.last_digest()
    if head is not None:
        try:
            anchor(tenant_id, head.position, head.digest)
        except Exception:
            logger.warning("anchoring the chain head of tenant %s failed", tenant_id, exc_info=True)
        anchored[tenant_id] = now


COALESCE_SECONDS = 0.03
MAX_COALESCE_SECONDS = 0.5


class ProjectionRunner:
    def __init__(
        self,
        backend: ViewBackend,
        mappers: Mappers,
        tenants: Callable[[], Iterable[UUID]],
        *,
        poll_seconds: float = 2.0,
        batch_size: int = 500,
        on_caught_up: Published | None = None,
        anchor: Anchor | None = None,
        anchor_seconds: float = 300.0,
        scope: Scope = "all",
        follow: Callable[[UUID], object] | None = None,
    ) -> None:
        self.backend = backend
        # Run after each tenant's views caught up (the outbox follows the same log).
        self.follow = follow
        self.scope = scope
        # Each tenant's events decode (and decrypt) with that tenant's own mapper.
        self.mappers = mappers
        self.tenants = tenants
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.on_caught_up = on_caught_up
        self._dirty: set[UUID] = set()
        self._wake = anyio.Event()
        # Per tenant: how many wake-ups commands asked for, and how many a finished catch-up
        # has covered (a catch-up covers every request made before it began).
        self._requested: dict[UUID, int] = {}
        self._covered: dict[UUID, int] = {}
        # Per tenant: since when (monotonic) a write of this process has waited for its views.
        self._pending_since: dict[UUID, float] = {}
        self._progress = anyio.Event()
        self._limiter = anyio.CapacityLimiter(1)
        self._last_seconds = 0.0
        self.anchor = anchor
        self.anchor_seconds = anchor_seconds
        self._anchored: dict[UUID, float] = {}
        self._locks: dict[UUID, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.outdated = OutdatedViews(backend, mappers, batch_size=batch_size)

    def notify(self, tenant_id: UUID) -> None:
        """A command of this process wrote to the tenant: catch its views up soon."""
        self._requested[tenant_id] = self._requested.get(tenant_id, 0) + 1
        if self.scope != "none":
            # Lag is this process's own: where projector workers do the work, theirs (their heartbeat).
            self._pending_since.setdefault(tenant_id, time.monotonic())
            self._dirty.add(tenant_id)
            self._wake.set()

    async def settle(self, tenant_id: UUID) -> None:
        """Wait (a few seconds at most) until what this process wrote to the tenant is in its
        views: read your writes."""
        target = self._requested.get(tenant_id, 0)
        with anyio.move_on_after(SETTLE_SECONDS):
            if self.scope == "none":
                await self._await_workers(tenant_id, target)
            while self._covered.get(tenant_id, 0) < target:
                await self._progress.wait()

    async def _await_workers(self, tenant_id: UUID, target: int) -> None:
        # Nothing here projects: once the views reach the end of the log, the writes made
        # before this call are in them.
        while self._covered.get(tenant_id, 0) < target:
            try:
                behind = await anyio.to_thread.run_sync(self.backend.behind, [tenant_id])
            except Exception:
                # The read goes ahead on the views as they are, as after a settle that timed out.
                logger.warning("asking whether tenant %s is projected failed", tenant_id, exc_info=True)
                return
            if not behind:
                self._covered[tenant_id] = max(self._covered.get(tenant_id, 0), target)
                self._note_covered(tenant_id, time.monotonic())
                return
            await anyio.sleep(SETTLE_POLL_SECONDS)

    def _note_covered(self, tenant_id: UUID, began: float) -> None:
        if self._covered.get(tenant_id, 0) >= self._requested.get(tenant_id, 0):
            self._pending_since.pop(tenant_id, None)
        elif tenant_id in self._pending_since:
            # Writes made while the catch-up ran still wait; none of them is older than its start.
            self._pending_since[tenant_id] = began

    def lag_seconds(self) -> dict[UUID, float]:
        """Per tenant with a write of this process not yet in its views: how long the oldest
        such write has waited. Readiness bounds it (services/observability/health.py)."""
        now = time.monotonic()
        return {tenant_id: now - since for tenant_id, since in self._pending_since.items()}

    def catch_up_now(self, tenant_id: UUID, changed: set[str] | None = None) -> int:
        """Blocking: bring one tenant's views to the end of its log. Calls for one tenant take
        turns (a request that needs the whole log chained, say, and the runner's own pass);
        other processes' workers are kept apart by the position guard."""
        with self._tenant_lock(tenant_id):
            # Views of an earlier projection version are rebuilt and swapped in first.
            self.outdated.bring_current(tenant_id)
            store = self.backend.store_for(tenant_id)
            source = self.backend.source_for(tenant_id)
            while True:
                try:
                    applied = catch_up(source, store, self.mappers(tenant_id), self.batch_size, changed)
                except PositionMoved:
                    continue
                self.anchor_head(tenant_id, store)
                self.follow_after(tenant_id)
                return applied

    def follow_after(self, tenant_id: UUID) -> None:
        """What else follows the tenant's log; its failure never stops the views."""
        if self.follow is None:
            return
        try:
            self.follow(tenant_id)
        except Exception:
            logger.warning("following tenant %s after its views failed", tenant_id, exc_info=True)

    def _tenant_lock(self, tenant_id: UUID) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(tenant_id, threading.Lock())

    def anchor_head(self, tenant_id: UUID, store: ViewStore) -> None:
        """Anchors the tenant's chain head, at most once per `anchor_seconds`."""
        anchor_when_due(self.anchor, self.anchor_seconds, self._anchored, tenant_id, store)

    async def _run_one(self, tenant_id: UUID) -> bool:
        changed: set[str] = set()
        started = anyio.current_time()
        succeeded = True
        try:
            await anyio.to_thread.run_sync(self.catch_up_now, tenant_id, changed, limiter=self._limiter)
        except Exception:
            logger.exception("catching up tenant %s failed; retrying on the next wake", tenant_id)
            self._dirty.add(tenant_id)
            succeeded = False
        self._last_seconds = anyio.current_time() - started
        if changed and self.on_caught_up is not None:
            try:
                await self.on_caught_up(tenant_id, changed)
            except Exception:
                # Live updates are a convenience: a failure to publish never stops projecting.
                logger.warning("publishing changes of tenant %s failed", tenant_id, exc_info=True)
        return succeeded

    async def run(self) -> None:
        """Run until cancelled. In scope "none" there is nothing to run: workers project."""
        if self.scope == "none":
            await anyio.sleep_forever()
        while True:
            with anyio.move_on_after(self.poll_seconds) as waited:
                await self._wake.wait()
            self._wake = anyio.Event()
            if not waited.cancelled_caught:
                # Let a burst of commands land first: one catch-up then renders each touched
                # document once for the lot. Waiting as long as the last catch-up took keeps
                # projecting to at most about half of the process's time under load.
                await anyio.sleep(max(COALESCE_SECONDS, min(self._last_seconds, MAX_COALESCE_SECONDS)))
            due = set(self._dirty)
            # Only scope "all" looks for other processes' writes; "written" leaves them to
            # projector workers (and retries its own failed catch-ups, still in `_dirty`).
            if waited.cancelled_caught and self.scope == "all":
                try:
                    due |= set(
                        await anyio.to_thread.run_sync(lambda: self.backend.behind(list(self.tenants())))
                    )
                except Exception:
                    # A database away for a moment must not end the runner: poll again later.
                    logger.warning("looking for tenants behind failed; polling again", exc_info=True)
            self._dirty.clear()
            for tenant_id in sorted(due):
                requested = self._requested.get(tenant_id, 0)
                began = time.monotonic()
                # A failed catch-up covers nothing: readers waiting on it keep waiting (a while).
                if await self._run_one(tenant_id):
                    self._covered[tenant_id] = max(self._covered.get(tenant_id, 0), requested)
                    self._note_covered(tenant_id, began)
                progress, self._progress = self._progress, anyio.Event()
                progress.set()

    async def start(self, group: TaskGroup) -> None:
        group.start_soon(self.run)
