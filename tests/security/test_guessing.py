"""Guessing passwords and join codes is slowed down, atomically, without locking out a room.

Attempts are counted before they are checked, in one atomic step per attempt (a Redis script in
production), so a burst of concurrent guesses gets no more checks than the limit. Join codes
are counted per code prefix and, far more loosely, per address: one table typing its code wrong
does not block the other tables on the venue's network. A refusal says the same wait in its text
and in `Retry-After`, in words a table understands (Danish on the pages).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from pathlib import Path
from typing import Any

import httpx

from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.settings import Settings
from tests.http_harness import ADMIN, PASSWORD, Story, serving
from tests.integration.test_join_codes_api import issue, theme_day
from tests.integration.test_live_updates import serve
from tests.keys import SESSION_MASTER_KEY
from tests.web.conftest import Browser

# Settings of the tests' own (a module of its own must not depend on the shared secrets).
PLATFORM_SECRET = secrets.token_urlsafe(48)


def production(postgres_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """PostgreSQL and the real Redis, with counters of this test's own."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=postgres_url,
        redis_url=redis_url,
        rate_limit_namespace=f"balkort:rate-limit:test-{secrets.token_hex(6)}",
        master_key=SESSION_MASTER_KEY,
        jwt_secret=PLATFORM_SECRET,
    )


def wrong_codes(prefix: str, count: int) -> list[str]:
    """`count` codes that start with `prefix` and are (almost surely) nobody's."""
    return [f"{prefix}-{n:05d}" for n in range(count)]


def other_prefix(code: str) -> str:
    return "ZZZZZ" if not code.startswith("ZZZZZ") else "YYYYY"


async def test_a_hundred_concurrent_wrong_codes_get_no_more_checks_than_the_limit(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = production(postgres_url, redis_url, tmp_path)
    # A real server over TCP: the requests truly overlap.
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        codes = wrong_codes("QQQQQ", 100)
        answers = await asyncio.gather(*(client.post("/api/v1/join", json={"code": c}) for c in codes))
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {401, 429}, statuses
        checked = statuses.count(401)
        assert checked <= settings.join_failures_per_minute, f"{checked} wrong codes were checked"
        assert statuses.count(429) >= 100 - settings.join_failures_per_minute


async def test_one_table_typing_its_code_wrong_does_not_lock_out_the_other_tables(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await theme_day(story)
        good = (await issue(day, day.units[0]))["code"]
        for code in wrong_codes(other_prefix(good), backend.join_failures_per_minute):
            answer = await story.client.post("/api/v1/join", json={"code": code})
            assert answer.status_code == 401, answer.text
        locked = await story.client.post("/api/v1/join", json={"code": f"{other_prefix(good)}-99999"})
        assert locked.status_code == 429, locked.text
        # Another table on the same network, with its own code, still gets in.
        joined = await story.client.post("/api/v1/join", json={"code": good})
        assert joined.status_code == 200, joined.text


async def test_a_refused_join_says_the_same_wait_as_its_retry_after(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        await theme_day(story)
        for code in wrong_codes("WWWWW", backend.join_failures_per_minute):
            await story.client.post("/api/v1/join", json={"code": code})
        refused = await story.client.post("/api/v1/join", json={"code": "WWWWW-99999"})
        assert refused.status_code == 429, refused.text
        wait = int(refused.headers["retry-after"])
        assert 1 <= wait <= 60
        assert f"try again in {wait} seconds" in refused.json()["detail"]


async def test_a_wrong_join_code_is_answered_in_words_for_the_table_not_as_a_sign_in(
    backend: Settings,
) -> None:
    async with serving(backend, quick_hashes=True) as story:
        await theme_day(story)
        refused = await story.client.post("/api/v1/join", json={"code": "VVVVV-00000"})
        assert refused.status_code == 401, refused.text
        detail = refused.json()["detail"]
        assert "Sign in" not in detail
        assert "join code" in detail
        assert "table's card" in detail


async def test_the_join_page_says_the_wait_in_danish_and_retry_after_says_the_same(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        await theme_day(story)
        browser = Browser(story.client)
        await browser.get("/join")
        for code in wrong_codes("TTTTT", backend.join_failures_per_minute):
            await browser.post("/join", {"code": code})
        refused = await browser.post("/join", {"code": "TTTTT-99999"})
        assert refused.status_code == 429, refused.text[:2000]
        wait = int(refused.headers["retry-after"])
        assert re.search(rf"Prøv igen om {wait} sekunder", refused.text), refused.text[:3000]


async def sign_in(story: Story, email: str, password: str) -> Any:
    return await story.client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_passwords_cannot_be_guessed_without_limit(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        limit = backend.login_failures_per_minute
        for n in range(limit):
            wrong = await sign_in(story, ADMIN, f"gæt nummer {n}")
            assert wrong.status_code == 401, wrong.text
            assert wrong.json()["detail"] == "Wrong email or password."
        refused = await sign_in(story, ADMIN, "endnu et gæt")
        assert refused.status_code == 429, refused.text
        wait = int(refused.headers["retry-after"])
        assert f"try again in {wait} seconds" in refused.json()["detail"]
        # Even the right password waits: the guesser cannot tell a hit from the answer.
        assert (await sign_in(story, ADMIN, PASSWORD)).status_code == 429


async def test_a_hundred_concurrent_wrong_passwords_get_no_more_checks_than_the_limit(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = production(postgres_url, redis_url, tmp_path)
    container = await asyncio.to_thread(build_container, settings)
    email = f"gaet-{secrets.token_hex(6)}@example.dk"
    await asyncio.to_thread(
        container.control.register_user, email, "Gæt", PASSWORD, None, system_provenance("Test")
    )
    async with (
        serve(settings, container) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=120) as client,
    ):
        answers = await asyncio.gather(
            *(
                client.post("/api/v1/auth/login", json={"email": email, "password": f"gæt {n}"})
                for n in range(100)
            )
        )
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {401, 429}, statuses
        assert statuses.count(401) <= settings.login_failures_per_minute, statuses
