"""A tenant moves to another Citus worker while it is served (deploy/runbooks/citus.md).

On a Citus cluster of the test's own (a coordinator and two workers), the app serves a tenant
whose engagement takes ratings while `citus_schema_move` moves the tenant's schema to the other
worker, online (logical replication; `wal_level = logical`). Clients keep writing and reading
throughout. Afterwards the schema is on the other worker, every rating acknowledged with 2xx is
in the event store and in the read model, no request was answered 500 (a 503 with Retry-After
during the final switchover is allowed, and counted), reads kept answering during the move, the
projector caught up and the hash chain verifies. No write waited for as much as half the move:
a move that blocks writes (`block_writes`) holds them for all of it. The figures (worst and
median latency before and during the move) are printed for the runbook.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from domain.default_instrument import DIMENSIONS
from domain.phases import Phase
from services.application import TenantApplication
from services.migrations import migrate
from services.persistence import citus
from services.persistence.env import tenant_store_name
from services.readmodel.verify import verify_tenant
from services.settings import Settings
from tests.clusters import private_cluster
from tests.http_harness import Story, consultant_headers, onboard, serving
from tests.keys import SESSION_JWT_SECRET, SESSION_MASTER_KEY

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SCORES = {d.key: 3 for d in DIMENSIONS}
UNITS = 5
WRITERS = 4
VIEW_READERS = 2
# A version of the engagement from before the load: a read of the event store as it grows.
HISTORY_VERSION = 3
# Paced clients: what is measured is each request's own wait, not a queue on two cores.
WRITE_PACE_SECONDS = 0.05
READ_PACE_SECONDS = 0.1
# Load before the move (the baseline) and after it (the new placement serving).
BEFORE_SECONDS = 4.0
AFTER_SECONDS = 2.0
# The first writes warm pools and caches up: not part of the baseline.
WARM_UP_SECONDS = 1.0
# Only bounds how long a broken run takes to fail.
CATCH_UP_SECONDS = 60.0
# The worst write during the move, as a share of the move's length: writes wait for the final
# switchover at most, never for the whole move (as they did behind a table lock).
WORST_WRITE_SHARE = 0.5


# What a request of the load does: rate a relation; read the engagement or its dashboard from
# the read model (after the process's own writes are in it: read your writes); or read the
# engagement as it stood at an earlier version, folded from the event store itself.
WRITE, VIEW, HISTORY = "write", "view", "history"


@dataclass(frozen=True)
class Answer:
    """One request of the load: when it was sent and answered, and how."""

    kind: str
    sent: float
    answered: float
    status: int
    retry_after: str | None
    rating_id: UUID | None

    @property
    def seconds(self) -> float:
        return self.answered - self.sent


@dataclass
class Timeline:
    answers: list[Answer] = field(default_factory=list)
    started: float = 0.0
    move_began: float = 0.0
    move_ended: float = 0.0

    def of(self, *kinds: str) -> list[Answer]:
        return [a for a in self.answers if a.kind in kinds]

    def before_move(self, answers: list[Answer]) -> list[Answer]:
        return [
            a for a in answers if a.sent >= self.started + WARM_UP_SECONDS and a.answered < self.move_began
        ]

    def during_move(self, answers: list[Answer]) -> list[Answer]:
        return [a for a in answers if a.answered >= self.move_began and a.sent <= self.move_ended]

    def summary(self) -> str:
        """The figures: what was answered how, and how long each kind of request took before
        the move and during it (worst, median)."""
        acknowledged = [a for a in self.of(WRITE) if a.status == 201]
        refused = [a for a in self.answers if a.status == 503]
        lines = [
            f"moved in {self.move_ended - self.move_began:.2f}s; {len(acknowledged)} ratings acknowledged "
            f"({len(self.during_move(acknowledged))} during the move), {len(refused)} answered 503"
        ]
        for kind in (WRITE, VIEW, HISTORY):
            answers = self.of(kind)
            before, during = self.before_move(answers), self.during_move(answers)
            lines.append(
                f"{kind}: {len(answers)} ({len(during)} during the move); worst {ms(worst(before))} "
                f"before, {ms(worst(during))} during; median {ms(median(before))} before, "
                f"{ms(median(during))} during"
            )
        return "\n".join(lines)


@dataclass
class Tenant:
    """A tenant with an engagement on its theme day, every unit's relations mapped."""

    tenant_id: UUID
    engagement_id: UUID
    units: list[UUID]
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return f"/api/v1/tenants/{self.tenant_id}/engagements/{self.engagement_id}"


