"""Live updates: from a command's 2xx to the `changed` message on the engagement's SSE stream.

Setup per configuration, with `bench.rating_throughput.seed`: one tenant, one consultant, an
organisation of `--units` units and one engagement in phase mapping where every unit has
mapped its relations to all the others. Then `balkort serve` runs as a subprocess:

- embedded: no DATABASE_URL and no REDIS_URL (SQLite files, memory channels);
- postgres+redis: a fresh PostgreSQL database (random name, dropped at the end) and Redis db
  14 (flushed before and after); the server projects everything itself (`project_in_process`
  "all"), as in the embedded configuration, with no `balkort projector` beside it.

A follower opens `GET /api/v1/tenants/{t}/engagements/{e}/events` (text/event-stream) and
notes when each `changed` message arrives. A theme-day burst: `--units` clients at once, each
submitting `--ratings` ratings for its unit one after the other (re-rating once its relations
run out). For every command that answers 2xx, latency = the arrival of the first `changed`
message after the 2xx reached the client, minus the 2xx's arrival. Messages are hints that
documents changed and one catch-up covers many commands, so this is what a browser sees: how
long after "saved" the page hears "reload". A message already received before the 2xx counts
for nothing, so the figure errs on the slow side. Commands with no message within 10 s are
counted as missed. `--bursts` bursts per configuration, a short pause between them; p50/p99
over all commands of all bursts and the median of the per-burst p99s. For scale, the same
commands' own round trips (request sent to 2xx) in the same bursts, and p50 live / p50 command.

    .venv/bin/python -m bench.live_latency [--bursts 5] [--units 8] [--ratings 10]
    .venv/bin/python -m bench.live_latency --smoke   # seconds: 1 burst of 3 units x 2 ratings

The server's rate limit is lifted (a burst is many ratings a second from one principal). A
command answered other than 2xx, or not at all, is a failure: printed, never a latency, and
the run exits 1, as it does when a configuration could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

if __package__ in (None, ""):  # run as a plain script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psycopg
import redis

from bench.catch_up import fresh_database
from bench.rating_throughput import REDIS_URL, UNLIMITED_PER_MINUTE, Seeded, free_port, login, seed, server
from domain.default_instrument import DEFAULT_INSTRUMENT
from services.auth.secret_keys import fresh_secrets
from services.settings import Settings

WAIT_SECONDS = 10.0


class Follower:
    """Reads the SSE stream; records the arrival time of every `changed` message."""

    def __init__(self, base: str, token: str, url: str) -> None:
        self.base, self.token, self.url = base, token, url
        self.changed: list[float] = []
        self.ready = asyncio.Event()

    async def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        timeout = httpx.Timeout(10, read=None)
        async with httpx.AsyncClient(base_url=self.base, headers=headers, timeout=timeout) as http:
            # The seeding ran before the server started: its projector catches up on its first
            # pass; until then the engagement is not in the views (404) or the tenant's views
            # are still being built (503, retry shortly).
            deadline = time.monotonic() + 30
            while (await http.get(self.url.removesuffix("/events") + "/board")).status_code in (404, 503):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            async with http.stream("GET", self.url) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise RuntimeError(f"GET {self.url}: {response.status_code} {response.text[:300]}")
                event = None
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line == "":
                        if event == "snapshot":
                            self.ready.set()
                        elif event == "changed":
                            self.changed.append(time.perf_counter())
                        event = None

    def first_after(self, moment: float) -> float | None:
        i = bisect.bisect_right(self.changed, moment)
        return self.changed[i] if i < len(self.changed) else None


async def burst(
    base: str, token: str, seeded: Seeded, units: int, ratings: int, offset: int
) -> tuple[list[float], list[float], int]:
    """Every unit's client submits `ratings` ratings at once; returns the 2xx arrival times,
    the commands' own round trips (seconds) and the number of failures."""
    eid = seeded.engagements[0]
    url = f"/api/v1/tenants/{seeded.tenant_id}/engagements/{eid}/ratings"
    by_unit: dict[object, list[tuple[object, object]]] = {}
    for unit, counterpart in seeded.relations:
        by_unit.setdefault(unit, []).append((unit, counterpart))
    keys = DEFAULT_INSTRUMENT.dimension_keys
    done: list[float] = []
    round_trips: list[float] = []
    failed = 0

    async def client(relations: list[tuple[object, object]]) -> None:
        nonlocal failed
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for n in range(ratings):
                unit, counterpart = relations[(n + offset) % len(relations)]
                body = {
                    "unit_id": str(unit),
                    "counterpart_id": str(counterpart),
                    "scores": {k: (n + j + offset) % 5 + 1 for j, k in enumerate(keys)},
                }
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid4().hex}
                sent = time.perf_counter()
                try:
                    response = await http.post(url, json=body, headers=headers)
                except httpx.HTTPError as error:  # a timeout (60 s) counts as a failure
                    print(f"    {type(error).__name__} after {time.perf_counter() - sent:.1f} s", flush=True)
                    failed += 1
                    continue
                if 200 <= response.status_code < 300:
                    done.append(time.perf_counter())
                    round_trips.append(done[-1] - sent)
                else:
                    print(f"    answered {response.status_code}: {response.text[:120]}", flush=True)
                    failed += 1

    await asyncio.gather(*(client(rel) for rel in list(by_unit.values())[:units]))
    return done, round_trips, failed


