"""Server connections, RSS and threads of a process serving 1 vs many tenants on PostgreSQL.

For each N, a child process (the venv's python) builds the container on a fresh database,
onboards N tenants and runs one command in each (establishing its organisation), a few at a
time on `worker_threads` threads as the server would. It then reports its RSS (VmRSS) and
thread count and holds its stores open while this process counts the database's server
connections in pg_stat_activity (this process's own counting connection excluded). The
configured bound is

    open_tenants * (tenant_pool_size + tenant_pool_overflow) + control plane

where the control plane's store has a pool of the same size.

    .venv/bin/python -m bench.tenant_footprint [--tenants 1,200]
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

from services.settings import Settings

ADMIN_URL = os.environ.get("BALKORT_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent

# Runs in the child. Protocol: it prints one JSON line when its stores are open and loaded,
# then waits for a line on stdin before closing them and exiting.
CHILD = r"""
import json, sys, threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from domain.provenance import Provenance
from domain.roles import Role
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.settings import Settings


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


url, data_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = Settings(database_url=url, data_dir=Path(data_dir))
container = build_container(settings)
rss_start = status("VmRSS")
system = system_provenance("OnboardTenant")
tenant_ids = [container.onboard_tenant(f"Tenant {i}", f"tenant-{i:04d}", system) for i in range(n)]


def establish(tenant_id):
    return container.tenants.call(
        tenant_id,
        lambda app: app.establish_organisation(tenant_id, "Organisation", provenance(tenant_id, "EstablishOrganisation")),
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
    "bound": settings.open_tenants * (settings.tenant_pool_size + settings.tenant_pool_overflow)
    + settings.tenant_pool_size + settings.tenant_pool_overflow,
    "open_tenants": settings.open_tenants,
    "pool": [settings.tenant_pool_size, settings.tenant_pool_overflow],
}
print(json.dumps(report), flush=True)
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
        yield f"{base}/{name}", name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def server_connections(dbname: str) -> int:
    # Connected to the admin database, so this connection is not counted.
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            (dbname,),
        ).fetchone()
    return int(row[0]) if row else 0


def run(n: int) -> dict[str, Any]:
    with fresh_database() as (url, dbname), tempfile.TemporaryDirectory(prefix="balkort-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BALKORT_")}
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        env["PYTHONPATH"] = str(ROOT)
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(Path(tmp) / "data"), str(n)],
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
    args = parser.parse_args()
    reports = [run(n) for n in args.tenants]
    first = reports[0]
    open_tenants, (size, overflow) = first["open_tenants"], first["pool"]
    print(
        f"bound: open_tenants {open_tenants} x (tenant_pool_size {size} + tenant_pool_overflow {overflow})"
        f" + control plane {size + overflow} = {first['bound']} server connections"
    )
    print(
        f"{'tenants':>7} {'open stores':>11} {'server conns':>12} {'RSS MiB':>8} {'RSS peak MiB':>12}"
        f" {'RSS at start':>12} {'threads':>7} {'seconds':>7}"
    )
    for r in reports:
        print(
            f"{r['tenants']:>7} {r['open_stores']:>11} {r['connections']:>12} {r['rss_kib'] / 1024:8.1f}"
            f" {r['rss_hwm_kib'] / 1024:12.1f} {r['rss_kib_start'] / 1024:12.1f}"
            f" {r['os_threads']:>7} {r['seconds']:7.1f}"
        )


if __name__ == "__main__":
    main()