async def theme_day(story: Story) -> Tenant:
    container, client = story.container, story.client
    tenant_id = await onboard(container, "Region Nord", "move")
    headers = await consultant_headers(story, tenant_id)
    base = f"/api/v1/tenants/{tenant_id}"

    async def send(method: str, path: str, body: object, expect: int) -> Any:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    await send("PUT", f"{base}/organisation", {"name": "Region Nord"}, 200)
    units = [
        UUID((await send("POST", f"{base}/organisation/units", {"name": f"Enhed {i}"}, 201))["unit_id"])
        for i in range(UNITS)
    ]
    prepared = await send(
        "POST",
        f"{base}/engagements",
        {"title": "Flytning", "theme_day": "2025-03-14", "unit_ids": [str(u) for u in units]},
        201,
    )
    tenant = Tenant(tenant_id, UUID(prepared["engagement_id"]), units, headers)
    for phase in (Phase.PREPARED, Phase.THEME_DAY_OPEN):
        await send("POST", f"{tenant.path}/phase/advance", {"expected_phase": phase.value}, 200)
    for unit in units:
        others = [str(u) for u in units if u != unit]
        await send("PUT", f"{tenant.path}/units/{unit}/relations", {"counterpart_ids": others}, 200)
    return tenant


def move_schema(database_url: str, schema: str, target: citus.Node) -> None:
    """Blocking: the operator's command (deploy/runbooks/citus.md), on the coordinator."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT citus_schema_move(%s::regnamespace, %s, %s)", (schema, target.host, target.port))


def placement(database_url: str, schema: str) -> citus.Node:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return citus.distributed_schemas(conn)[schema]


async def load_across_a_move(story: Story, tenant: Tenant, database_url: str, target: citus.Node) -> Timeline:
    """Writers and readers on the app from start to end; the schema moved in the middle."""
    app = story.client.app
    schema = tenant_store_name(tenant.tenant_id)
    pairs = itertools.cycle([(a, b) for a in tenant.units for b in tenant.units if a != b])
    timeline = Timeline()

    async def run() -> None:
        stop = asyncio.Event()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:

            async def timed(kind: str, request: Any) -> None:
                sent = time.monotonic()
                response: httpx.Response = await request
                answered = time.monotonic()
                rating_id = None
                if kind == WRITE and response.status_code == 201:
                    rating_id = UUID(response.json()["rating_id"])
                timeline.answers.append(
                    Answer(
                        kind,
                        sent,
                        answered,
                        response.status_code,
                        response.headers.get("retry-after"),
                        rating_id,
                    )
                )

            async def writer() -> None:
                while not stop.is_set():
                    unit, counterpart = next(pairs)
                    body = {"unit_id": str(unit), "counterpart_id": str(counterpart), "scores": SCORES}
                    await timed(
                        WRITE, client.post(f"{tenant.path}/ratings", json=body, headers=tenant.headers)
                    )
                    await asyncio.sleep(WRITE_PACE_SECONDS)

            async def reader(kind: str, paths: tuple[str, ...]) -> None:
                for path in itertools.cycle(paths):
                    if stop.is_set():
                        return
                    await timed(kind, client.get(path, headers=tenant.headers))
                    await asyncio.sleep(READ_PACE_SECONDS)

            async def mover() -> None:
                try:
                    await asyncio.sleep(BEFORE_SECONDS)
                    timeline.move_began = time.monotonic()
                    await asyncio.to_thread(move_schema, database_url, schema, target)
                    timeline.move_ended = time.monotonic()
                    await asyncio.sleep(AFTER_SECONDS)
                finally:
                    stop.set()

            timeline.started = time.monotonic()
            views = (tenant.path, f"{tenant.path}/dashboard")
            history = (f"{tenant.path}?version={HISTORY_VERSION}",)
            await asyncio.gather(
                mover(),
                *(writer() for _ in range(WRITERS)),
                *(reader(VIEW, views) for _ in range(VIEW_READERS)),
                reader(HISTORY, history),
            )

    await asyncio.to_thread(story.client.blocking_portal.call, run)
    return timeline


async def caught_up(story: Story, tenant_id: UUID) -> None:
    """Waits until the process's projector has applied every event of the tenant."""
    backend = story.container.projections.backend
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while await asyncio.to_thread(backend.behind, [tenant_id]):
        assert time.monotonic() < deadline, f"the views of {tenant_id} did not catch up"
        await asyncio.sleep(0.1)


