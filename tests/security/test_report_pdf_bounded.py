"""The follow-up report's PDF cannot starve the process: it is rendered in a bounded worker
process, requests beyond the bound are refused at once with Retry-After, a rendered report is
kept and served again without rendering, and the rest of the app answers while PDFs render.

The worker is held busy by a job of the test's own, run in the renderer's real worker process
and released by a file: what is waiting is then known without depending on how fast the
machine renders."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from domain.errors import AlreadyExists
from domain.roles import Role
from services.asgi import create_app
from services.auth.passwords import Passwords
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.settings import Settings
from tests.http_harness import ADMIN, PASSWORD, Story, bearer
from tests.web.follow_up_story import FollowUpStory, follow_up_story

# Bounded waits: generous, so that a loaded machine is slow rather than failing.
WAIT_SECONDS = 120.0


def hold_until(released: str) -> str:
    """A job for the worker process: keeps it busy until the file `released` exists."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not Path(released).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return "released"


async def eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "waited too long"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def app_with_reports(settings: Settings, **bounds: int) -> AsyncIterator[tuple[Story, FollowUpStory]]:
    """The app on `settings` with the renderer's `bounds`, running on the test's own event loop
    behind an asynchronous client (requests in flight at the same time), and a follow-up story."""
    container = await asyncio.to_thread(build_container, settings.with_changes(**bounds))
    container.control.passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    # On PostgreSQL the tests of a run share the control plane: the admin may exist already.
    with contextlib.suppress(AlreadyExists):
        await container.offloop(
            container.control.register_user,
            ADMIN,
            "Birgitte",
            PASSWORD,
            Role.CONSULTANCY_ADMIN,
            system_provenance("Test"),
        )
    app = create_app(container=container)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            site = Story(client, container)  # type: ignore[arg-type]
            yield site, await follow_up_story(site)


class Reader:
    """Someone who may read the report, by bearer token, in a language of their choice."""

    def __init__(self, site: Story, headers: dict[str, str], report: str) -> None:
        self.site, self.headers, self.report = site, headers, report

    def pdf(self, language: str) -> Awaitable[httpx.Response]:
        headers = {**self.headers, "Cookie": f"balkort_lang={language}"}
        return self.site.client.get(self.report, headers=headers)


async def readers(site: Story, story: FollowUpStory) -> tuple[Reader, Reader]:
    manager = await bearer(site.client, story.manager_email)
    participant = await bearer(site.client, story.participant_email)
    report = f"{story.pages}/report.pdf"
    return Reader(site, manager, report), Reader(site, participant, report)


@asynccontextmanager
async def worker_held(site: Story, tmp_path: Path) -> AsyncIterator[asyncio.Task[Any]]:
    """The renderer's only worker busy with a job of someone else's until the block ends."""
    released = tmp_path / "released"
    renderer = site.container.reports
    before = renderer.in_flight
    job = asyncio.ensure_future(renderer.run("someone-else", hold_until, str(released)))
    await eventually(lambda: renderer.in_flight == before + 1)
    try:
        yield job
    finally:
        released.touch()
        assert await asyncio.wait_for(job, WAIT_SECONDS) == "released"


def refused(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text[:500]
    assert int(answer.headers["retry-after"]) >= 1


async def test_pdf_requests_beyond_the_bound_are_refused_at_once_with_retry_after(
    backend: Settings, tmp_path: Path
) -> None:
    async with app_with_reports(backend, report_workers=1, report_queue=1) as (site, story):
        manager, participant = await readers(site, story)
        renderer = site.container.reports
        async with worker_held(site, tmp_path):
            waiting = asyncio.ensure_future(manager.pdf("da"))
            await eventually(lambda: renderer.in_flight == 2)
            # The manager's own report is still waiting: another of theirs is refused (429).
            refused(await manager.pdf("en"), 429)
            # Every worker and queue place is taken: anyone else is refused too (503).
            refused(await participant.pdf("en"), 503)
            assert not waiting.done()
        answer = await asyncio.wait_for(waiting, WAIT_SECONDS)
        assert answer.status_code == 200
        assert answer.content.startswith(b"%PDF")
        # Room again: the refused report renders now.
        assert (await participant.pdf("en")).status_code == 200


async def test_a_report_asked_for_again_is_served_from_the_kept_pdf_without_rendering(
    backend: Settings, tmp_path: Path
) -> None:
    async with app_with_reports(backend, report_workers=1, report_queue=4) as (site, story):
        manager, participant = await readers(site, story)
        renderer = site.container.reports
        async with worker_held(site, tmp_path):
            # Two people ask for the same report while it waits: one render for both.
            both = asyncio.gather(manager.pdf("da"), participant.pdf("da"))
            await eventually(lambda: renderer.in_flight == 2)
        first, second = await asyncio.wait_for(both, WAIT_SECONDS)
        again = await manager.pdf("da")
        for answer in (first, second, again):
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/pdf"
        assert first.content == second.content == again.content
        assert renderer.renders == 1
        assert renderer.served_from_cache == 1
        # Another language is another document.
        english = await manager.pdf("en")
        assert english.status_code == 200
        assert renderer.renders == 2


@pytest.mark.parametrize("board", ["page", "api"])
async def test_board_reads_answer_while_pdfs_wait_for_the_renderer(
    backend: Settings, tmp_path: Path, board: str
) -> None:
    async with app_with_reports(backend, report_workers=1, report_queue=8) as (site, story):
        manager, participant = await readers(site, story)
        renderer = site.container.reports
        url = (
            f"{story.pages}/board"
            if board == "page"
            else f"/api/v1/tenants/{story.tenant_id}/engagements/{story.engagement_id}/board"
        )
        async with worker_held(site, tmp_path):
            pdfs = asyncio.gather(manager.pdf("da"), participant.pdf("en"))
            await eventually(lambda: renderer.in_flight == 3)
            for _ in range(5):
                read = await asyncio.wait_for(site.client.get(url, headers=manager.headers), WAIT_SECONDS)
                assert read.status_code == 200, read.text[:500]
            assert not pdfs.done()
        assert [a.status_code for a in await asyncio.wait_for(pdfs, WAIT_SECONDS)] == [200, 200]
