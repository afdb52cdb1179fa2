"""Server connections, connection churn, RSS and threads of a process serving many tenants.

For each N, a child process (the venv's python) builds the container on a fresh PostgreSQL
database, onboards N tenants and runs one command in each (establishing its organisation), a
few at a time on `worker_threads` threads as the server would. It then reports its RSS
(VmRSS) and thread count and holds its stores open while this process counts the database's
server connections in pg_stat_activity (this process's own counting connection is to another
database, so it is not included).

Churn: then the child serves `--requests` requests (a load of the tenant's organisation
aggregate, under a lease, as a request handler does) round-robin over all N tenants, on the
same threads, and this process counts the sessions PostgreSQL established to the database
meanwhile (`pg_stat_database.sessions`, a counter of new backends): new connections per
request. With more tenants than `open_tenants`, every request there opens a store that is not
open. Both figures are counts; nothing here is timed but the run.

    .venv/bin/python -m bench.tenant_footprint [--tenants 1,200] [--requests 400]
    .venv/bin/python -m bench.tenant_footprint --smoke    # seconds: 1 and 10 tenants, 40 requests
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

if __package__ in (None, ""):  # run as a plain script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from psycopg import sql

from services.migrations import migrate
from services.settings import Settings

ADMIN_URL = os.environ.get("BALKORT_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent

# Runs in the child. Protocol: it prints one JSON line when its stores are open and loaded,
# waits for a line on stdin, serves the requests, prints a JSON line again, and waits for
# another line before closing its stores and exiting.
CHILD = r"""
import json, sys, threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from domain.organisation import Organisation
from domain.provenance import Provenance
from domain.roles import Role
from services.auth.secret_keys import fresh_secrets
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.settings import Settings
from services.usecases import handle, organisation
from services.usecases.tenants import onboard_tenant


def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def provenance(tenant_id, command):
    now = datetime.now(UTC)
    return Provenance(
        actor_id=uuid4(), actor_role=Role.CLIENT_ADMIN, tenant_id=tenant_id, occurred_at=now,
        recorded_at=now, command_id=uuid4(), command_name=command, correlation_id="bench",
    )


url, data_dir, n, requests = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
settings = Settings(database_url=url, data_dir=Path(data_dir), **fresh_secrets())
container = build_container(settings)
rss_start = status("VmRSS")
system = system_provenance("OnboardTenant")
tenant_ids = [onboard_tenant(container, f"Tenant {i}", f"tenant-{i:04d}", system) for i in range(n)]


def establish(tenant_id):
    return container.tenants.call(
        tenant_id,
        lambda app: handle(
            app,
            organisation.EstablishOrganisation(tenant_id=tenant_id, name="Organisation"),
            provenance(tenant_id, "EstablishOrganisation"),
        ),
    )


with ThreadPoolExecutor(max_workers=settings.worker_threads) as pool:
    list(pool.map(establish, tenant_ids))
report = {
    "tenants": n,
    "open_stores": container.tenants.open_count,
    "rss_kib_start": rss_start,
    "rss_kib": status("VmRSS"),
    "rss_hwm_kib": status("VmHWM"),
    "threads": threading.active_count(),
    "os_threads": status("Threads"),
    "bound": settings.tenant_connections + settings.tenant_pool_size + settings.tenant_pool_overflow,
    "open_tenants": settings.open_tenants,
    "tenant_connections": settings.tenant_connections,
    "pool": [settings.tenant_pool_size, settings.tenant_pool_overflow],
}
print(json.dumps(report), flush=True)
sys.stdin.readline()


def serve(i):
    tenant_id = tenant_ids[i % n]
    return container.tenants.call(tenant_id, lambda app: app.repository.get(Organisation.id_for(tenant_id)).id)


with ThreadPoolExecutor(max_workers=settings.worker_threads) as pool:
    list(pool.map(serve, range(requests)))
