"""The follow-up report's PDF: rendered in a bounded worker process, kept once rendered.

WeasyPrint is CPU bound and holds the GIL for the whole of a render (~0.8 s for five A4
pages): on a thread of the API process, a handful of PDFs at once slow every other request of
that process a hundredfold. So PDFs are rendered in a small pool of worker processes
(`Settings.report_workers`, started on the first PDF and shut down with the container) behind
a bounded queue (`Settings.report_queue`). A request beyond the bound is refused at once —
503, or 429 when the same person already has a render waiting — with `Retry-After`, instead
of waiting without end. Only plain data crosses to the worker: the HTML, its base URL and the
stylesheets' paths.

A rendered PDF is kept in a store (memory in the embedded default, Redis in production) under
a key the caller builds from what the document depends on (tenant, engagement and its version,
…), so a report is rendered once per version; requests for a report that is being rendered
wait for that one render instead of starting another. See docs/adr/0018.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread

if TYPE_CHECKING:
    from litestar.stores.base import Store

T = TypeVar("T")
logger = logging.getLogger("balkort.reports")

# What a refused caller is told to wait: about the time one render takes, with room to spare.
RETRY_AFTER_SECONDS = 5
# Renders one person may have waiting at once: a second report while the first is rendering
# is refused (429) rather than queued ahead of other people's.
RENDERS_PER_PERSON = 1
# How much lower a worker's CPU priority is than the API's: when cores are scarce, requests of
# the API process go first and the PDF waits.
WORKER_NICENESS = 10
# A worker is replaced after this many renders, so whatever WeasyPrint and its fonts cache
# cannot grow without bound over months.
RENDERS_PER_WORKER = 200


class ReportsBusy(Exception):
    """No room for another render now: every worker and queue place is taken (`mine` False),
    or the caller already has a render waiting (`mine` True)."""

    def __init__(self, *, mine: bool, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__("your report is still being rendered" if mine else "every report renderer is busy")
        self.mine = mine
        self.retry_after = retry_after


def _no_fetching(url: str) -> dict[str, Any]:
    raise ValueError(f"the report fetches nothing ({url})")


def _refusing_fetcher() -> Any:
    """The report needs nothing from outside (its stylesheets are handed over, fonts are the
    system's): refusing every fetch keeps text in a report from ever reaching an address."""
    try:
        from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]
    except ImportError:  # WeasyPrint before 68 takes a plain function
        return _no_fetching
    return URLFetcher(allowed_protocols=())


