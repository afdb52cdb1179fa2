"""Does rendering PDFs slow the rest of the process? Board reads alone vs while 8 PDFs render.

Setup: the demo seeded into a fresh data directory (SQLite, the embedded default), the app
running in this process on this event loop behind an asynchronous httpx client (requests in
flight at the same time, as a server has them), signed in as the demo's planning group by
bearer token. Read models are caught up before measuring.

Measured:
1. alone: `--reads` sequential board reads (`GET …/engagements/{e}/board`, 2026's engagement);
2. loaded: the same reads while PDFs are asked for in waves of 8 concurrent requests (spread
   over the demo's four people who may read the report), each wave as soon as the previous
   one is answered: the follow-up report of the three engagements in Danish and English.
   Kept PDFs expire after a second (`report_cache_seconds=1`), so the worker keeps rendering
   throughout.

Reported: board p50 and p99 alone and loaded, the ratio p99(loaded)/p99(alone) (the claim:
at most 2), PDFs answered, renders done, and refused PDF requests (503/429 with Retry-After)
counted apart: a refusal is not throughput.

    .venv/bin/python -m bench.report_pdf_load [--reads 300] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a plain script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from services.asgi import create_app
from services.bootstrap import build_container
from services.demo import DEMO_PASSWORD, seed_demo
from services.settings import Settings

PLANNER = "leder@soeby.example"
# Everyone in the demo who may read the report: eight clients spread over them, so that renders
# are limited by the bound on the worker, not only by the one-render-per-person rule.
READERS = (PLANNER, "konsulent@balkort.example", "admin@balkort.example", "revisor@soeby.example")
PDF_CLIENTS = 8
LANGUAGES = ("da", "en")
# Between two waves of PDF requests (less than Retry-After: keeps the pressure on).
REFUSED_PAUSE_SECONDS = 0.25


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _board_reads(client: httpx.AsyncClient, url: str, headers: dict[str, str], n: int) -> list[float]:
    spent = []
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get(url, headers=headers)
        spent.append(time.perf_counter() - started)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:200])
    return spent


async def _one_pdf(client: httpx.AsyncClient, url: str, headers: dict[str, str], tally: Counter[str]) -> None:
    answer = await client.get(url, headers=headers)
    if answer.status_code == 200:
        tally["answered"] += 1
    elif answer.status_code in (429, 503) and "retry-after" in answer.headers:
        tally[f"refused {answer.status_code}"] += 1
    else:
        tally[f"unexpected {answer.status_code}"] += 1


async def _waves_of_pdfs(
    client: httpx.AsyncClient,
    urls: list[str],
    people: list[dict[str, str]],
    stop: asyncio.Event,
    tally: Counter[str],
) -> int:
    """Eight PDF requests at once, each for a document not rendered in the last second; when
    all eight are answered (or refused), the next eight. Returns the number of waves."""
    waves = 0
    while not stop.is_set():
        asks = []
        for i in range(PDF_CLIENTS):
            turn = waves * PDF_CLIENTS + i
            url = urls[turn % len(urls)]
            language = LANGUAGES[(turn // len(urls)) % len(LANGUAGES)]
            headers = {**people[i % len(people)], "Cookie": f"balkort_lang={language}"}
            asks.append(_one_pdf(client, url, headers, tally))
        await asyncio.gather(*asks)
        waves += 1
        await asyncio.sleep(REFUSED_PAUSE_SECONDS)
    return waves


def _line(name: str, spent: list[float]) -> str:
    return (
        f"{name:7} board p50 {statistics.median(spent) * 1000:8.1f} ms   p99 {_percentile(spent, 0.99) * 1000:8.1f} ms"
        f"   ({len(spent)} reads)"
    )


async def run(reads: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), rate_limit_per_minute=1_000_000, report_cache_seconds=1)
        container = build_container(settings)
        tenant_id = await asyncio.to_thread(seed_demo, container)
        app = create_app(container=container)
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=300) as client:
                people = []
                for email in READERS:
                    login = await client.post(
                        "/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}
                    )
                    people.append({"Authorization": f"Bearer {login.json()['token']}"})
                headers = people[0]
                api = f"/api/v1/tenants/{tenant_id}"
                await asyncio.to_thread(container.projections.catch_up_now, tenant_id)
                listed = (await client.get(f"{api}/engagements", headers=headers)).json()
                engagements = [e["engagement_id"] for e in listed]
                board = f"{api}/engagements/{engagements[-1]}/board"
                pdfs = [f"/t/{tenant_id}/e/{e}/report.pdf" for e in engagements]
                # Warm up: the worker process started and WeasyPrint imported, caches filled.
                await _board_reads(client, board, headers, 50)
                warm = await client.get(pdfs[0], headers=headers)
                assert warm.status_code == 200, warm.text[:300]

                alone = await _board_reads(client, board, headers, reads)

                stop = asyncio.Event()
                tally: Counter[str] = Counter()
                renders_before = container.reports.renders
                asking = asyncio.create_task(_waves_of_pdfs(client, pdfs, people, stop, tally))
                await asyncio.sleep(1.0)  # the first eight are in
                loaded = await _board_reads(client, board, headers, reads)
                stop.set()
                waves = await asking
                renders = container.reports.renders - renders_before

    ratio = _percentile(loaded, 0.99) / _percentile(alone, 0.99)
    print(_line("alone", alone))
    print(_line("loaded", loaded))
    print(f"ratio   p99(loaded) / p99(alone) = {ratio:.2f}  (claim: <= 2)")
    refused = {k: v for k, v in sorted(tally.items()) if not k.startswith("answered")}
    print(
        f"PDFs    {waves} waves of {PDF_CLIENTS}: {tally['answered']} answered, {renders} rendered"
        " by the worker while measuring;"
        f" refused apart: {refused or 'none'}"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reads", type=int, default=300, help="board reads per phase")
    parser.add_argument("--smoke", action="store_true", help="a quick run (30 reads per phase)")
    args = parser.parse_args()
    asyncio.run(run(30 if args.smoke else args.reads))


if __name__ == "__main__":
    main()