print(json.dumps({"requests": requests, "open_stores": container.tenants.open_count}), flush=True)
sys.stdin.readline()
container.tenants.close()
container.control.close()
"""


@contextmanager
def fresh_database() -> Iterator[tuple[str, str]]:
    name = f"balkort_bench_{uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = Settings(database_url=ADMIN_URL).postgres.dsn.rsplit("/", 1)[0]
    try:
        # Processes refuse a database whose schema is behind theirs: migrate it as a release would.
        migrate(Settings(database_url=f"{base}/{name}"))
        yield f"{base}/{name}", name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def sessions(dbname: str) -> int:
    """Sessions PostgreSQL has established to `dbname` so far (new backends, PostgreSQL 14+)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        # The counters are cached per transaction; autocommit gives each statement fresh ones.
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (dbname,)).fetchone()
    return int(row[0]) if row else 0


def server_connections(dbname: str) -> int:
    # Connected to the admin database, so this connection is not counted.
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            (dbname,),
        ).fetchone()
    return int(row[0]) if row else 0


def run(n: int, requests: int) -> dict[str, Any]:
    with fresh_database() as (url, dbname), tempfile.TemporaryDirectory(prefix="balkort-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BALKORT_")}
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        env["PYTHONPATH"] = str(ROOT)
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(Path(tmp) / "data"), str(n), str(requests)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdin is not None
            line = child.stdout.readline()
            if not line:
                raise RuntimeError(f"the child exited ({child.wait()}) before reporting")
            report: dict[str, Any] = json.loads(line)
            report["seconds"] = time.perf_counter() - started
            # Backends of just-closed (evicted) stores may take a moment to exit.
            time.sleep(0.5)
            report["connections"] = server_connections(dbname)
            before = sessions(dbname)
            child.stdin.write("serve\n")
            child.stdin.flush()
            line = child.stdout.readline()
            if not line:
                raise RuntimeError(f"the child exited ({child.wait()}) while serving")
            served = json.loads(line)
            # PostgreSQL counts a session when its backend starts; all have by now.
            report["new_sessions"] = sessions(dbname) - before
            report["requests"] = served["requests"]
            report["connections_after"] = server_connections(dbname)
            child.stdin.write("done\n")
            child.stdin.flush()
            if child.wait(timeout=60) != 0:
                raise RuntimeError(f"the child failed ({child.returncode})")
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=lambda s: [int(x) for x in s.split(",")], default=[1, 200])
    parser.add_argument("--requests", type=int, default=400, help="requests round-robin over the tenants")
    parser.add_argument(
        "--smoke", action="store_true", help="a run of seconds: 1 and 10 tenants, 40 requests"
    )
    args = parser.parse_args()
    if args.smoke:
        args.tenants, args.requests = [1, 10], 40
    reports = [run(n, args.requests) for n in args.tenants]
    first = reports[0]
    (size, overflow) = first["pool"]
    print(
        f"bound: tenant_connections {first['tenant_connections']} (one pool for every tenant store;"
        f" open_tenants {first['open_tenants']}) + control plane {size + overflow}"
        f" = {first['bound']} server connections"
    )
    print(
        f"{'tenants':>7} {'open stores':>11} {'server conns':>12} {'RSS MiB':>8} {'RSS peak MiB':>12}"
        f" {'RSS at start':>12} {'threads':>7} {'requests':>8} {'new conns':>9} {'per request':>11}"
        f" {'conns after':>11} {'seconds':>7}"
    )
    for r in reports:
        print(
            f"{r['tenants']:>7} {r['open_stores']:>11} {r['connections']:>12} {r['rss_kib'] / 1024:8.1f}"
            f" {r['rss_hwm_kib'] / 1024:12.1f} {r['rss_kib_start'] / 1024:12.1f}"
            f" {r['os_threads']:>7} {r['requests']:>8} {r['new_sessions']:>9}"
            f" {r['new_sessions'] / max(1, r['requests']):11.2f} {r['connections_after']:>11} {r['seconds']:7.1f}"
        )


if __name__ == "__main__":
    main()
