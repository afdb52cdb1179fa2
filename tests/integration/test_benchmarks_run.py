"""Every benchmark still runs: each bench/*.py in its `--smoke` mode (tiny sizes, seconds), as a
subprocess against the real PostgreSQL and Redis, must exit 0 and print its figures.

Nothing here looks at the figures' values: a smoke run on shared cores measures nothing. What
it proves is that the benchmark sets itself up, talks to the current code and reports. A new
benchmark without a smoke mode, or without an entry below naming what it prints, fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATABASE_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = sorted(p for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))
# Benchmarks flush the Redis database they use: one of their own, not the tests' (db 15).
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"
# Generous: a smoke run takes seconds to a minute; this only stops a hung one.
TIMEOUT_SECONDS = 600

# What each benchmark's smoke run must print (a line of its result table).
FIGURES: dict[str, tuple[str, ...]] = {
    "catch_up.py": ("projection catch_up (PostgreSQL views)", "where the projection's time goes"),
    "citus_compare.py": ("ratings/s", "citus/plain", "worker2 stopped", "peak connections per node"),
    "dashboard_latency.py": ("p99(big)/p99(small)", "in-process p99(big)/p99(small)"),
    "live_latency.py": ("embedded        ", "postgres+redis  ", "p99/cmd"),
    "page_render.py": ("dashboard  page p50", "report     page p50"),
    "rating_throughput.py": ("HTTP 1 agg/s", "raw inserts/s", "p99 of each burst", "/ rate at 0"),
    "report_pdf_load.py": ("p99(loaded) / p99(alone)",),
    "tenant_footprint.py": ("bound: tenant_connections", "new conns"),
    "transcoder.py": ("mapper event->stored->event",),
}


def test_every_benchmark_is_listed_here_with_the_figures_its_smoke_run_prints() -> None:
    assert {p.name for p in BENCHMARKS} == set(FIGURES)


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.stem)
def test_benchmark_runs_in_smoke_mode_and_prints_its_figures(script: Path) -> None:
    assert "--smoke" in script.read_text(), f"{script.name} has no --smoke mode"
    # The benchmark makes its own databases, secrets and settings: nothing of this process's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALKORT_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env["BALKORT_BENCH_ADMIN_URL"] = DATABASE_URL
    env["BALKORT_BENCH_REDIS_URL"] = BENCH_REDIS_URL
    done = subprocess.run(
        [sys.executable, str(script), "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, (
        f"{script.name} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    for figure in FIGURES.get(script.name, ()):
        assert figure in done.stdout, f"{script.name} did not print {figure!r}:\n{done.stdout[-3000:]}"
