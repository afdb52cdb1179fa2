"""A Citus worker stopped while the app serves: the tenants on the other workers do not notice.

On a private cluster (a coordinator and two workers, whatever database the run tests), two
tenants whose schemas live on different workers. With the worker of tenant B stopped, tenant A's
writes still succeed, about as fast as before (a write is routed to A's worker alone and waits
on no other); B's requests are refused with 503 problem details and a Retry-After, never a 500;
nothing acknowledged is lost. Once the worker is back, B serves again without a restart of the
app and both tenants' hash chains verify.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import secrets
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import httpx
import psycopg
import pytest

from services.migrations import migrate
from services.persistence import citus
from services.persistence.env import tenant_store_name
from services.readmodel.verify import verify_then_catch_up
from services.settings import Settings
from tests.clusters import PrivateCluster, private_cluster
from tests.http_harness import Story, onboard, serving
from tests.integration.test_faults import Load, assert_unavailable, concurrently, left_running, prepare_load
from tests.keys import SESSION_JWT_SECRET, SESSION_MASTER_KEY

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

# Tenants onboarded at most to find one on each worker (placement is the cluster's choice).
MAX_TENANTS = 12
# Writes timed for tenant A in each phase, one after the other.
WRITES = 100
# Tenant B is asked meanwhile by this many clients, each rating and reading in turn: some of
# B's work is under way when its worker stops.
PROBERS = 2
PROBE_PACE_SECONDS = 0.05
# B's requests sent once the fault was done, at least (they may outlast A's writes).
PROBES_AFTER_FAULT = 2
# A's p90 with B's worker down may be at most RATIO times its p90 before, plus its slowest
# write before: generous against a shared machine's noise, far below a write that waits on a
# dead worker (seconds, where a routed write takes milliseconds).
RATIO = 5
# How long B may take to serve again once its worker accepts connections.
RECOVERY_SECONDS = 30.0


def placement(url: str) -> dict[str, citus.Node]:
    """Blocking: every tenant schema of the database at `url` and the worker it lives on."""
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        return citus.distributed_schemas(conn)


async def tenants_on_two_workers(
    story: Story, url: str
) -> tuple[tuple[UUID, citus.Node], tuple[UUID, citus.Node]]:
    """Two tenants onboarded until their schemas live on different workers."""
    seen: dict[citus.Node, UUID] = {}
    for _ in range(MAX_TENANTS):
        tenant_id = await onboard(story.container, "Region Nord", "worker-down")
        node = (await asyncio.to_thread(placement, url))[tenant_store_name(tenant_id)]
        seen.setdefault(node, tenant_id)
        if len(seen) == 2:
            (a_node, a), (b_node, b) = seen.items()
            return (a, a_node), (b, b_node)
    raise AssertionError(f"{MAX_TENANTS} tenants all landed on {list(seen)}")


@dataclass
class Phase:
    """Tenant A's timed writes and what tenant B answered meanwhile."""

    latencies: list[float] = field(default_factory=list)
    written: list[httpx.Response] = field(default_factory=list)
    probed: list[httpx.Response] = field(default_factory=list)
    # B's requests sent once the fault was done (all of them when there was none).
    probed_after_fault: list[httpx.Response] = field(default_factory=list)
    probe_latencies: list[float] = field(default_factory=list)
    faulted: bool = False

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.latencies, n=10)[-1]

    def figures(self) -> str:
        a_statuses = dict(Counter(r.status_code for r in self.written))
        b_statuses = dict(Counter(r.status_code for r in self.probed))
        return (
            f"A {a_statuses} p50 {statistics.median(self.latencies) * 1000:.0f} ms, "
            f"p90 {self.p90 * 1000:.0f} ms, max {max(self.latencies) * 1000:.0f} ms; "
            f"B {b_statuses} p50 {statistics.median(self.probe_latencies) * 1000:.0f} ms, "
            f"max {max(self.probe_latencies) * 1000:.0f} ms"
        )


async def phase(story: Story, a: Load, b: Load, fault: Callable[[], None] | None = None) -> Phase:
    """WRITES ratings for A one after the other, each timed, while B is asked to rate and read
    over and over (until A is done and B was asked after the fault), and `fault` (blocking) is
    done as they start."""
    result = Phase(faulted=fault is None)
    a_pairs, b_pairs = a.pairs(), b.pairs()

    async def write(client: httpx.AsyncClient) -> None:
        for _ in range(WRITES):
            started = time.perf_counter()
            response = await client.post(
                f"{a.path}/ratings", json=a.rating_body(*next(a_pairs)), headers=a.headers
            )
            result.latencies.append(time.perf_counter() - started)
            result.written.append(response)

    async def probe(client: httpx.AsyncClient) -> None:
        requests: Iterator[Callable[[], Awaitable[httpx.Response]]] = itertools.cycle(
            [
                lambda: client.post(
                    f"{b.path}/ratings", json=b.rating_body(*next(b_pairs)), headers=b.headers
                ),
                lambda: client.get(b.path, headers=b.headers),
            ]
        )
        while len(result.written) < WRITES or len(result.probed_after_fault) < PROBES_AFTER_FAULT:
            after_fault = result.faulted
            started = time.perf_counter()
            response = await next(requests)()
            result.probe_latencies.append(time.perf_counter() - started)
            result.probed.append(response)
            if after_fault:
                result.probed_after_fault.append(response)
            await asyncio.sleep(PROBE_PACE_SECONDS)

    async def inflict(_: httpx.AsyncClient) -> None:
        if fault is not None:
            await asyncio.to_thread(fault)
            result.faulted = True

    await concurrently(story, [write, inflict, *[probe] * PROBERS])
    return result


