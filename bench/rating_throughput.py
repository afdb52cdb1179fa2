"""Ratings per second through the real HTTP server vs raw asyncpg inserts, in one run.

Setup: a fresh PostgreSQL database (random name, dropped at the end), Redis db 14 (flushed),
a tenant with one consultant, an organisation of `--units` units and engagements in phase
mapping where every unit has mapped its relations to all the others. The seeding runs
in-process through the container; then `balkort serve` runs as a subprocess on a free port
and an httpx client signs in once and submits ratings (bearer token, an Idempotency-Key per
request, as an API client would send).

Measured per round, for each concurrency level (default 1 and 32 clients):
  - HTTP, one engagement: every rating goes to the same aggregate, so concurrent writers
    contend on it and the application retries on conflicts;
  - HTTP, spread: ratings go round-robin over `--engagements` engagements (aggregates);
  - baseline: raw asyncpg single-row INSERT (autocommit) into a table shaped like the event
    store's events table, one connection per client.
The p99 of each burst is printed beside the raw inserts' p99 (P2). Then the growth measurement
(P1): by the most clients, the rate of `--growth-window` ratings into an engagement with none,
and of as many once `--growth` ratings are in it (a further engagement seeded for it).
Each request rates a distinct relation until they run out, then re-rates; every request must
answer 200/201. Only those count as throughput: a refused one (429, 409, 5xx) or one that got
no answer is a failure, counted by status (0: no answer) and reported, and the run then exits 1.
The server's rate limit is lifted (one principal sends thousands of ratings a minute here; the
limit is not what is measured). The figures are medians over the rounds; the ratio is HTTP
ratings/s over raw inserts/s measured in the same round. The load generator runs on the same
machine as the server and PostgreSQL.

    .venv/bin/python -m bench.rating_throughput [--rounds 3] [--requests 300] [--units 40]
        [--clients 1,32] [--engagements 8] [--growth 1500] [--growth-window 150]
    .venv/bin/python -m bench.rating_throughput --smoke   # seconds: tiny sizes, 1 round
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import itertools
import os
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID, uuid4

if __package__ in (None, ""):  # run as a plain script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
import psycopg
import redis
from psycopg import sql

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.phases import Phase
from domain.preparation import Preparation
from domain.provenance import Provenance
from domain.ratings import RatingMode
from domain.roles import Role
from services.application import TenantApplication
from services.auth.secret_keys import fresh_secrets
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.migrations import migrate
from services.settings import Settings
from services.usecases import handle, organisation, theme_day
from services.usecases.engagements import AdvancePhase, PrepareEngagement
from services.usecases.tenants import onboard_tenant

ADMIN_URL = os.environ.get("BALKORT_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BALKORT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
EMAIL = "bench-consultant@balkort.example"
PASSWORD = "bench-password-not-secret"  # noqa: S105 - a throwaway user in a throwaway database
# The size of a stored RatingSubmitted event with seven scores and a provenance, roughly.
RAW_STATE = os.urandom(640)
RAW_TOPIC = "domain.engagement:Engagement.RatingSubmitted"
# Five sets of scores, used in turn.
SCORES = [{key: (i + j) % 5 + 1 for j, key in enumerate(DEFAULT_INSTRUMENT.dimension_keys)} for i in range(5)]
# Requests per minute per principal for a server under load from one signed-in client.
UNLIMITED_PER_MINUTE = 100_000_000


# -- setup -------------------------------------------------------------------------------


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"balkort_bench_{uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = Settings(database_url=ADMIN_URL).postgres.dsn.rsplit("/", 1)[0]
    try:
        # Processes refuse a database whose schema is behind theirs: migrate it as a release would.
        migrate(Settings(database_url=f"{base}/{name}"))
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def provenance(tenant_id: UUID, actor_id: UUID, command: str) -> Provenance:
    now = datetime.now(UTC)
    return Provenance(
        actor_id=actor_id,
        actor_role=Role.CONSULTANT,
        tenant_id=tenant_id,
        occurred_at=now,
        recorded_at=now,
        command_id=uuid4(),
        command_name=command,
        correlation_id=f"bench-{command}",
    )


@dataclass
class Seeded:
    tenant_id: UUID
    engagements: list[UUID]
    actor_id: UUID
    # (unit, counterpart) pairs mapped in every engagement.
    relations: list[tuple[UUID, UUID]] = field(default_factory=list)


def seed(settings: Settings, units: int, engagements: int) -> Seeded:
    container = build_container(settings)
    try:
        system = system_provenance("SeedBenchmark")
        tenant_id = onboard_tenant(container, "Benchmark Kommune", "benchmark-kommune", system)
        user_id = container.control.register_user(
            EMAIL, "Bench Consultant", PASSWORD, Role.CONSULTANT, system
        )
        container.control.grant_membership(user_id, tenant_id, Role.CONSULTANT, system)

        def build(app: TenantApplication) -> Seeded:
            def p(command: str) -> Provenance:
                return provenance(tenant_id, user_id, command)

            handle(
                app,
                organisation.EstablishOrganisation(tenant_id=tenant_id, name="Benchmark Kommune"),
                p("EstablishOrganisation"),
            )
            unit_ids = tuple(
                handle(app, organisation.AddUnit(tenant_id=tenant_id, name=f"Enhed {i:03d}"), p("AddUnit"))
                for i in range(units)
            )
            seeded = Seeded(tenant_id, [], user_id)
            seeded.relations = [(u, c) for u in unit_ids for c in unit_ids if c != u]
            for n in range(engagements):
                preparation = Preparation(
                    title=f"Benchmark {n}",
                    focus="Throughput",
                    target_group="Everyone",
                    work_process="Rating",
                    planning_group=("Bench",),
                    theme_day=date(2026, 11, 26),
                    follow_up_meeting=None,
                )
                eid = handle(
                    app,
                    PrepareEngagement(
                        tenant_id=tenant_id,
                        preparation=preparation,
                        unit_ids=unit_ids,
                        instrument=DEFAULT_INSTRUMENT,
                        rating_mode=RatingMode.UNIT,
                        min_group_size=3,
                        rounds=3,
                    ),
                    p("Prepare"),
                )
                for phase in (Phase.PREPARED, Phase.THEME_DAY_OPEN):
                    handle(
                        app,
                        AdvancePhase(engagement_id=eid, expected_phase=phase),
                        p("AdvancePhase"),
                    )
                for unit in unit_ids:
                    others = tuple(c for c in unit_ids if c != unit)
                    handle(
                        app,
                        theme_day.MapRelations(engagement_id=eid, unit_id=unit, counterpart_ids=others),
                        p("MapRelations"),
                    )
                seeded.engagements.append(eid)
            return seeded

        return container.tenants.call(tenant_id, build)
    finally:
        container.tenants.close()
        container.control.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(settings: Settings, port: int, log: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "BALKORT_PORT": str(port),
        "BALKORT_HOST": "127.0.0.1",
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "BALKORT_DATA_DIR": str(settings.data_dir),
        # The secrets the seeding container used: the server must open the same tenant keys.
        "BALKORT_JWT_SECRET": settings.jwt_secret or "",
        "BALKORT_MASTER_KEY": settings.master_key or "",
        "BALKORT_RATE_LIMIT_PER_MINUTE": str(settings.rate_limit_per_minute),
        "BALKORT_PROJECT_IN_PROCESS": settings.in_process_projection,
    }
    balkort = Path(sys.executable).parent / "balkort"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(balkort), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the server exited ({proc.returncode}); the end of its log:\n{tail}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within 60 s; see {log}")
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- load --------------------------------------------------------------------------------


@dataclass
class Outcome:
    # Answered requests (200/201) per second: refused or unanswered ones are not throughput.
    per_second: float
    failures: Counter[int] = field(default_factory=Counter)
    # Seconds from sending to the answer, of the answered requests only.
    latencies: list[float] = field(default_factory=list)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_concurrently(clients: int, requests: int, one: Callable[[int], Awaitable[int]]) -> Outcome:
    """`requests` calls of `one(i)` by `clients` workers; `one` returns the HTTP status (or 0)."""
    counter = itertools.count()
    failures: Counter[int] = Counter()
    latencies: list[float] = []

    async def worker() -> None:
        while (i := next(counter)) < requests:
            sent = time.perf_counter()
            status = await one(i)
            if status not in (200, 201):
                failures[status] += 1
            else:
                latencies.append(time.perf_counter() - sent)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    answered = requests - sum(failures.values())
    return Outcome(answered / (time.perf_counter() - started), failures, latencies)


class RatingLoad:
    def __init__(self, base: str, token: str, seeded: Seeded) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.seeded = seeded
        self.next_relation = {eid: itertools.count() for eid in seeded.engagements}
        self.scores = SCORES

    async def run(self, clients: int, requests: int, engagements: list[UUID]) -> Outcome:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=120) as http:

            async def one(i: int) -> int:
                eid = engagements[i % len(engagements)]
                n = next(self.next_relation[eid])
                unit, counterpart = self.seeded.relations[n % len(self.seeded.relations)]
                body = {
                    "unit_id": str(unit),
                    "counterpart_id": str(counterpart),
                    "scores": self.scores[n % 5],
                }
                url = f"/api/v1/tenants/{self.seeded.tenant_id}/engagements/{eid}/ratings"
                headers = {**self.headers, "Idempotency-Key": uuid4().hex}
                try:
                    response = await http.post(url, json=body, headers=headers)
                except httpx.HTTPError:
                    return 0
                return response.status_code

            return await run_concurrently(clients, requests, one)


async def floor_ms(base: str, token: str, requests: int) -> float:
    """The median round trip of an authenticated `GET /api/v1/me`, one client: what the HTTP
    stack, authentication and the control plane's user lookup cost without a command."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        times = []
        for _ in range(requests):
            sent = time.perf_counter()
            response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            response.raise_for_status()
            times.append(time.perf_counter() - sent)
    return statistics.median(times) * 1000


