"""Tokens can be taken back: every token has an id, signing out refuses it until it expires,
and a live stream ends when the token or the join code it was opened with is taken back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import jwt as pyjwt
import pytest

from services.bootstrap import build_container
from services.settings import Settings
from tests.http_harness import ADMIN, PASSWORD, serving
from tests.integration.test_live_updates import Board, EventReader, Server, events_path, serve, set_up_board
from tests.web.conftest import signed_in_browser

# Well past the next keep-alive (when a stream re-checks its token anyway): a stream still open
# by then was not ended.
STREAM_END_SECONDS = 30.0


async def test_every_token_carries_an_id_of_its_own(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        first = await story.client.post("/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD})
        second = await story.client.post("/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD})
        ids = [
            pyjwt.decode(r.json()["token"], options={"verify_signature": False}).get("jti")
            for r in (first, second)
        ]
        assert all(ids), ids
        assert ids[0] != ids[1]


async def test_a_signed_out_token_is_refused_at_once(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        signed_in = await story.client.post("/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD})
        story.client.cookies.clear()
        headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        assert (await story.client.get("/api/v1/me", headers=headers)).status_code == 200
        out = await story.client.post("/api/v1/auth/logout", headers=headers)
        assert out.status_code == 204, out.text
        assert (await story.client.get("/api/v1/me", headers=headers)).status_code == 401
        # Another sign-in of the same person is untouched.
        again = await story.client.post("/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD})
        story.client.cookies.clear()
        other = {"Authorization": f"Bearer {again.json()['token']}"}
        assert (await story.client.get("/api/v1/me", headers=other)).status_code == 200


async def test_signing_out_on_the_pages_refuses_the_cookie_afterwards(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        browser = await signed_in_browser(story.client, ADMIN)
        token = browser.cookies["balkort_token"]
        out = await browser.post("/logout", {})
        assert out.status_code == 303, out.text
        replayed = await story.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert replayed.status_code == 401


@pytest.fixture
async def live(backend: Settings) -> AsyncIterator[tuple[Server, Board]]:
    container = await asyncio.to_thread(build_container, backend)
    board = await asyncio.to_thread(set_up_board, container)
    async with serve(backend, container) as server:
        yield server, board


async def bearer_of(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def ends_within(reader: EventReader, seconds: float) -> bool:
    """True when the stream ends within `seconds` (keep-alives and events are read past)."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await reader.next(seconds, comments=True)
    except AssertionError as ended:
        return "ended" in str(ended)
    except TimeoutError:
        return False


async def test_a_live_stream_of_a_table_ends_when_its_join_code_is_revoked(
    live: tuple[Server, Board],
) -> None:
    server, board = live
    async with httpx.AsyncClient(base_url=server.base_url, timeout=STREAM_END_SECONDS + 10) as client:
        admin = await bearer_of(client, board.admin_email)
        codes = f"/api/v1/tenants/{board.tenant_id}/engagements/{board.engagement_id}/units/{board.units[0]}/join-codes"
        issued = (await client.post(codes, json={}, headers=admin)).json()
        joined = await client.post("/api/v1/join", json={"code": issued["code"]})
        client.cookies.clear()
        table = {"Authorization": f"Bearer {joined.json()['token']}"}
        async with client.stream("GET", events_path(board), headers=table) as response:
            assert response.status_code == 200
            reader = EventReader(response)
            assert (await reader.next(10)).event == "snapshot"
            revoked = await client.post(f"{codes}/{issued['id']}/revoke", headers=admin)
            assert revoked.status_code == 200, revoked.text
            assert await ends_within(reader, STREAM_END_SECONDS), "the stream outlived its join code"


async def test_a_live_stream_ends_when_its_token_is_signed_out(live: tuple[Server, Board]) -> None:
    server, board = live
    async with httpx.AsyncClient(base_url=server.base_url, timeout=STREAM_END_SECONDS + 10) as client:
        admin = await bearer_of(client, board.admin_email)
        async with client.stream("GET", events_path(board), headers=admin) as response:
            assert response.status_code == 200
            reader = EventReader(response)
            assert (await reader.next(10)).event == "snapshot"
            out = await client.post("/api/v1/auth/logout", headers=admin)
            assert out.status_code == 204, out.text
            assert await ends_within(reader, STREAM_END_SECONDS), "the stream outlived its token"
