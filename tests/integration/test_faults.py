"""Faults under load: PostgreSQL restarted mid-load, Redis stopped and started again.

Each fault is done to a server the test started itself (tests/clusters.py, a redis-server on a
free port), never to the machine's own: a plain PostgreSQL server, or a Citus coordinator with
two workers when the run tests Citus (BALKORT_TEST_CITUS).

While the database is away the API answers 503 problem details with `Retry-After`, never
500; no command it acknowledged with 2xx is lost; and it serves again once the database is
back, without a restart of the app. With Redis away, commands without an Idempotency-Key
still succeed, commands with one are refused with 503 (docs/adr/0004-idempotency-keys.md),
and keys work again once Redis returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx
import pytest
import redis

from domain.default_instrument import DIMENSIONS
from domain.phases import Phase
from services.application import TenantApplication
from services.bootstrap import Container
from services.migrations import migrate
from services.settings import Settings
from tests.clusters import PrivateCluster, private_cluster
from tests.conftest import expects_citus
from tests.http_harness import Story, consultant_headers, onboard, serving
from tests.keys import SESSION_JWT_SECRET, SESSION_MASTER_KEY

T = TypeVar("T")

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

PROBLEM_JSON = "application/problem+json"
SCORES = {d.key: 3 for d in DIMENSIONS}
THEME_DAY = "2025-03-14"
UNITS = 6
CLIENTS = 8
LOAD = 300
# The load is paced so that it spans the outage: about LOAD / (CLIENTS / PACE) seconds.
PACE_SECONDS = 0.2
OUTAGE_SECONDS = 2.0
# The node the app connects to: the only server of a plain cluster, the coordinator of Citus.
COORDINATOR = "coordinator"


# -- a database server of the test's own -------------------------------------------------------


@contextlib.contextmanager
def database_server() -> Iterator[PrivateCluster]:
    """A server the test starts, stops and throws away (never the machine's own): plain
    PostgreSQL, or a coordinator with two workers when the run tests Citus (the coordinator is
    what the app connects to, so it is what a restart takes away)."""
    with private_cluster(plain=not expects_citus()) as cluster:
        yield cluster


def migrated_database(cluster: PrivateCluster, name: str) -> str:
    """A database on `cluster` brought to this release's schema, as `balkort migrate` does."""
    url = cluster.create_database(name)
    migrate(Settings(database_url=url))
    return url


@contextlib.asynccontextmanager
async def left_running(cluster: PrivateCluster, node: str = COORDINATOR) -> AsyncIterator[None]:
    """Whatever the test does to `node`, it is running again afterwards (the app then shuts
    down against a database that answers)."""
    try:
        yield
    finally:
        await asyncio.to_thread(cluster.start_node, node)


# -- a tenant with an engagement in phase mapping ---------------------------------------------


class Load:
    """A tenant whose engagement is in phase `mapping` with every relation mapped."""

    def __init__(self, story: Story, tenant_id: UUID, engagement_id: UUID, units: list[UUID]) -> None:
        self.story = story
        self.tenant_id = tenant_id
        self.engagement_id = engagement_id
        self.units = units
        self.headers: dict[str, str] = {}

    @property
    def path(self) -> str:
        return f"/api/v1/tenants/{self.tenant_id}/engagements/{self.engagement_id}"

    def pairs(self) -> Iterator[tuple[UUID, UUID]]:
        return itertools.cycle([(a, b) for a in self.units for b in self.units if a != b])

    @staticmethod
    def rating_body(unit: UUID, counterpart: UUID) -> dict[str, Any]:
        return {"unit_id": str(unit), "counterpart_id": str(counterpart), "scores": SCORES}

    async def rate(self, unit: UUID, counterpart: UUID, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return await self.story.client.post(
            f"{self.path}/ratings",
            json=self.rating_body(unit, counterpart),
            headers={**self.headers, **headers},
        )

    def stored_rating_ids(self) -> set[UUID]:
        container: Container = self.story.container

        def read(app: TenantApplication) -> set[UUID]:
            return {
                event.rating.rating_id  # type: ignore[attr-defined]
                for event in app.events.get(self.engagement_id)
                if type(event).__name__ == "RatingSubmitted"
            }

        found: set[UUID] = container.tenants.call(self.tenant_id, read)
        return found


async def prepare_load(story: Story, tenant_id: UUID | None = None) -> Load:
    """`tenant_id` (onboarded already), or a new tenant, made ready for ratings."""
    container, client = story.container, story.client
    if tenant_id is None:
        tenant_id = await onboard(container, "Region Syd", "faults")
    headers = await consultant_headers(story, tenant_id)
    tenant_path = f"/api/v1/tenants/{tenant_id}"
    established = await client.put(
        f"{tenant_path}/organisation", json={"name": "Region Syd"}, headers=headers
    )
    assert established.status_code == 200, established.text
    units = []
    for i in range(UNITS):
        added = await client.post(
            f"{tenant_path}/organisation/units", json={"name": f"Enhed {i}"}, headers=headers
        )
        assert added.status_code == 201, added.text
        units.append(UUID(added.json()["unit_id"]))
    prepared = await client.post(
        f"{tenant_path}/engagements",
        json={"title": "Belastning", "theme_day": THEME_DAY, "unit_ids": [str(u) for u in units]},
        headers=headers,
    )
    assert prepared.status_code == 201, prepared.text
    load = Load(story, tenant_id, UUID(prepared.json()["engagement_id"]), units)
    load.headers = headers
    for phase in (Phase.PREPARED, Phase.THEME_DAY_OPEN):
        advanced = await client.post(
            f"{load.path}/phase/advance", json={"expected_phase": phase.value}, headers=headers
        )
        assert advanced.status_code == 200, advanced.text
    for unit in units:
        mapped = await client.put(
            f"{load.path}/units/{unit}/relations",
            json={"counterpart_ids": [str(u) for u in units if u != unit]},
            headers=headers,
        )
        assert mapped.status_code == 200, mapped.text
    return load


def assert_unavailable(response: httpx.Response) -> None:
    """503 problem details with a Retry-After."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["status"] == 503
    assert body["title"]


async def concurrently(story: Story, calls: list[Callable[[httpx.AsyncClient], Awaitable[T]]]) -> list[T]:
    """Runs `calls` at the same time on the app's own event loop (the test client sends one
    request at a time), each with an httpx client straight on the app."""
    app = story.client.app

    async def run() -> list[T]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            return list(await asyncio.gather(*(call(client) for call in calls)))

    results: list[T] = await asyncio.to_thread(story.client.blocking_portal.call, run)
    return results


# -- PostgreSQL restarted mid-load ------------------------------------------------------------


async def test_a_database_restart_mid_load_loses_no_acknowledged_command(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How long a store waits for a connection; the store retries ten times before giving up.
    monkeypatch.setenv("POSTGRES_CONNECT_TIMEOUT", "1")
    acknowledged: set[UUID] = set()
    refused: list[httpx.Response] = []
    with database_server() as cluster:
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=migrated_database(cluster, "balkort_faults"),
            redis_url=redis_url,
            master_key=SESSION_MASTER_KEY,
            jwt_secret=SESSION_JWT_SECRET,
        )

        async def stop() -> None:
            await asyncio.to_thread(cluster.stop_node, COORDINATOR)

        async def start() -> None:
            # Returns once the server accepts connections.
            await asyncio.to_thread(cluster.start_node, COORDINATOR)

        async with serving(settings, admin=None, quick_hashes=True) as story, left_running(cluster):
            # The projector's periodic poll is pushed out of the test's way, so that only the
            # load meets the outage. Commands still wake it; the commands of prepare_load make it
            # pick up the new interval.
            story.container.projections.poll_seconds = 3600.0
            load = await prepare_load(story)
            pairs = load.pairs()
            sent = itertools.count()
            body = load.rating_body

            async def rater(client: httpx.AsyncClient) -> list[httpx.Response]:
                answers = []
                while next(sent) < LOAD:
                    answers.append(
                        await client.post(
                            f"{load.path}/ratings", json=body(*next(pairs)), headers=load.headers
                        )
                    )
                    await asyncio.sleep(PACE_SECONDS)
                return answers

            async def restart(_: httpx.AsyncClient) -> list[httpx.Response]:
                await asyncio.sleep(2.0)
                await stop()
                await asyncio.sleep(OUTAGE_SECONDS)
                await start()
                return []

            started = time.monotonic()
            answered = await concurrently(story, [restart, *([rater] * CLIENTS)])
            elapsed = time.monotonic() - started
            responses = [r for batch in answered for r in batch]
            assert len(responses) == LOAD
            for response in responses:
                if response.status_code == 201:
                    acknowledged.add(UUID(response.json()["rating_id"]))
                else:
                    # Never a 500: the database being away is a 503 with Retry-After.
                    assert_unavailable(response)
                    refused.append(response)

            # While the database stays away for longer than the stores retry: 503, not a hang
            # without end and not a 500.
            await stop()
            away = await concurrently(
                story,
                [
                    lambda c: c.post(f"{load.path}/ratings", json=body(*next(pairs)), headers=load.headers),
                    lambda c: c.get(load.path, headers=load.headers),
                ],
            )
            for response in away:
                assert_unavailable(response)
            await start()

            # The app serves again without a restart, and everything acknowledged is stored.
            recovered = await load.rate(*next(pairs))
            assert recovered.status_code == 201, recovered.text
            acknowledged.add(UUID(recovered.json()["rating_id"]))
            stored = await asyncio.to_thread(load.stored_rating_ids)
            lost = acknowledged - stored
            print(
                f"\nrestart under load: {LOAD} ratings from {CLIENTS} clients in {elapsed:.1f}s; "
                f"{len(acknowledged)} acknowledged, {len(refused)} refused with 503, {len(lost)} lost"
            )
            assert not lost, f"{len(lost)} acknowledged ratings are not in the event store"
            shown = await story.client.get(load.path, headers=load.headers)
            assert shown.status_code == 200, shown.text


# -- Redis stopped and started again ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _redis_server(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.RedisError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)
    client.close()
    return server


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def test_with_redis_away_keyed_commands_get_503_and_the_rest_go_through(
    postgres_url: str, tmp_path: Path
) -> None:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed", pytrace=False)
    port = _free_port()
    server = _redis_server(port)
    try:
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=postgres_url,
            redis_url=f"redis://127.0.0.1:{port}/0",
            master_key=SESSION_MASTER_KEY,
            jwt_secret=SESSION_JWT_SECRET,
        )
        async with serving(settings, admin=None, quick_hashes=True) as story:
            load = await prepare_load(story)
            pairs = load.pairs()
            keyed = await load.rate(*next(pairs), key=uuid4().hex)
            assert keyed.status_code == 201, keyed.text

            _stop(server)
            plain = await load.rate(*next(pairs))
            assert plain.status_code == 201, plain.text
            refused = await load.rate(*next(pairs), key=uuid4().hex)
            assert_unavailable(refused)
            assert refused.json()["type"].endswith("idempotency-unavailable")

            server = _redis_server(port)
            key = uuid4().hex
            pair = next(pairs)
            first = await load.rate(*pair, key=key)
            assert first.status_code == 201, first.text
            again = await load.rate(*pair, key=key)
            assert again.status_code == 201, again.text
            assert again.headers.get("idempotent-replayed") == "true"
            assert again.json() == first.json()
    finally:
        _stop(server)