def acknowledged(responses: list[httpx.Response]) -> set[UUID]:
    return {UUID(r.json()["rating_id"]) for r in responses if r.status_code == 201}


async def serves_again(b: Load) -> list[httpx.Response]:
    """Rates for B until it is acknowledged; what B answered until then (the last one a 201)."""
    answers: list[httpx.Response] = []
    pairs = b.pairs()
    deadline = time.monotonic() + RECOVERY_SECONDS
    while not answers or answers[-1].status_code != 201:
        assert time.monotonic() < deadline, f"B does not serve again: {answers[-1].text}"
        if answers:
            await asyncio.sleep(0.2)
        answers.append(await b.rate(*next(pairs)))
    return answers


async def test_a_worker_down_refuses_its_tenants_with_503_and_stalls_no_other_tenant(
    redis_url: str, tmp_path: Path
) -> None:
    with private_cluster(plain=False, workers=2) as cluster:
        url = cluster.create_database("balkort_worker_down")
        migrate(Settings(database_url=url))
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=url,
            redis_url=redis_url,
            rate_limit_namespace=f"balkort:rate-limit:test-{secrets.token_hex(6)}",
            master_key=SESSION_MASTER_KEY,
            jwt_secret=SESSION_JWT_SECRET,
        )
        async with serving(settings, admin=None, quick_hashes=True) as story:
            await worker_down_story(story, cluster, url)


async def worker_down_story(story: Story, cluster: PrivateCluster, url: str) -> None:
    (a_id, a_node), (b_id, b_node) = await tenants_on_two_workers(story, url)
    a, b = await prepare_load(story, a_id), await prepare_load(story, b_id)
    b_worker = cluster.worker_named(b_node)

    before = await phase(story, a, b)
    for response in before.written + before.probed:
        assert response.status_code in (200, 201), response.text

    # B's worker stops while both tenants are busy (a fast shutdown: B's open work is cut off).
    async with left_running(cluster, b_worker):
        during = await phase(story, a, b, fault=functools.partial(cluster.stop_node, b_worker))
        await asyncio.to_thread(cluster.start_node, b_worker)

    limit = RATIO * before.p90 + max(before.latencies)
    print(
        f"\nA on {cluster.worker_named(a_node)}, B on {b_worker}; {WRITES} writes for A in each phase\n"
        f"  every worker up: {before.figures()}\n"
        f"  {b_worker} stopped: {during.figures()}\n"
        f"  A's p90 limit {limit * 1000:.0f} ms"
    )
    # A's writes went through, about as fast as with every worker up.
    for response in during.written:
        assert response.status_code == 201, response.text
    assert during.p90 <= limit, (
        f"A's writes wait on B's worker: {during.figures()}, before {before.figures()}"
    )
    # B's requests were refused as a database away is, never with a 500: all of them once the
    # worker was down, any of them while it went.
    assert during.probed_after_fault
    down = {id(response) for response in during.probed_after_fault}
    for response in during.probed:
        if response.status_code not in (200, 201) or id(response) in down:
            assert_unavailable(response)
            assert response.json()["type"].startswith("urn:balkort:problem:"), response.text

    # B serves again without a restart of the app; what was refused meanwhile is a 503, too.
    recovered = await serves_again(b)
    for response in recovered[:-1]:
        assert_unavailable(response)
    shown = await story.client.get(b.path, headers=b.headers)
    assert shown.status_code == 200, shown.text

    # Nothing acknowledged is lost, and both chains verify to their last event.
    a_acknowledged = acknowledged(before.written + during.written)
    b_acknowledged = acknowledged(before.probed + during.probed + recovered)
    assert a_acknowledged <= await asyncio.to_thread(a.stored_rating_ids)
    assert b_acknowledged <= await asyncio.to_thread(b.stored_rating_ids)
    for tenant_id in (a_id, b_id):
        verdict = await asyncio.to_thread(verify_then_catch_up, story.container, tenant_id)
        assert verdict.intact, verdict.summary()
        assert verdict.pending == 0, verdict.summary()