def _in_the_background() -> None:
    """Starts each worker process at a lower CPU priority (where the platform allows it)."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(WORKER_NICENESS)


def render_pdf(html: str, base_url: str, stylesheets: tuple[str, ...]) -> bytes:
    """HTML as PDF, with `stylesheets` (file paths). Runs in a worker process; WeasyPrint is
    imported there, on its first render, so that the API process never pays for it."""
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]

    fetcher = _refusing_fetcher()
    sheets = [CSS(filename=path, url_fetcher=fetcher) for path in stylesheets]
    document = HTML(string=html, url_fetcher=fetcher, base_url=base_url)
    pdf: bytes = document.write_pdf(stylesheets=sheets)
    return pdf


class ReportRenderer:
    """The bounded PDF renderer and its cache. `renders` counts the renders that finished,
    `served_from_cache` the PDFs answered without one (both for metrics and tests)."""

    def __init__(self, *, workers: int, queue: int, cache: Store, cache_seconds: int) -> None:
        self._workers = max(1, workers)
        self._capacity = self._workers + max(0, queue)
        self._cache = cache
        self._cache_seconds = cache_seconds
        self._executor: ProcessPoolExecutor | None = None
        self._waiting = 0
        self._waiting_by: Counter[str] = Counter()
        self._rendering: dict[str, asyncio.Future[bytes]] = {}
        self._closed = False
        self.renders = 0
        self.served_from_cache = 0

    @property
    def in_flight(self) -> int:
        """Jobs admitted and not yet finished (rendering or queued for a worker)."""
        return self._waiting

    async def pdf(
        self,
        key: str,
        who: str,
        html: Callable[[], Awaitable[str]],
        base_url: str,
        stylesheets: tuple[str, ...],
    ) -> bytes:
        """The PDF kept under `key`, else rendered from `html()` for `who` (a principal, per
        tenant) and kept. Raises ReportsBusy when there is no room for the render."""
        kept = await self._kept(key)
        if kept is not None:
            self.served_from_cache += 1
            return kept
        rendering = self._rendering.get(key)
        if rendering is None:
            self._admit(who)
            # A task of its own: a caller that goes away does not cancel a render others may
            # wait for, and its worker slot is given back only when the worker is done.
            rendering = asyncio.ensure_future(self._render_and_keep(key, who, html, base_url, stylesheets))
            self._rendering[key] = rendering
            rendering.add_done_callback(partial(self._rendered, key))
        return await asyncio.shield(rendering)

    async def run(self, who: str, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker process, admitted like a render (raises ReportsBusy).
        `fn` and its arguments cross to the worker by pickling: plain data only."""
        self._admit(who)
        # Shielded like a render: the place is given back when the worker is done with it.
        return await asyncio.shield(asyncio.ensure_future(self._in_worker(who, fn, *args)))

    async def close(self) -> None:
        """Shuts the workers down (waiting for a render in progress). Idempotent."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await anyio.to_thread.run_sync(partial(executor.shutdown, wait=True, cancel_futures=True))

    # -- inside --------------------------------------------------------------------------------

    def _admit(self, who: str) -> None:
        # No await between the checks and the counting: admission is atomic on the event loop.
        if self._waiting_by[who] >= RENDERS_PER_PERSON:
            raise ReportsBusy(mine=True)
        if self._waiting >= self._capacity or self._closed:
            raise ReportsBusy(mine=False)
        self._waiting += 1
        self._waiting_by[who] += 1

    def _release(self, who: str) -> None:
        self._waiting -= 1
        self._waiting_by[who] -= 1
        if self._waiting_by[who] <= 0:
            del self._waiting_by[who]

    async def _in_worker(self, who: str, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.wrap_future(self._pool().submit(fn, *args))
        except BrokenProcessPool:
            # A worker died (killed, out of memory): the next render starts a fresh pool.
            broken, self._executor = self._executor, None
            if broken is not None:
                broken.shutdown(wait=False, cancel_futures=True)
            raise ReportsBusy(mine=False) from None
        finally:
            self._release(who)

    async def _render_and_keep(
        self,
        key: str,
        who: str,
        html: Callable[[], Awaitable[str]],
        base_url: str,
        stylesheets: tuple[str, ...],
    ) -> bytes:
        try:
            document = await html()
        except BaseException:
            self._release(who)
            raise
        pdf = await self._in_worker(who, render_pdf, document, base_url, stylesheets)
        self.renders += 1
        try:
            await self._cache.set(key, pdf, expires_in=self._cache_seconds)
        except Exception:  # a cache that is away costs a render next time, never the answer
            logger.warning("could not keep a rendered report", exc_info=True)
        return pdf

    async def _kept(self, key: str) -> bytes | None:
        try:
            return await self._cache.get(key)
        except Exception:  # a cache that is away means rendering again, not refusing
            logger.warning("could not read the kept reports", exc_info=True)
            return None

    def _rendered(self, key: str, done: asyncio.Future[bytes]) -> None:
        self._rendering.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here, so a render nobody waits for any more is not logged

    def _pool(self) -> Executor:
        if self._executor is None:
            # Spawned, not forked: the API process has threads (and their locks) a fork would copy.
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=RENDERS_PER_WORKER,
                initializer=_in_the_background,
            )
        return self._executor