async def measure(base: str, seeded: Seeded, args: argparse.Namespace) -> dict[str, Any]:
    token = await login(base)
    eid = seeded.engagements[0]
    follower = Follower(base, token, f"/api/v1/tenants/{seeded.tenant_id}/engagements/{eid}/events")
    task = asyncio.create_task(follower.run())
    try:
        ready = asyncio.create_task(follower.ready.wait())
        await asyncio.wait({ready, task}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # raises what ended the stream
        if not follower.ready.is_set():
            raise RuntimeError("no snapshot on the stream within 15 s")
        await burst(base, token, seeded, 2, 2, 0)  # warm-up
        await asyncio.sleep(1.0)
        latencies: list[float] = []
        commands: list[float] = []
        p99s: list[float] = []
        missed = failed = 0
        for b in range(args.bursts):
            done, trips, f = await burst(base, token, seeded, args.units, args.ratings, 1 + b * args.ratings)
            failed += f
            commands.extend(t * 1000 for t in trips)
            if b == args.bursts - 1:
                await settle(follower, done)
            else:
                await asyncio.sleep(2.0)
            this: list[float] = []
            for moment in done:
                arrived = follower.first_after(moment)
                if arrived is None or arrived - moment > WAIT_SECONDS:
                    missed += 1
                else:
                    this.append((arrived - moment) * 1000)
            latencies.extend(this)
            p99s.append(percentile(this, 0.99) if this else float("nan"))
            print(
                f"  burst {b + 1}/{args.bursts}: {len(done)} commands 2xx, p50 {percentile(this, 0.5):.1f} ms "
                f"p99 {p99s[-1]:.1f} ms, {len(follower.changed)} changed messages so far",
                flush=True,
            )
        return {
            "commands": len(latencies) + missed,
            "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99),
            "p99 per burst (median)": statistics.median(p99s),
            "max": max(latencies),
            "command p50": percentile(commands, 0.5),
            "command p99": percentile(commands, 0.99),
            "missed": missed,
            "failed": failed,
            "messages": len(follower.changed),
        }
    finally:
        task.cancel()
        # The stream ends with the benchmark, however it ends.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def settle(follower: Follower, done: list[float]) -> None:
    """Waits until the last 2xx has had its `changed` message, or WAIT_SECONDS."""
    deadline = time.perf_counter() + WAIT_SECONDS
    # A bounded poll of the follower's arrivals: a wait with a deadline, not an event to await.
    while done and follower.first_after(max(done)) is None and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(config: str, settings: Settings, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    seeded = seed(settings, args.units, 1)
    with server(settings, free_port(), tmp / f"server-{config}.log") as base:
        return asyncio.run(measure(base, seeded, args))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--units", type=int, default=8, help="units, one concurrent client each")
    parser.add_argument("--ratings", type=int, default=10, help="ratings per unit per burst")
    parser.add_argument("--only", choices=["embedded", "postgres"], default=None)
    parser.add_argument(
        "--smoke", action="store_true", help="a run of seconds: 1 small burst per configuration"
    )
    args = parser.parse_args()
    if args.smoke:
        args.bursts, args.units, args.ratings = 1, 3, 2
    unlimited = {"rate_limit_per_minute": UNLIMITED_PER_MINUTE}
    broken: list[str] = []

    results: dict[str, dict[str, Any]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="balkort-bench-"))
    try:
        if args.only in (None, "embedded"):
            print("embedded (SQLite, memory channels)", flush=True)
            results["embedded"] = run("embedded", Settings(data_dir=tmp / "embedded", **unlimited), args, tmp)
        if args.only in (None, "postgres"):
            print("postgres+redis", flush=True)
            redis.Redis.from_url(REDIS_URL).flushdb()
            try:
                with fresh_database() as url:
                    # The server projects everything itself, as in the embedded configuration:
                    # no `balkort projector` beside it here.
                    settings = Settings(
                        database_url=url,
                        redis_url=REDIS_URL,
                        data_dir=tmp / "pg",
                        project_in_process="all",
                        **unlimited,
                        **fresh_secrets(),
                    )
                    results["postgres+redis"] = run("postgres", settings, args, tmp)
            except psycopg.OperationalError as error:
                # Report what was measured so far rather than nothing.
                print(f"postgres+redis: PostgreSQL went away ({str(error).strip()[:120]})", flush=True)
                broken.append("postgres+redis")
            finally:
                redis.Redis.from_url(REDIS_URL).flushdb()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"bursts={args.bursts}, {args.units} concurrent clients x {args.ratings} ratings each per burst")
    print(
        f"{'config':<16} {'commands':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99/burst':>9} {'max ms':>8} "
        f"{'cmd p50':>8} {'cmd p99':>8} {'p50/cmd':>7} {'p99/cmd':>7} {'messages':>8} {'missed':>6} {'failed':>6}"
    )
    for config, r in results.items():
        print(
            f"{config:<16} {r['commands']:>8} {r['p50']:8.1f} {r['p99']:8.1f} {r['p99 per burst (median)']:9.1f} "
            f"{r['max']:8.1f} {r['command p50']:8.1f} {r['command p99']:8.1f} "
            f"{r['p50'] / r['command p50']:7.2f} {r['p99'] / r['command p99']:7.2f} "
            f"{r['messages']:>8} {r['missed']:>6} {r['failed']:>6}"
        )
    failed = sum(r["failed"] for r in results.values())
    if failed or broken:
        print(
            f"failed commands: {failed}; configurations that did not run: {broken or 'none'}", file=sys.stderr
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