def stored(story: Story, tenant: Tenant) -> tuple[set[UUID], int]:
    """Blocking: the ratings in the engagement's event stream, and its version."""

    def read(app: TenantApplication) -> tuple[set[UUID], int]:
        events = list(app.events.get(tenant.engagement_id))
        ratings = {
            event.rating.rating_id  # type: ignore[attr-defined]
            for event in events
            if type(event).__name__ == "RatingSubmitted"
        }
        return ratings, events[-1].originator_version

    found: tuple[set[UUID], int] = story.container.tenants.call(tenant.tenant_id, read)
    return found


def worst(answers: list[Answer]) -> float:
    return max((a.seconds for a in answers), default=0.0)


def median(answers: list[Answer]) -> float:
    return statistics.median(a.seconds for a in answers) if answers else 0.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def test_a_tenant_moves_to_another_worker_while_it_is_written_and_read(
    redis_url: str, tmp_path: Path
) -> None:
    with private_cluster(plain=False, workers=2) as cluster:
        database_url = await asyncio.to_thread(cluster.create_database, "balkort_move")
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=database_url,
            redis_url=redis_url,
            master_key=SESSION_MASTER_KEY,
            jwt_secret=SESSION_JWT_SECRET,
            # One principal sends every request: rate limits are not what is tested.
            rate_limit_per_minute=1_000_000,
            rate_limit_namespace=f"balkort:rate-limit:move-{secrets.token_hex(6)}",
        )
        await asyncio.to_thread(migrate, settings)
        async with serving(settings, admin=None, quick_hashes=True) as story:
            tenant = await theme_day(story)
            schema = tenant_store_name(tenant.tenant_id)
            with psycopg.connect(database_url, autocommit=True) as conn:
                workers = citus.workers(conn)
                source = citus.distributed_schemas(conn)[schema]
            assert len(workers) == 2, workers
            assert source in workers, (workers, source)
            (target,) = [w for w in workers if w != source]

            timeline = await load_across_a_move(story, tenant, database_url, target)
            writes = timeline.of(WRITE)
            writes_during = timeline.during_move(writes)
            refused = [a for a in timeline.answers if a.status == 503]
            print(f"\nschema move under load: {timeline.summary()}")

            # The tenant's tables are on the other worker now.
            assert await asyncio.to_thread(placement, database_url, schema) == target

            # Never a 500: at most a 503 with Retry-After while the placement switches over.
            unexpected = [a for a in timeline.answers if a.status not in (200, 201, 503)]
            assert not unexpected, [(a.kind, a.status) for a in unexpected]
            assert all(a.retry_after is not None and int(a.retry_after) > 0 for a in refused)

            # Reads kept answering while the schema moved.
            for kind in (VIEW, HISTORY):
                answered = [a for a in timeline.during_move(timeline.of(kind)) if a.status == 200]
                assert answered, f"no {kind} read answered during the move"
            assert any(a.status == 201 for a in writes_during), "no write answered during the move"

            # Everything acknowledged is in the store, and, once the projector caught up, in the
            # read model: its version is the engagement's last event.
            acknowledged = {a.rating_id for a in writes if a.rating_id is not None}
            ratings, version = await asyncio.to_thread(stored, story, tenant)
            assert not acknowledged - ratings, f"{len(acknowledged - ratings)} acknowledged ratings lost"
            await caught_up(story, tenant.tenant_id)
            shown = await story.client.get(tenant.path, headers=tenant.headers)
            assert shown.status_code == 200, shown.text
            assert shown.json()["version"] == version

            # The hash chain recomputed from the moved rows matches the links and anchors.
            verdict = await asyncio.to_thread(verify_tenant, story.container, tenant.tenant_id)
            assert verdict.intact, verdict.summary()
            assert verdict.pending == 0
            assert verdict.chained == verdict.events

            # Writes waited for the final switchover at most, never for the move as a whole.
            moved_in = timeline.move_ended - timeline.move_began
            assert worst(writes_during) <= WORST_WRITE_SHARE * moved_in, timeline.summary()
