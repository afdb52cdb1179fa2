"""Engagement dashboard latency over HTTP: a tenant with a short history vs one with a long one.

Setup: a fresh PostgreSQL database (random name, dropped at the end) with two tenants and a
consultant who is a member of both.

- small: `bench.catch_up.generate_history` (the demo's `EngagementStory`, through the
  application service on in-memory persistence) for `--engagements` engagements of `--units`
  units, about 10k events, `COPY`ed into the tenant's events table.
- big: a history generated the same way with the same seed (ids differ, so a few random
  choices differ; the engagement queried is of the same shape and size in both), then copies of its engagements until the log holds `--big` events. A copy is the
  engagement's stored events (plaintext from `TypedMapper`, unchanged) under a new engagement id,
  preceded by an `EngagementRegistered` event of the organisation, made by driving the
  in-memory `Organisation` aggregate and encoding it with `mapper.to_stored_event`. So the
  organisation lists every engagement, as a tenant with that much history would. The copies
  stream straight into `COPY`, each state sealed to its event under the tenant's key on the way
  (`bench.catch_up.sealed`), as the tenant's application would have stored it.
Both logs are then projected in-process with `catch_up` (progress printed) before the server
starts, so no projection runs while measuring. Copies reuse the ids inside the events (ratings,
cards, agreements, command ids), so lineage nodes of copies overwrite each other: the lineage
table of the big tenant is smaller than a real one would be; documents and audit rows are not
affected, and the dashboard reads only the engagement and organisation documents.

Measured: `balkort serve` as a subprocess (DATABASE_URL only), one httpx client signed in
with a bearer token, `GET /api/v1/tenants/{t}/engagements/{e}/dashboard?today=2026-11-26` for
the last engagement of the small history in each tenant, `--requests` sequential requests per
tenant per round, tenants alternating within a round. Reported: p50/p99 per tenant (medians
over rounds) and p99(big)/p99(small) per round, then the median.

Then, with the server stopped, the same answer in-process without HTTP, to see where a
difference comes from: asyncpg fetch of the engagement and organisation documents, msgspec
decode into `EngagementOut` / `OrganisationUnits` (as the server does), `engagement_dashboard`, JSON encode; the
same number of requests and rounds, p50/p99 of the whole and the median of each step.

    .venv/bin/python -m bench.dashboard_latency [--rounds 5] [--requests 300] [--big 1000000]
    .venv/bin/python -m bench.dashboard_latency --smoke   # seconds: tiny histories, 1 round

The server's rate limit is lifted: one client sends thousands of requests a minute here, and
the limit is not what is measured. A request answered other than 200 stops the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID, uuid4

if __package__ in (None, ""):  # run as a plain script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
import msgspec
import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg import sql
from psycopg_pool import ConnectionPool

from bench.catch_up import History, copy_events, fresh_database, generate_history
from bench.rating_throughput import EMAIL, PASSWORD, UNLIMITED_PER_MINUTE, free_port, login, server
from domain.organisation import Organisation
from domain.roles import Role
from projections.documents import EngagementOut, OrganisationUnits
from projections.postgres_schema import EVENTS_TABLE
from projections.postgres_views import PostgresEventSource, PostgresViewStore
from projections.projector import Recorded, catch_up
from projections.queries import engagement_dashboard
from services.auth.secret_keys import fresh_secrets
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.demo import Actor, at
from services.persistence.env import tenant_store_name
from services.persistence.transcoding import TypedMapper
from services.settings import Settings
from services.usecases.tenants import onboard_tenant

PROGRESS = 100_000


def setup_tenants(settings: Settings) -> tuple[tuple[UUID, TypedMapper], tuple[UUID, TypedMapper]]:
    """Two tenants, each with the mapper that seals its events under its own key."""
    container = build_container(settings)
    try:
        system = system_provenance("SeedBenchmark")
        small = onboard_tenant(container, "Kort Kommune", "kort-kommune", system)
        big = onboard_tenant(container, "Lang Kommune", "lang-kommune", system)
        user = container.control.register_user(EMAIL, "Bench Consultant", PASSWORD, Role.CONSULTANT, system)
        for tenant in (small, big):
            container.control.grant_membership(user, tenant, Role.CONSULTANT, system)
        small_mapper, big_mapper = container.mappers(small), container.mappers(big)
        assert isinstance(small_mapper, TypedMapper)
        assert isinstance(big_mapper, TypedMapper)
        return (small, small_mapper), (big, big_mapper)
    finally:
        container.tenants.close()
        container.control.close()


def big_log(history: History, target: int) -> Iterator[StoredEvent]:
    """The history, then copies of its engagements (each registered with the organisation)
    until `target` events."""
    yield from history.stored
    count = len(history.stored)
    by_engagement: dict[UUID | str, list[StoredEvent]] = {e: [] for e in history.engagements}
    for stored in history.stored:
        if stored.originator_id in by_engagement:
            by_engagement[stored.originator_id].append(stored)
    app = history.app
    organisation: Organisation = app.repository.get(Organisation.id_for(history.tenant_id))
    actor = Actor(history.tenant_id, uuid4(), Role.CONSULTANT)
    unit_ids = tuple(history.units.values())
    moment = at(date(2026, 1, 5))
    copy = 0
    while count < target:
        template = history.engagements[copy % len(history.engagements)]
        copy += 1
        new_id = uuid4()
        organisation.register_engagement(
            new_id, f"Kopi {copy}", unit_ids, actor.at(moment + timedelta(minutes=copy), "PrepareEngagement")
        )
        for event in organisation.collect_events():
            yield app.mapper.to_stored_event(event)
            count += 1
        for stored in by_engagement[template]:
            yield StoredEvent(new_id, stored.originator_version, stored.topic, stored.state)
            count += 1


class Progress:
    def __init__(self, source: PostgresEventSource, total: int, label: str) -> None:
        self.source, self.total, self.label = source, total, label
        self.started = time.perf_counter()
        self.next = PROGRESS

    def read(self, after: int, limit: int) -> list[Recorded]:
        if after >= self.next:
            elapsed = time.perf_counter() - self.started
            print(
                f"  {self.label}: projected {after:,}/{self.total:,} ({after / elapsed:,.0f} events/s)",
                flush=True,
            )
            self.next += PROGRESS
        return self.source.read(after, limit)


def project_all(settings: Settings, tenant_id: UUID, mapper: TypedMapper, total: int, label: str) -> float:
    schema = tenant_store_name(tenant_id)
    with ConnectionPool(settings.postgres.dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        store = PostgresViewStore(pool, schema)
        source = Progress(PostgresEventSource(pool, schema, mapper), total, label)
        started = time.perf_counter()
        applied = catch_up(source, store, mapper, 500)
        elapsed = time.perf_counter() - started
    print(
        f"  {label}: projected {applied:,} events in {elapsed:.0f} s ({applied / elapsed:,.0f} events/s)",
        flush=True,
    )
    return elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def timings(base: str, token: str, url: str, requests: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    out: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        for _ in range(requests):
            started = time.perf_counter()
            response = await http.get(url, params={"today": "2026-11-26"})
            out.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:300]}")
    return out


async def measure(args: argparse.Namespace, base: str, urls: dict[str, str], sizes: dict[str, int]) -> None:
    token = await login(base)
    for url in urls.values():  # warm-up
        await timings(base, token, url, 30)
    p50: dict[str, list[float]] = {k: [] for k in urls}
    p99: dict[str, list[float]] = {k: [] for k in urls}
    ratios: list[float] = []
    for r in range(args.rounds):
        order = list(urls) if r % 2 == 0 else list(reversed(urls))
        for kind in order:
            got = await timings(base, token, urls[kind], args.requests)
            p50[kind].append(percentile(got, 0.5) * 1000)
            p99[kind].append(percentile(got, 0.99) * 1000)
        ratios.append(p99["big"][-1] / p99["small"][-1])
        print(
            f"round {r + 1}/{args.rounds}: small p50 {p50['small'][-1]:.2f} p99 {p99['small'][-1]:.2f} ms; "
            f"big p50 {p50['big'][-1]:.2f} p99 {p99['big'][-1]:.2f} ms; p99 ratio {ratios[-1]:.2f}",
            flush=True,
        )
    med = statistics.median
    print()
    print(f"rounds={args.rounds} requests/round/tenant={args.requests}, sequential, one client (medians)")
    print(f"{'tenant':<8} {'events':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for kind in urls:
        print(f"{kind:<8} {sizes[kind]:>10,} {med(p50[kind]):8.2f} {med(p99[kind]):8.2f}")
    print(
        f"p99(big)/p99(small): {med(ratios):.2f}   p50(big)/p50(small): {med(p50['big']) / med(p50['small']):.2f}"
    )


async def in_process(dsn: str, targets: dict[str, tuple[UUID, UUID]], rounds: int, requests: int) -> None:
    """The dashboard's work without HTTP: fetch, decode, answer, encode; per step."""
    conn = await asyncpg.connect(dsn)
    today = date(2026, 11, 26)
    steps = ("fetch", "decode", "answer", "encode")
    totals: dict[str, list[float]] = {k: [] for k in targets}
    p99: dict[str, list[float]] = {k: [] for k in targets}
    split: dict[str, dict[str, list[float]]] = {k: {s: [] for s in steps} for k in targets}
    # Collections of the oldest generation and time in the collector, per tenant.
    full: dict[str, int] = dict.fromkeys(targets, 0)
    in_gc: dict[str, float] = dict.fromkeys(targets, 0.0)
    current_kind = [next(iter(targets))]
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
            return
        in_gc[current_kind[0]] += time.perf_counter() - gc_started[0]
        if info["generation"] == 2:
            full[current_kind[0]] += 1

    gc.callbacks.append(on_gc)
    try:
        for _ in range(rounds):
            for kind, (tenant_id, engagement_id) in targets.items():
                schema = tenant_store_name(tenant_id)
                query = await conn.prepare(f'SELECT body FROM "{schema}".view_documents WHERE key = $1')  # noqa: S608
                keys = (f"engagement:{engagement_id}", f"organisation:{Organisation.id_for(tenant_id)}")
                current_kind[0] = kind
                this: list[float] = []
                for _ in range(requests):
                    t0 = time.perf_counter()
                    engagement_body = await query.fetchval(keys[0])
                    organisation_body = await query.fetchval(keys[1])
                    t1 = time.perf_counter()
                    engagement = msgspec.json.decode(engagement_body, type=EngagementOut)
                    organisation = msgspec.json.decode(organisation_body, type=OrganisationUnits)
                    t2 = time.perf_counter()
                    answer = engagement_dashboard(engagement, organisation, today, None)
                    t3 = time.perf_counter()
                    msgspec.json.encode(answer)
                    t4 = time.perf_counter()
                    this.append((t4 - t0) * 1000)
                    for step, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                        split[kind][step].append(seconds * 1000)
                totals[kind].append(percentile(this, 0.5))
                p99[kind].append(percentile(this, 0.99))
    finally:
        gc.callbacks.remove(on_gc)
        await conn.close()
    med = statistics.median
    print()
    print("in-process, no HTTP (medians over rounds; steps: median ms per request)")
    print(f"{'tenant':<8} {'p50 ms':>8} {'p99 ms':>8} " + " ".join(f"{s:>8}" for s in steps))
    for kind in targets:
        print(
            f"{kind:<8} {med(totals[kind]):8.3f} {med(p99[kind]):8.3f} "
            + " ".join(f"{med(split[kind][s]):8.3f}" for s in steps)
        )
    print(f"in-process p99(big)/p99(small): {med(p99['big']) / med(p99['small']):.2f}")
    for kind in targets:
        print(
            f"  {kind}: {full[kind]} full (generation 2) collections, {in_gc[kind] * 1000:.0f} ms in the "
            f"collector over {rounds * requests} requests"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="requests per tenant per round")
    parser.add_argument("--engagements", type=int, default=29, help="engagements of the small history")
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--big", type=int, default=1_000_000, help="events in the big tenant's log")
    parser.add_argument("--smoke", action="store_true", help="a run of seconds: tiny histories, 1 round")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.requests, args.engagements, args.units, args.big = 1, 10, 1, 5, 1_000

    tmp = tempfile.mkdtemp(prefix="balkort-bench-")
    try:
        with fresh_database() as url:
            settings = Settings(
                database_url=url,
                data_dir=Path(tmp) / "data",
                rate_limit_per_minute=UNLIMITED_PER_MINUTE,
                **fresh_secrets(),
            )
            (small_id, small_mapper), (big_id, big_mapper) = setup_tenants(settings)
            started = time.perf_counter()
            small = generate_history(small_id, args.engagements, args.units)
            big = generate_history(big_id, args.engagements, args.units)
            print(
                f"generated {len(small.stored):,} events twice in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            dsn = settings.postgres.dsn
            sizes = {"small": copy_events(dsn, small_id, small.stored, small_mapper)}
            started = time.perf_counter()
            sizes["big"] = copy_events(dsn, big_id, big_log(big, args.big), big_mapper, progress=PROGRESS)
            print(
                f"copied {sizes['big']:,} events into the big tenant in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            with psycopg.connect(dsn, autocommit=True) as conn:
                for tenant in (small_id, big_id):
                    conn.execute(
                        sql.SQL("VACUUM ANALYZE {}.{}").format(
                            sql.Identifier(tenant_store_name(tenant)), sql.Identifier(EVENTS_TABLE)
                        )
                    )
            project_all(settings, small_id, small_mapper, sizes["small"], "small")
            project_all(settings, big_id, big_mapper, sizes["big"], "big")
            with psycopg.connect(dsn, autocommit=True) as conn:
                for tenant in (small_id, big_id):
                    schema = tenant_store_name(tenant)
                    conn.execute(sql.SQL("VACUUM ANALYZE {}.view_documents").format(sql.Identifier(schema)))
                    row = conn.execute(
                        sql.SQL(
                            "SELECT count(*), max(length(body)) FILTER (WHERE kind = 'organisation'), "
                            "max(length(body)) FILTER (WHERE key = %s) FROM {}.view_documents"
                        ).format(sql.Identifier(schema)),
                        (
                            f"engagement:{small.engagements[-1] if tenant == small_id else big.engagements[-1]}",
                        ),
                    ).fetchone()
                    assert row is not None
                    print(
                        f"  {schema}: {row[0]:,} documents, organisation body {row[1]:,} B, engagement body {row[2]:,} B"
                    )
            urls = {
                "small": f"/api/v1/tenants/{small_id}/engagements/{small.engagements[-1]}/dashboard",
                "big": f"/api/v1/tenants/{big_id}/engagements/{big.engagements[-1]}/dashboard",
            }
            with server(settings, free_port(), Path(tmp) / "server.log") as base:
                asyncio.run(measure(args, base, urls, sizes))
            targets = {"small": (small_id, small.engagements[-1]), "big": (big_id, big.engagements[-1])}
            asyncio.run(in_process(dsn, targets, args.rounds, args.requests))
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