def profile_commands(settings: Settings, seeded: Seeded, engagement: UUID, count: int) -> None:
    """Without HTTP, in this process: `count` ratings into `engagement` one after another
    through the use cases' front door (working copy, domain, event store), timed and
    cProfiled after the first (which loads the engagement)."""
    container = build_container(settings)
    times: list[float] = []
    profiler = cProfile.Profile()
    try:
        for n in range(count + 1):
            unit, counterpart = seeded.relations[n % len(seeded.relations)]
            command = theme_day.SubmitRating(
                engagement_id=engagement, unit_id=unit, counterpart_id=counterpart, scores=SCORES[n % 5]
            )
            p = provenance(seeded.tenant_id, seeded.actor_id, "SubmitRating")
            started = time.perf_counter()
            if n:
                profiler.enable()
            container.tenants.call(seeded.tenant_id, lambda app, c=command, p=p: handle(app, c, p))
            if n:
                profiler.disable()
                times.append(time.perf_counter() - started)
    finally:
        container.tenants.close()
        container.control.close()
    print()
    print(
        f"in-process: {count} ratings one after another, no HTTP: median {statistics.median(times) * 1000:.2f} ms, "
        f"p99 {percentile(times, 0.99) * 1000:.2f} ms per command"
    )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue())


async def login(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        response = await http.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        response.raise_for_status()
        return str(response.json()["token"])


RAW_TABLE = """
CREATE TABLE IF NOT EXISTS bench_raw.stored_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version));
CREATE UNIQUE INDEX IF NOT EXISTS bench_raw_notification_id ON bench_raw.stored_events (notification_id ASC);
"""
RAW_INSERT = (
    "INSERT INTO bench_raw.stored_events (originator_id, originator_version, topic, state) "
    "VALUES ($1, $2, $3, $4) RETURNING notification_id"
)


async def raw_inserts(dsn: str, clients: int, requests: int) -> Outcome:
    connections = [await asyncpg.connect(dsn) for _ in range(clients)]
    try:
        idle = asyncio.Queue[asyncpg.Connection]()
        for conn in connections:
            idle.put_nowait(conn)

        async def one(i: int) -> int:
            conn = await idle.get()
            try:
                await conn.fetchval(RAW_INSERT, uuid4(), 1, RAW_TOPIC, RAW_STATE)
            except asyncpg.PostgresError:
                return 0
            finally:
                idle.put_nowait(conn)
            return 201

        return await run_concurrently(clients, requests, one)
    finally:
        for conn in connections:
            await conn.close()


# -- main --------------------------------------------------------------------------------


async def measure(args: argparse.Namespace, settings: Settings, seeded: Seeded, base: str) -> int:
    """Runs the rounds and prints the table; returns how many requests failed."""
    dsn = settings.postgres.dsn
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE SCHEMA IF NOT EXISTS bench_raw")
    await conn.execute(RAW_TABLE)
    await conn.close()

    token = await login(base)
    load = RatingLoad(base, token, seeded)
    # The last engagement is kept for the growth measurement (P1: flat in the engagement's size).
    growing = seeded.engagements[-1] if args.growth else None
    rounds_over = seeded.engagements[:-1] if args.growth else seeded.engagements
    single, spread = rounds_over[:1], rounds_over[1:]
    kinds = ["one", "spread"] if spread else ["one"]
    results: dict[tuple[str, int], list[float]] = {}
    failures: dict[tuple[str, int], Counter[int]] = {}
    ratios: dict[tuple[str, int], list[float]] = {}
    p99s: dict[tuple[str, int], list[float]] = {}

    # A short warm-up: opens the tenant store, fills caches and the JIT-free code paths.
    warm = await load.run(4, 20, spread or single)
    if warm.failures:
        print(f"warm-up failures (status: count, 0 = no answer): {dict(warm.failures)}", flush=True)
    await raw_inserts(dsn, 4, 50)

    for r in range(args.rounds):
        for clients in args.clients:
            raw = await raw_inserts(dsn, clients, args.raw_requests)
            results.setdefault(("raw", clients), []).append(raw.per_second)
            failures.setdefault(("raw", clients), Counter()).update(raw.failures)
            p99s.setdefault(("raw", clients), []).append(raw.p99_ms)
            for kind in kinds:
                outcome = await load.run(clients, args.requests, single if kind == "one" else spread)
                results.setdefault((kind, clients), []).append(outcome.per_second)
                failures.setdefault((kind, clients), Counter()).update(outcome.failures)
                ratios.setdefault((kind, clients), []).append(outcome.per_second / raw.per_second)
                p99s.setdefault((kind, clients), []).append(outcome.p99_ms)
            row = "  ".join(f"{kind}={results[(kind, clients)][-1]:.0f}/s" for kind in ["raw", *kinds])
            print(f"round {r + 1}/{args.rounds} clients={clients:>3}: {row}", flush=True)

    med = statistics.median
    print()
    print(
        f"rounds={args.rounds} requests/round={args.requests} raw inserts/round={args.raw_requests} "
        f"units={args.units} relations/engagement={len(seeded.relations)} spread over {len(spread)} engagements"
    )
    print("(medians; ratio = HTTP ratings/s / raw inserts/s, per round, then median)")
    header = f"{'clients':>7} {'HTTP 1 agg/s':>13} {'HTTP spread/s':>14} {'raw inserts/s':>14} {'ratio 1 agg':>12} {'ratio spread':>13}  failures"
    print(header)
    for clients in args.clients:
        one = med(results[("one", clients)])
        spr = med(results[("spread", clients)]) if spread else float("nan")
        raw_rate = med(results[("raw", clients)])
        r1 = med(ratios[("one", clients)])
        rs = med(ratios[("spread", clients)]) if spread else float("nan")
        failed = {
            kind: dict(failures[(kind, clients)]) for kind in ["raw", *kinds] if failures[(kind, clients)]
        }
        total = {k: (args.raw_requests if k == "raw" else args.requests) * args.rounds for k in failed}
        note = ", ".join(f"{k}: {sum(v.values())}/{total[k]} {v}" for k, v in failed.items()) or "none"
        print(f"{clients:>7} {one:13.1f} {spr:14.1f} {raw_rate:14.1f} {r1:12.3f} {rs:13.3f}  {note}")
    print()
    print(
        "p99 of each burst (ms; medians over rounds; ratio = HTTP p99 / raw insert p99, per round, then median)"
    )
    print(
        f"{'clients':>7} {'HTTP 1 agg':>11} {'HTTP spread':>12} {'raw insert':>11} {'ratio 1 agg':>12} {'ratio spread':>13}"
    )
    for clients in args.clients:
        raw_p99 = p99s[("raw", clients)]
        by_kind = {
            kind: (
                med(p99s[(kind, clients)]),
                med(h / r for h, r in zip(p99s[(kind, clients)], raw_p99, strict=True)),
            )
            for kind in kinds
        }
        one_p99, one_ratio = by_kind["one"]
        spr_p99, spr_ratio = by_kind.get("spread", (float("nan"), float("nan")))
        print(
            f"{clients:>7} {one_p99:11.1f} {spr_p99:12.1f} {med(raw_p99):11.2f} {one_ratio:12.1f} {spr_ratio:13.1f}"
        )
    failed = sum(sum(c.values()) for c in failures.values()) + sum(warm.failures.values())
    if growing is not None:
        failed += await growth(args, load, growing)
    print()
    print(f"floor: GET /api/v1/me, one client, p50 {await floor_ms(base, token, 200):.2f} ms")
    return failed


async def growth(args: argparse.Namespace, load: RatingLoad, engagement: UUID) -> int:
    """The rate into an engagement with no ratings against the rate into the same engagement
    once `--growth` ratings are in it, by the most clients measured; returns the failures."""
    clients = max(args.clients)
    window = args.growth_window
    empty = await load.run(clients, window, [engagement])
    filling = await load.run(clients, max(0, args.growth - window), [engagement])
    grown = await load.run(clients, window, [engagement])
    print()
    print(
        f"growth: {clients} clients, one engagement, {window} ratings at 0 and at {args.growth} ratings in it"
    )
    print(
        f"  at 0: {empty.per_second:.1f}/s (p99 {empty.p99_ms:.1f} ms)   "
        f"at {args.growth}: {grown.per_second:.1f}/s (p99 {grown.p99_ms:.1f} ms)   "
        f"rate at {args.growth} / rate at 0: {grown.per_second / empty.per_second:.2f}   "
        f"(filling: {filling.per_second:.1f}/s)"
    )
    failures = empty.failures + filling.failures + grown.failures
    if failures:
        print(f"  failures (status: count, 0 = no answer): {dict(failures)}")
    return sum(failures.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300, help="HTTP ratings per round and level")
    parser.add_argument("--raw-requests", type=int, default=3000, help="raw inserts per round and level")
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 32])
    parser.add_argument("--engagements", type=int, default=8, help="spread over this many (0: skip)")
    parser.add_argument(
        "--growth",
        type=int,
        default=1500,
        help="ratings into one engagement before its rate is measured again (0: skip)",
    )
    parser.add_argument(
        "--growth-window", type=int, default=150, help="ratings measured at 0 and at --growth"
    )
    parser.add_argument(
        "--profile", type=int, default=0, help="then this many ratings in-process, without HTTP, cProfiled"
    )
    parser.add_argument(
        "--project-in-process",
        choices=["written", "none"],
        default="written",
        help="what the server projects itself (the PostgreSQL default: what it wrote; none: a projector would)",
    )
    parser.add_argument("--keep-log", action="store_true", help="print the server log's path and keep it")
    parser.add_argument("--smoke", action="store_true", help="a run of seconds: tiny sizes, 1 round")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.requests, args.raw_requests, args.units = 1, 20, 50, 4
        args.clients, args.engagements = [1, 4], 2
        args.growth, args.growth_window = 30, 10
        args.profile = 10

    redis.Redis.from_url(REDIS_URL).flushdb()
    tmp = tempfile.mkdtemp(prefix="balkort-bench-")
    try:
        with fresh_database() as url:
            settings = Settings(
                project_in_process=args.project_in_process,
                database_url=url,
                redis_url=REDIS_URL,
                data_dir=Path(tmp) / "data",
                rate_limit_per_minute=UNLIMITED_PER_MINUTE,
                **fresh_secrets(),
            )
            started = time.perf_counter()
            seeded = seed(settings, args.units, 1 + args.engagements + (1 if args.growth else 0))
            print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
            log = Path(tmp) / "server.log"
            with server(settings, free_port(), log) as base:
                failed = asyncio.run(measure(args, settings, seeded, base))
            if args.profile:
                profile_commands(settings, seeded, seeded.engagements[-1], args.profile)
            if args.keep_log:
                print(f"server log: {log}")
    finally:
        redis.Redis.from_url(REDIS_URL).flushdb()
        if not args.keep_log:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        print(f"{failed} requests failed (see the failures column)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
