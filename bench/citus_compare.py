"""Citus against plain PostgreSQL through the HTTP API, in one run.

Setup: database servers of the benchmark's own, started by `deploy/local/citus.sh` in a
temporary directory on free ports and destroyed at the end: one plain PostgreSQL server and a
Citus cluster of a coordinator and two workers, configured alike (the script writes the same
postgresql.conf for both, plus Citus). Or servers someone else runs, given as admin URLs in
BALKORT_BENCH_PLAIN_URL and BALKORT_BENCH_CITUS_URL (the latter a Citus coordinator with two
workers): then the benchmark makes its databases there and drops them, and stops no node.

On each: a fresh database (Citus-aware, `services.persistence.citus.create_database`),
migrated as `balkort migrate` would, seeded as `bench.rating_throughput` seeds (one tenant, a
consultant, `--units` units, 1 + `--engagements` engagements in phase mapping with every
relation mapped) and a second tenant, onboarded only. On Citus the first tenant's schema is
put on worker1 and the second's on worker2 (`citus_schema_move`, before anything is
measured). Then, per backend, the production topology: `balkort serve` (projecting what it
writes) and `balkort projector`, on Redis db 14 (flushed before and after), rate limit lifted.

Measured per round, backends interleaved (the order alternates between rounds):
  - ratings/s: `--clients` concurrent clients post `--requests` ratings round-robin over the
    `--engagements` engagements (`bench.rating_throughput`'s load: bearer token, an
    Idempotency-Key per request);
  - the dashboard: once the projector has caught up, `--dashboard-requests` sequential
    `GET .../engagements/{e}/dashboard?today=2026-11-26` (`bench.dashboard_latency`'s
    request) for the engagement that takes no ratings, p50/p99;
  - CPU time per answered rating, from the ratings' start until the read models caught up,
    by process: the load generator (this process), `balkort serve`, `balkort projector` and
    each database node (its postmaster and every backend, ended ones included); with the
    wall-clock time, how many cores the whole kept busy. On one machine this is where the
    time goes: what one node spends, the others wait for;
  - connections: `pg_stat_activity` of every node, sampled every 0.25 s through the round,
    the peak per node and by whom: the API process or the projector (the client's port
    matched to the process), Citus (its maintenance daemon and its connections between
    nodes); a worker's connection opened by a coordinator backend counts for the process that
    backend serves (Citus names it by global pid: node id * 10^10 + pid). The benchmark's own
    connections are left out.
Then, on a Citus cluster the benchmark started itself: writes for the tenant on worker1,
`--isolation-clients` concurrent clients and `--isolation-requests` per phase, p50/p99 with
both workers running and while worker2 is stopped (fast shutdown; started again after).

Only 200/201 count as answered: anything else (429, 409, 5xx, 0 = no answer) is a failure,
printed by status, and the run exits 1. Figures are medians over the rounds; a ratio is
Citus/plain within a round, then the median. Everything runs on one machine.

    .venv/bin/python -m bench.citus_compare [--rounds 3] [--clients 32] [--requests 400]
        [--units 40] [--engagements 8] [--dashboard-requests 200]
        [--isolation-clients 4] [--isolation-requests 200] [--keep-logs]
    .venv/bin/python -m bench.citus_compare --smoke   # tiny sizes, 1 round, every path
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID, uuid4

if __package__ in (None, ""):  # run as a plain script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
import psycopg
import redis

from bench.dashboard_latency import percentile
from bench.rating_throughput import (
    REDIS_URL,
    UNLIMITED_PER_MINUTE,
    Outcome,
    RatingLoad,
    Seeded,
    free_port,
    login,
    run_concurrently,
    seed,
    server,
)
from projections.postgres_behind import tenants_with_new_events
from services.auth.secret_keys import fresh_secrets
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.migrations import migrate
from services.persistence import citus
from services.persistence.env import tenant_store_name
from services.settings import Settings
from services.usecases.tenants import onboard_tenant
from tests.clusters import PrivateCluster, private_cluster

PLAIN_URL = os.environ.get("BALKORT_BENCH_PLAIN_URL")
CITUS_URL = os.environ.get("BALKORT_BENCH_CITUS_URL")
TODAY = "2026-11-26"
SAMPLE_SECONDS = 0.25
SETTLE_SECONDS = 300.0
# Citus names the connections it opens to other nodes `citus_internal gpid=G`, G being the
# global pid of the backend they work for: its node id * 10^10 + its pid.
GPID_NODE = 10_000_000_000
WHO = ("serve", "projector", "citus", "other")
CITUS_SETTINGS = (
    "max_connections",
    "citus.max_shared_pool_size",
    "citus.max_adaptive_executor_pool_size",
    "citus.max_cached_conns_per_worker",
    "citus.max_client_connections",
)


# -- servers -----------------------------------------------------------------------------
# The benchmark's own servers are the test harness's private clusters (tests/clusters.py):
# `deploy/local/citus.sh` on a directory and free ports of their own, destroyed afterwards.


# -- processes and their connections -------------------------------------------------------


def _tcp_sockets() -> dict[int, tuple[int, str]]:
    """Every TCP socket of this machine's network namespace: inode -> (local port, state)."""
    sockets: dict[int, tuple[int, str]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                parts = line.split()
                sockets[int(parts[9])] = (int(parts[1].rsplit(":", 1)[1], 16), parts[3])
    return sockets


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (which may hold spaces and parentheses)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _parent(pid: int) -> int | None:
    """The parent of a process on this machine (a backend's postmaster), if it is here."""
    fields = _stat_fields(pid)
    try:
        return int(fields[1]) if fields else None
    except ValueError:
        return None


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return ""


def _descendants(root: int) -> set[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (ppid := _parent(int(entry))) is not None:
            children.setdefault(ppid, []).append(int(entry))
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def cpu_seconds(root: int) -> float:
    """CPU time of `root` and everything below it, including children that have exited (a
    PostgreSQL backend that ended is in its postmaster's children's time)."""
    total = 0
    for pid in _descendants(root):
        fields = _stat_fields(pid)
        if fields:
            # utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the name.
            total += sum(int(v) for v in fields[11:15])
    return total / TICK


def cpu_snapshot(backend: Backend) -> dict[str, float]:
    """CPU seconds so far of each part: this process (the load), the API process, the
    projector, and each database node running on this machine."""
    times = os.times()
    parts = {
        "load": times.user + times.system,
        "serve": cpu_seconds(backend.serve_pid),
        "projector": cpu_seconds(backend.projector_pid),
    }
    for label, postmaster in backend.postmasters.items():
        parts[label] = cpu_seconds(postmaster)
    return parts


def listening_pid(port: int) -> int:
    """The process below this one that listens on `port` (`balkort serve`)."""
    listening = {inode for inode, (p, state) in _tcp_sockets().items() if p == port and state == "0A"}
    for pid in _descendants(os.getpid()):
        if _socket_inodes(pid) & listening:
            return pid
    raise RuntimeError(f"no process of this benchmark listens on port {port}")


class PortOwners:
    """Which of the backend's processes (`serve`, `projector`) a client port belongs to, or the
    benchmark itself."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.owners: dict[int, str] = {}

    def refresh(self) -> None:
        sockets = _tcp_sockets()
        # The benchmark's own connections (waiting for the read models), not counted.
        for inode in _socket_inodes(os.getpid()):
            if inode in sockets:
                self.owners[sockets[inode][0]] = "benchmark"
        for who, root in self.roots.items():
            for pid in _descendants(root):
                for inode in _socket_inodes(pid):
                    if inode in sockets:
                        self.owners[sockets[inode][0]] = who

    def owner(self, port: int | None, refreshed: list[bool]) -> str:
        if port is None:
            return "other"
        if port not in self.owners and not refreshed[0]:
            self.refresh()
            refreshed[0] = True
        return self.owners.get(port, "other")


ACTIVITY = (
    "SELECT pid, backend_type, coalesce(application_name, ''), client_port "
    "FROM pg_stat_activity WHERE datname = $1"
)


@dataclass
class Peaks:
    """The most connections seen at once, per node: in all and by whom."""

    total: dict[str, int] = field(default_factory=dict)
    by: dict[str, Counter[str]] = field(default_factory=dict)

    def note(self, node: str, seen: Counter[str]) -> None:
        self.total[node] = max(self.total.get(node, 0), sum(seen.values()))
        peak = self.by.setdefault(node, Counter())
        for who, count in seen.items():
            peak[who] = max(peak[who], count)


def classify_worker(app: str, coordinator_id: int | None, coordinator_pids: dict[int, str]) -> str:
    """Who a worker's connection is for: a coordinator backend's process, or Citus itself."""
    if not app.startswith("citus_internal gpid="):
        return "citus" if app.startswith("citus") else "other"
    try:
        gpid = int(app.split("=", 1)[1])
    except ValueError:
        return "citus"
    node, pid = divmod(gpid, GPID_NODE)
    if node == coordinator_id:
        who = coordinator_pids.get(pid, "citus")
        return who if who in ("serve", "projector", "benchmark") else "citus"
    return "citus"


# -- a backend ----------------------------------------------------------------------------


@dataclass
class Backend:
    name: str  # "plain" or "citus"
    admin_url: str
    own: PrivateCluster | None
    dbname: str = ""
    settings: Settings | None = None
    seeded: Seeded | None = None
    neighbour: UUID | None = None
    # node label -> URL of that node's `postgres` database (to count connections from outside).
    nodes: dict[str, str] = field(default_factory=dict)
    coordinator_id: int | None = None
    knobs: dict[str, dict[str, str]] = field(default_factory=dict)
    base: str = ""
    serve_port: int = 0
    projector_pid: int = 0
    serve_pid: int = 0
    # node label -> the pid of its postmaster, when it runs on this machine (for CPU time).
    postmasters: dict[str, int] = field(default_factory=dict)
    peaks: Peaks = field(default_factory=Peaks)

    @property
    def coordinator(self) -> str:
        return "coordinator" if self.name == "citus" else "server"

    @property
    def tenant_id(self) -> UUID:
        assert self.seeded is not None
        return self.seeded.tenant_id

    @property
    def dashboard_url(self) -> str:
        assert self.seeded is not None
        return f"/api/v1/tenants/{self.tenant_id}/engagements/{self.seeded.engagements[0]}/dashboard"


def onboard_neighbour(settings: Settings) -> UUID:
    container = build_container(settings)
    try:
        return onboard_tenant(container, "Nabo Kommune", "nabo-kommune", system_provenance("SeedBenchmark"))
    finally:
        container.tenants.close()
        container.control.close()


def lay_out(backend: Backend, url: str) -> None:
    """Names the nodes; on Citus puts the measured tenant on worker1 and the other on worker2."""
    with psycopg.connect(url, autocommit=True) as conn:
        is_citus = citus.is_citus(conn)
        if is_citus != (backend.name == "citus"):
            where = "BALKORT_BENCH_CITUS_URL" if backend.name == "citus" else "BALKORT_BENCH_PLAIN_URL"
            raise SystemExit(f"{where}: {backend.admin_url} is {'' if is_citus else 'not '}a Citus database")
        backend.nodes[backend.coordinator] = citus.with_database(backend.admin_url, "postgres")
        if not is_citus:
            return
        workers = citus.workers(conn)
        if len(workers) < 2:
            raise SystemExit(f"{backend.admin_url}: a Citus coordinator with two workers is needed")
        row = conn.execute("SELECT nodeid FROM pg_dist_node WHERE groupid = 0").fetchone()
        backend.coordinator_id = None if row is None else int(row[0])
        named: dict[str, citus.Node] = {}
        for k, node in enumerate(workers, start=1):
            # The cluster's own names when the benchmark started it: `worker2` is what it stops.
            label = f"worker{node.port - backend.own.port}" if backend.own else f"worker{k}"
            named[label] = node
            backend.nodes[label] = citus.node_url(backend.admin_url, node)
        assert backend.neighbour is not None
        targets = {
            tenant_store_name(backend.tenant_id): named["worker1"],
            tenant_store_name(backend.neighbour): named["worker2"],
        }
        placed = citus.distributed_schemas(conn)
        for schema, node in targets.items():
            if placed.get(schema) != node:
                conn.execute(
                    "SELECT citus_schema_move(%s::regnamespace, %s, %s, 'block_writes')",
                    (schema, node.host, node.port),
                )
        placed = citus.distributed_schemas(conn)
        assert all(placed.get(schema) == node for schema, node in targets.items()), placed


def read_knobs(backend: Backend) -> None:
    """Each node's connection settings, and its postmaster when it runs on this machine."""
    for label, url in backend.nodes.items():
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
            postmaster = _parent(int(row[0])) if row is not None else None
            if postmaster is not None and _command(postmaster) == "postgres":
                backend.postmasters[label] = postmaster
            values = {}
            for name in CITUS_SETTINGS:
                row = conn.execute("SELECT current_setting(%s, true)", (name,)).fetchone()
                if row is not None and row[0] is not None:
                    values[name] = str(row[0])
            backend.knobs[label] = values


LISTENING = (
    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = 'balkort-projector-listen'"
)


@contextmanager
def projector(settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`balkort projector` on the same database, Redis and secrets as the server."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "BALKORT_DATA_DIR": str(settings.data_dir),
        "BALKORT_JWT_SECRET": settings.jwt_secret or "",
        "BALKORT_MASTER_KEY": settings.master_key or "",
    }
    balkort = Path(sys.executable).parent / "balkort"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(balkort), "projector"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_listening(settings: Settings, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the projector listens: its connections are part of what is counted."""
    deadline = time.monotonic() + 60
    with psycopg.connect(settings.postgres.dsn, autocommit=True) as conn:
        while not conn.execute(LISTENING).fetchone():
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the projector exited ({proc.returncode}); the end of its log:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the projector did not listen within 60 s; see {log}")
            time.sleep(0.2)


def open_backend(
    name: str, given_url: str | None, args: argparse.Namespace, tmp: Path
) -> tuple[Backend, ExitStack]:
    """Servers, database, seed, `balkort serve` and `balkort projector` for one backend, and
    what closes them again."""
    with ExitStack() as stack:
        started = time.perf_counter()
        if given_url:
            backend = Backend(name, given_url, None)
        else:
            own = stack.enter_context(private_cluster(plain=name == "plain"))
            backend = Backend(name, own.admin_url, own)
            print(
                f"{name}: started {'PostgreSQL' if own.plain else 'Citus'} on port {own.port} in "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
        backend.dbname = f"balkort_bench_{uuid4().hex[:12]}"
        url = citus.create_database(backend.admin_url, backend.dbname)
        if given_url:
            stack.callback(citus.drop_database, backend.admin_url, backend.dbname)
        home = tmp / name
        backend.settings = Settings(
            database_url=url,
            redis_url=REDIS_URL,
            data_dir=home / "data",
            rate_limit_per_minute=UNLIMITED_PER_MINUTE,
            **fresh_secrets(),
        )
        migrate(backend.settings)
        started = time.perf_counter()
        backend.seeded = seed(backend.settings, args.units, 1 + args.engagements)
        backend.neighbour = onboard_neighbour(backend.settings)
        lay_out(backend, url)
        read_knobs(backend)
        print(f"{name}: seeded in {time.perf_counter() - started:.1f} s", flush=True)
        # Both processes start together; the server's context waits until it answers.
        started = time.perf_counter()
        proc = stack.enter_context(projector(backend.settings, home / "projector.log"))
        backend.projector_pid = proc.pid
        backend.serve_port = free_port()
        backend.base = stack.enter_context(server(backend.settings, backend.serve_port, home / "server.log"))
        wait_listening(backend.settings, proc, home / "projector.log")
        backend.serve_pid = listening_pid(backend.serve_port)
        print(f"{name}: serving in {time.perf_counter() - started:.1f} s", flush=True)
        return backend, stack.pop_all()
    raise AssertionError("unreachable")


# -- load ---------------------------------------------------------------------------------


class TimedRatingLoad(RatingLoad):
    """`RatingLoad`, keeping how long each answered request took."""

    async def timed(
        self, clients: int, requests: int, engagements: list[UUID], request_timeout: float = 120
    ) -> tuple[Outcome, list[float]]:
        latencies: list[float] = []
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=request_timeout) as http:

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
                started = time.perf_counter()
                try:
                    response = await http.post(url, json=body, headers=headers)
                except httpx.HTTPError:
                    return 0
                if response.status_code in (200, 201):
                    latencies.append(time.perf_counter() - started)
                return response.status_code

            outcome = await run_concurrently(clients, requests, one)
        return outcome, latencies


async def dashboard(backend: Backend, token: str, requests: int) -> tuple[list[float], Counter[int]]:
    """Sequential dashboard requests: the seconds of each 200, the statuses of the others."""
    latencies: list[float] = []
    failures: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=backend.base, headers=headers, timeout=60) as http:
        for _ in range(requests):
            started = time.perf_counter()
            try:
                response = await http.get(backend.dashboard_url, params={"today": TODAY})
            except httpx.HTTPError:
                failures[0] += 1
                continue
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                failures[response.status_code] += 1
    return latencies, failures


def settle(backend: Backend) -> float:
    """Waits until the tenant's read models have applied every event; returns the seconds."""
    assert backend.settings is not None
    started = time.perf_counter()
    with psycopg.connect(backend.settings.postgres.dsn, autocommit=True) as conn:
        while tenants_with_new_events(conn, [backend.tenant_id]):
            if time.perf_counter() - started > SETTLE_SECONDS:
                raise RuntimeError(
                    f"{backend.name}: the read models did not catch up in {SETTLE_SECONDS:.0f} s"
                )
            time.sleep(0.1)
    return time.perf_counter() - started


class ConnectionCounter:
    """Samples `pg_stat_activity` on every node of a backend while a block runs."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.owners = PortOwners({"serve": backend.serve_pid, "projector": backend.projector_pid})
        self.conns: dict[str, asyncpg.Connection] = {}
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ConnectionCounter:
        for label, url in self.backend.nodes.items():
            self.conns[label] = await asyncpg.connect(url)
        self.task = asyncio.create_task(self._sample_until_cancelled())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with suppress(asyncio.CancelledError):
            await self.task
        await self.sample()
        for conn in self.conns.values():
            await conn.close()

    async def _sample_until_cancelled(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(SAMPLE_SECONDS)

    async def sample(self) -> None:
        refreshed = [False]
        backend = self.backend
        coordinator_pids: dict[int, str] = {}
        # The coordinator first: a worker's connections are attributed through its backends.
        for label, conn in self.conns.items():
            rows = await conn.fetch(ACTIVITY, backend.dbname)
            seen: Counter[str] = Counter()
            for pid, backend_type, app, port in rows:
                if backend_type != "client backend":
                    who = "citus" if "citus" in backend_type.lower() else "other"
                elif label == backend.coordinator:
                    who = "citus" if app.startswith("citus_internal") else self.owners.owner(port, refreshed)
                    coordinator_pids[pid] = who
                else:
                    who = classify_worker(app, backend.coordinator_id, coordinator_pids)
                if who != "benchmark":
                    seen[who] += 1
            backend.peaks.note(label, seen)


# -- main ---------------------------------------------------------------------------------


@dataclass
class Figures:
    rates: list[float] = field(default_factory=list)
    rating_p50: list[float] = field(default_factory=list)
    rating_p99: list[float] = field(default_factory=list)
    dash_p50: list[float] = field(default_factory=list)
    dash_p99: list[float] = field(default_factory=list)
    settle: list[float] = field(default_factory=list)
    rating_failures: Counter[int] = field(default_factory=Counter)
    # CPU milliseconds per answered rating, by part, while rating and catching up; cores busy.
    cpu: dict[str, list[float]] = field(default_factory=dict)
    dash_failures: Counter[int] = field(default_factory=Counter)


def ms(values: list[float], q: float) -> float:
    return percentile(values, q) * 1000 if values else float("nan")


def failure_note(failures: Counter[int], total: int) -> str:
    return f"{sum(failures.values())}/{total} {dict(failures)}" if failures else "none"


async def isolation(
    args: argparse.Namespace, backend: Backend, load: TimedRatingLoad, spread: list[UUID]
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, list[float]], dict[str, Counter[int]]]:
    """Writes for the tenant on worker1 with both workers running, then with worker2 stopped."""
    assert backend.own is not None
    phases = ("both workers running", "worker2 stopped")
    p50: dict[str, list[float]] = {p: [] for p in phases}
    p99: dict[str, list[float]] = {p: [] for p in phases}
    worst: dict[str, list[float]] = {p: [] for p in phases}
    failures: dict[str, Counter[int]] = {p: Counter() for p in phases}
    for r in range(args.rounds):
        for phase in phases:
            if phase == "worker2 stopped":
                await asyncio.to_thread(backend.own.stop_node, "worker2")
            try:
                outcome, latencies = await load.timed(
                    args.isolation_clients, args.isolation_requests, spread, request_timeout=30
                )
            finally:
                if phase == "worker2 stopped":
                    await asyncio.to_thread(backend.own.start_node, "worker2")
            p50[phase].append(ms(latencies, 0.5))
            p99[phase].append(ms(latencies, 0.99))
            failures[phase].update(outcome.failures)
            worst[phase].append(max(latencies, default=float("nan")) * 1000)
        print(
            f"isolation round {r + 1}/{args.rounds}: running p50 {p50[phases[0]][-1]:.1f} p99 "
            f"{p99[phases[0]][-1]:.1f} ms; worker2 stopped p50 {p50[phases[1]][-1]:.1f} p99 "
            f"{p99[phases[1]][-1]:.1f} ms",
            flush=True,
        )
    return p50, p99, worst, failures


async def measure(args: argparse.Namespace, backends: list[Backend]) -> int:
    """Runs the rounds and prints the tables; returns how many requests failed."""
    tokens: dict[str, str] = {}
    loads: dict[str, TimedRatingLoad] = {}
    spread: dict[str, list[UUID]] = {}
    figures = {b.name: Figures() for b in backends}
    warm_failures = 0
    for b in backends:
        assert b.seeded is not None
        tokens[b.name] = await login(b.base)
        loads[b.name] = TimedRatingLoad(b.base, tokens[b.name], b.seeded)
        spread[b.name] = b.seeded.engagements[1:]
        # A short warm-up: opens the tenant store, fills caches; then the read models catch up.
        warm, _ = await loads[b.name].timed(4, 20, spread[b.name])
        warm_failures += sum(warm.failures.values())
        if warm.failures:
            print(f"{b.name}: warm-up failures (status: count): {dict(warm.failures)}", flush=True)
        print(f"{b.name}: read models caught up in {await asyncio.to_thread(settle, b):.1f} s", flush=True)
        _, warm_dashboard = await dashboard(b, tokens[b.name], 20)
        warm_failures += sum(warm_dashboard.values())

    ratios: dict[str, list[float]] = {"ratings/s": [], "dashboard p99": []}
    for r in range(args.rounds):
        order = backends if r % 2 == 0 else list(reversed(backends))
        for b in order:
            f = figures[b.name]
            async with ConnectionCounter(b):
                before, started = cpu_snapshot(b), time.perf_counter()
                outcome, latencies = await loads[b.name].timed(args.clients, args.requests, spread[b.name])
                f.settle.append(await asyncio.to_thread(settle, b))
                after, elapsed = cpu_snapshot(b), time.perf_counter() - started
                dash, dash_failed = await dashboard(b, tokens[b.name], args.dashboard_requests)
            answered = max(1, args.requests - sum(outcome.failures.values()))
            for part in before:
                f.cpu.setdefault(part, []).append((after[part] - before[part]) * 1000 / answered)
            f.cpu.setdefault("cores busy", []).append(sum(after[k] - before[k] for k in before) / elapsed)
            f.rates.append(outcome.per_second)
            f.rating_p50.append(ms(latencies, 0.5))
            f.rating_p99.append(ms(latencies, 0.99))
            f.rating_failures.update(outcome.failures)
            f.dash_p50.append(ms(dash, 0.5))
            f.dash_p99.append(ms(dash, 0.99))
            f.dash_failures.update(dash_failed)
        plain, cit = figures["plain"], figures["citus"]
        ratios["ratings/s"].append(cit.rates[-1] / plain.rates[-1])
        ratios["dashboard p99"].append(cit.dash_p99[-1] / plain.dash_p99[-1])
        print(
            f"round {r + 1}/{args.rounds}: ratings/s plain {plain.rates[-1]:.1f} citus {cit.rates[-1]:.1f} "
            f"(ratio {ratios['ratings/s'][-1]:.3f}); dashboard p99 plain {plain.dash_p99[-1]:.1f} "
            f"citus {cit.dash_p99[-1]:.1f} ms; caught up after plain {plain.settle[-1]:.1f} "
            f"citus {cit.settle[-1]:.1f} s",
            flush=True,
        )

    citus_backend = next(b for b in backends if b.name == "citus")
    isolated = None
    if citus_backend.own is not None:
        isolated = await isolation(args, citus_backend, loads["citus"], spread["citus"])

    med = statistics.median
    plain, cit = figures["plain"], figures["citus"]
    print()
    print(
        f"rounds={args.rounds} clients={args.clients} ratings/round={args.requests} units={args.units} "
        f"spread over {args.engagements} engagements; dashboard requests/round={args.dashboard_requests}, "
        "sequential"
    )
    print("(medians over rounds; citus/plain per round, then the median)")
    print(f"{'figure':<22} {'plain':>10} {'citus':>10} {'citus/plain':>12}")
    rows = [
        ("ratings/s", plain.rates, cit.rates, med(ratios["ratings/s"])),
        ("rating p50 ms", plain.rating_p50, cit.rating_p50, None),
        ("rating p99 ms", plain.rating_p99, cit.rating_p99, None),
        ("dashboard p50 ms", plain.dash_p50, cit.dash_p50, None),
        ("dashboard p99 ms", plain.dash_p99, cit.dash_p99, med(ratios["dashboard p99"])),
        ("caught up after s", plain.settle, cit.settle, None),
    ]
    for label, p, c, ratio in rows:
        ratio = med(c) / med(p) if ratio is None else ratio
        print(f"{label:<22} {med(p):10.1f} {med(c):10.1f} {ratio:12.3f}")
    verdict = "met" if med(ratios["ratings/s"]) >= 0.9 else "missed"
    print(f"target citus/plain ratings/s >= 0.9: {verdict}")
    total_ratings, total_dash = args.requests * args.rounds, args.dashboard_requests * args.rounds
    for b in backends:
        f = figures[b.name]
        print(
            f"failures {b.name}: ratings {failure_note(f.rating_failures, total_ratings)}, "
            f"dashboard {failure_note(f.dash_failures, total_dash)}"
        )
    failed = warm_failures + sum(
        sum(f.rating_failures.values()) + sum(f.dash_failures.values()) for f in figures.values()
    )

    print()
    if isolated is None:
        print(
            "worker isolation: not measured (the Citus cluster is not this benchmark's own; it stops no node it did not start)"
        )
    else:
        p50, p99, worst, iso_failures = isolated
        print(
            f"writes for the tenant on worker1: {args.isolation_clients} clients, {args.isolation_requests} "
            "ratings per phase (medians over rounds)"
        )
        print(f"{'phase':<22} {'p50 ms':>8} {'p99 ms':>8}  failures")
        for phase in p50:
            note = failure_note(iso_failures[phase], args.isolation_requests * args.rounds)
            print(f"{phase:<22} {med(p50[phase]):8.1f} {med(p99[phase]):8.1f}  {note}")
        stopped, running = p99["worker2 stopped"], p99["both workers running"]
        print(
            f"p99 worker2 stopped / running: {med([s / r for s, r in zip(stopped, running, strict=True)]):.2f}; "
            f"slowest write: {max(worst['both workers running']):.1f} ms running, "
            f"{max(worst['worker2 stopped']):.1f} ms while worker2 was stopped"
        )
        failed += sum(sum(c.values()) for c in iso_failures.values())

    print()
    print(
        "CPU ms per answered rating, by process (the ratings and the read models catching up; medians "
        "over rounds); cores busy = all of it / wall-clock time, on a machine of "
        f"{os.cpu_count()} cores shared with other work"
    )
    parts = ["load", "serve", "projector", "server", "coordinator", "worker1", "worker2"]
    print(f"{'backend':<8} " + " ".join(f"{p:>11}" for p in parts) + f" {'total':>8} {'cores busy':>11}")
    for b in backends:
        cpu = figures[b.name].cpu
        cells = [f"{med(cpu[p]):11.1f}" if p in cpu else f"{'-':>11}" for p in parts]
        total = med([sum(v) for v in zip(*(cpu[p] for p in parts if p in cpu), strict=True)])
        print(f"{b.name:<8} " + " ".join(cells) + f" {total:8.1f} {med(cpu['cores busy']):11.2f}")

    print()
    print(
        f"peak connections per node through the rounds (sampled every {SAMPLE_SECONDS} s, the benchmark's database)"
    )
    print(f"{'backend':<8} {'node':<12} {'total':>6} " + " ".join(f"{w:>9}" for w in WHO))
    for b in backends:
        for label in b.nodes:
            by = b.peaks.by.get(label, Counter())
            print(
                f"{b.name:<8} {label:<12} {b.peaks.total.get(label, 0):6d} "
                + " ".join(f"{by[w]:9d}" for w in WHO)
            )
    s = citus_backend.settings
    assert s is not None
    print(
        f"process settings: tenant_connections {s.tenant_connections}, control plane "
        f"{s.tenant_pool_size}+{s.tenant_pool_overflow}, projector_pool_size {s.projector_pool_size}, "
        f"view_query_pool_size {s.view_query_pool_size}"
    )
    for label, knobs in citus_backend.knobs.items():
        print(f"citus {label}: " + ", ".join(f"{k}={v}" for k, v in knobs.items()))
    return failed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=400, help="ratings per round and backend")
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--engagements", type=int, default=8, help="the ratings go round-robin over these")
    parser.add_argument("--dashboard-requests", type=int, default=200, help="per round and backend")
    parser.add_argument("--isolation-clients", type=int, default=4)
    parser.add_argument("--isolation-requests", type=int, default=200, help="ratings per phase and round")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' and projectors' logs")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 round: every path, seconds")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.clients, args.requests, args.units, args.engagements = 1, 4, 20, 4, 2
        args.dashboard_requests, args.isolation_clients, args.isolation_requests = 10, 2, 10

    redis.Redis.from_url(REDIS_URL).flushdb()
    tmp = Path(tempfile.mkdtemp(prefix="balkort-bench-"))
    failed = 0
    try:
        with ExitStack() as stack:
            # The two backends are set up side by side (servers, seeding, processes starting).
            with ThreadPoolExecutor(2) as pool:
                futures = [
                    pool.submit(open_backend, name, url, args, tmp)
                    for name, url in (("plain", PLAIN_URL), ("citus", CITUS_URL))
                ]
            backends: list[Backend] = []
            error: BaseException | None = None
            for future in futures:
                try:
                    backend, closes = future.result()
                except BaseException as exc:
                    error = error or exc
                    continue
                stack.enter_context(closes)
                backends.append(backend)
            if error is not None:
                raise error
            failed = asyncio.run(measure(args, backends))
    finally:
        redis.Redis.from_url(REDIS_URL).flushdb()
        if args.keep_logs:
            print(f"logs: {tmp}/plain, {tmp}/citus")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        print(f"{failed} requests failed (see the failures lines)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
