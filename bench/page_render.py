"""What a page costs over the API answer it is drawn from, on the demo's three years.

Setup: the demo seeded into a fresh data directory (SQLite, the embedded default), the app
in-process behind Litestar's test client, signed in as the demo's planning group (pages: the
sign-in form's cookie; API: a bearer token). The read models are caught up before measuring,
so no projection runs while measuring.

Measured, per pair, `--requests` sequential GETs per round, page and API alternating within a
round, `--rounds` rounds:

- dashboard page vs `GET …/engagements/{e}/dashboard` (2025's engagement)
- matrix page (heat map, network, table) vs `GET …/matrix`
- history page (line chart, follow-through) vs `GET …/longitudinal`
- board page vs `GET …/board`
- the follow-up report as PDF vs the same report as HTML

Reported: p50 and p99 per route (medians over rounds), and p50(page)/p50(API) per round, then
the median: what rendering the page (templates, SVG charts, translations) adds to reading the
same answer. Ratios within one run only; absolute times depend on the machine.

    .venv/bin/python -m bench.page_render [--rounds 5] [--requests 40]
    .venv/bin/python -m bench.page_render --smoke    # 1 round of 3 requests per route
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a plain script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from litestar.testing import AsyncTestClient

from services.asgi import create_app
from services.auth.jwt import CSRF_COOKIE
from services.bootstrap import build_container
from services.demo import DEMO_PASSWORD, seed_demo
from services.settings import Settings

PLANNER = "leder@soeby.example"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _timed(client: AsyncTestClient[Any], url: str, headers: dict[str, str], n: int) -> list[float]:
    spent = []
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get(url, headers=headers)
        spent.append(time.perf_counter() - started)
        assert answer.status_code == 200, (url, answer.status_code)
    return spent


async def run(rounds: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        # One caller sends thousands of requests a minute here: the rate limit is not measured.
        settings = Settings(data_dir=Path(folder), rate_limit_per_minute=1_000_000)
        container = build_container(settings)
        tenant_id = await asyncio.to_thread(seed_demo, container)
        async with AsyncTestClient(create_app(container=container)) as client:
            login = await client.post(
                "/api/v1/auth/login", json={"email": PLANNER, "password": DEMO_PASSWORD}
            )
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            client.cookies.clear()
            await client.get("/login")
            await client.post(
                "/login",
                data={
                    "_csrf": client.cookies.get(CSRF_COOKIE, ""),
                    "email": PLANNER,
                    "password": DEMO_PASSWORD,
                },
            )
            api = f"/api/v1/tenants/{tenant_id}"
            await asyncio.to_thread(container.projections.catch_up_now, tenant_id)
            listed = await client.get(f"{api}/engagements", headers=bearer)
            assert listed.status_code == 200, listed.text
            engagement = listed.json()[1]["engagement_id"]  # oldest first: 2025's
            pages = f"/t/{tenant_id}/e/{engagement}"
            pairs = [
                ("dashboard", f"{pages}/dashboard", f"{api}/engagements/{engagement}/dashboard"),
                ("matrix", f"{pages}/matrix", f"{api}/engagements/{engagement}/matrix"),
                ("history", f"/t/{tenant_id}/history", f"{api}/longitudinal"),
                ("board", f"{pages}/board", f"{api}/engagements/{engagement}/board"),
                ("report", f"{pages}/report.pdf", f"{pages}/report"),
            ]
            # Warm up: templates compiled, catalogues loaded, read models settled.
            for _, page_url, api_url in pairs:
                await _timed(client, page_url, {}, 2)
                await _timed(client, api_url, bearer if api_url.startswith("/api") else {}, 2)
            print(f"{rounds} rounds x {requests} requests per route; seconds; ratio = p50(page)/p50(API)")
            for name, page_url, api_url in pairs:
                ratios, page_p50, page_p99, api_p50, api_p99 = [], [], [], [], []
                api_headers = bearer if api_url.startswith("/api") else {}
                for _ in range(rounds):
                    shown = await _timed(client, page_url, {}, requests)
                    answered = await _timed(client, api_url, api_headers, requests)
                    page_p50.append(statistics.median(shown))
                    page_p99.append(_percentile(shown, 0.99))
                    api_p50.append(statistics.median(answered))
                    api_p99.append(_percentile(answered, 0.99))
                    ratios.append(page_p50[-1] / api_p50[-1])
                print(
                    f"{name:10} page p50 {statistics.median(page_p50) * 1000:7.1f} ms"
                    f" p99 {statistics.median(page_p99) * 1000:7.1f} ms | "
                    f"{'HTML' if name == 'report' else 'API '} p50 {statistics.median(api_p50) * 1000:7.1f} ms"
                    f" p99 {statistics.median(api_p99) * 1000:7.1f} ms | ratio {statistics.median(ratios):5.2f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--smoke", action="store_true", help="a quick run: 1 round of 3 requests per route")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.requests = 1, 3
    asyncio.run(run(args.rounds, args.requests))


if __name__ == "__main__":
    main()
