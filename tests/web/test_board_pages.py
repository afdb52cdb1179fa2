"""The live theme-day board on the projector: it follows the engagement's event stream, and its
live part, fetched again on every change, shows each rating, dance card and agreement as soon
as it is recorded. Readers of the client organisation and the unit tables see it; others sign in.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from services.settings import Settings
from tests.http_harness import ADMIN, PASSWORD, Person, Story, flat, serving


@dataclass
class Browser:
    """A browser of its own on the shared test client: its cookies kept between requests."""

    client: AsyncTestClient[Any]
    cookies: dict[str, str] = field(default_factory=dict)

    async def request(self, method: str, url: str, data: Any = None) -> httpx.Response:
        self.client.cookies.clear()
        for name, value in self.cookies.items():
            self.client.cookies.set(name, value)
        response = await self.client.request(method, url, data=data, follow_redirects=False)
        self.cookies = {c.name: c.value for c in self.client.cookies.jar if c.value}
        self.client.cookies.clear()
        return response

    async def get(self, url: str, *, expect: int = 200) -> str:
        response = await self.request("GET", url)
        assert response.status_code == expect, f"GET {url}: {response.status_code} {response.text[:3000]}"
        return response.text

    async def send(self, url: str, fields: dict[str, str]) -> httpx.Response:
        return await self.request("POST", url, {**fields, "_csrf": self.cookies.get("csrf_token", "")})

    def speak(self, language: str) -> None:
        self.cookies["balkort_lang"] = language


@dataclass
class Day:
    story: Story
    admin: Person  # the API at the tenant, as the consultancy admin
    tenant_id: str
    engagement_id: str
    units: list[str]

    @property
    def api(self) -> str:
        return f"/engagements/{self.engagement_id}"

    @property
    def board(self) -> str:
        return f"/t/{self.tenant_id}/e/{self.engagement_id}/board"

    async def advance(self, *phases: str) -> None:
        for phase in phases:
            await self.admin.post(f"{self.api}/phase/advance", {"expected_phase": phase}, expect=200)

    async def facilitator(self, language: str = "en") -> Browser:
        browser = Browser(self.story.client)
        browser.speak(language)
        await browser.get("/login")
        signed = await browser.send("/login", {"email": ADMIN, "password": PASSWORD})
        assert signed.status_code == 303, signed.text
        return browser


@pytest.fixture
async def day(backend: Settings) -> AsyncIterator[Day]:
    """Three units on an open theme day, nothing mapped or rated yet."""
    async with serving(backend, quick_hashes=True) as story:
        admin = await story.sign_in(ADMIN)
        tenant = await admin.post(
            "/api/v1/tenants", {"name": "Region Tavle", "slug": f"tavle-{uuid.uuid4().hex[:12]}"}
        )
        admin.base = f"/api/v1/tenants/{tenant['id']}"
        await admin.put("/organisation", {"name": "Region Tavle"})
        units = [
            (await admin.post("/organisation/units", {"name": n}))["unit_id"]
            for n in ("Visitationen", "Hjemmeplejen", "Akutteamet")
        ]
        theme_day = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
        created = await admin.post(
            "/engagements", {"title": "Temadag på storskærm", "theme_day": theme_day, "unit_ids": units}
        )
        started = Day(story, admin, tenant["id"], created["engagement_id"], units)
        await started.advance("prepared", "theme_day_open")
        yield started


def counter(html: str, name: str) -> int:
    found = re.search(rf'id="{name}" data-testid="{name}">(\d+)<', html)
    assert found, f"no counter {name} in {html[:500]}"
    return int(found.group(1))


async def test_the_board_is_a_live_page_for_the_projector_in_english_and_danish(day: Day) -> None:
    browser = await day.facilitator("en")
    html = await browser.get(day.board)
    assert '<body class="board"' in html
    assert "<h1>Temadag på storskærm</h1>" in html
    events = f"/api/v1/tenants/{day.tenant_id}/engagements/{day.engagement_id}/events"
    assert f'data-live-source="{events}"' in html
    assert 'data-live-on="Live"' in html
    assert 'data-live-off="Reconnecting…"' in html
    assert 'aria-live="polite"' in html
    assert "data-live-status" in html
    assert f'hx-get="{day.board}/live" hx-trigger="balkort:changed from:body" hx-swap="outerHTML"' in html
    for name in ("ratings-count", "cards-count", "agreements-count", "proposals-count", "dialogues-count"):
        assert counter(html, name) == 0
    assert "Who has rated" in html
    assert 'id="card-network"' in html
    assert "Dialogue rounds" in html

    browser.speak("da")
    html = await browser.get(day.board)
    assert '<html lang="da">' in html
    assert "Hvem har vurderet" in html
    assert 'data-live-on="Live"' in html
    assert 'data-live-off="Genopretter forbindelsen…"' in html


async def test_the_live_part_shows_each_rating_card_and_agreement_as_it_is_recorded(day: Day) -> None:
    browser = await day.facilitator()
    live = f"{day.board}/live"
    fragment = await browser.get(live)
    assert fragment.lstrip().startswith('<div id="board-live"')
    assert "<html" not in fragment
    assert counter(fragment, "ratings-count") == 0

    visit, home, acute = day.units
    await day.admin.put(f"{day.api}/units/{visit}/relations", {"counterpart_ids": [home, acute]})
    await day.admin.post(f"{day.api}/ratings", {"unit_id": visit, "counterpart_id": home, "scores": flat(2)})
    fragment = await browser.get(live)
    assert counter(fragment, "ratings-count") == 1
    assert "Relations rated (of 2 mapped)" in fragment
    assert "1 of 2" in fragment  # Visitationen's own progress

    await day.advance("mapping")
    card = await day.admin.post(
        f"{day.api}/cards", {"from_unit": visit, "to_unit": home, "topic": "Overlevering"}
    )
    fragment = await browser.get(live)
    assert counter(fragment, "cards-count") == 1
    assert "Overlevering" in fragment
    assert "Visitationen invited Hjemmeplejen: Sent" in fragment  # the arrow's words on the network

    await day.admin.post(f"{day.api}/cards/{card['card_id']}/accept", {"unit_id": home}, expect=200)
    await day.admin.post(f"{day.api}/schedule", {}, expect=200)
    await day.advance("dance_cards")
    fragment = await browser.get(live)
    assert counter(fragment, "accepted-count") == 1
    assert "Round 1" in fragment

    await day.admin.post(
        f"{day.api}/dialogues",
        {
            "card_id": card["card_id"],
            "agreements": [{"text": "Tavlemøde hver tirsdag", "needs_acceptance": False}],
            "proposals": [{"text": "Fælles kursus"}],
        },
    )
    fragment = await browser.get(live)
    assert counter(fragment, "agreements-count") == 1
    assert counter(fragment, "proposals-count") == 1
    assert counter(fragment, "dialogues-count") == 1
    assert "Tavlemøde hver tirsdag" in fragment
    assert "Fælles kursus" in fragment
    assert "Held" in fragment


async def test_a_unit_table_sees_the_board_and_strangers_sign_in_first(day: Day) -> None:
    issued = await day.admin.post(f"{day.api}/units/{day.units[0]}/join-codes", {})
    table = Browser(day.story.client)
    table.speak("en")
    await table.get("/join")
    joined = await table.send("/join", {"code": issued["code"]})
    assert joined.status_code == 303
    html = await table.get(day.board)
    assert "Back to your unit" in html
    assert f'href="/t/{day.tenant_id}/e/{day.engagement_id}/u/{day.units[0]}"' in html
    assert (await table.get(f"{day.board}/live")).lstrip().startswith('<div id="board-live"')

    stranger = Browser(day.story.client)
    answer = await stranger.request("GET", day.board)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")
    htmx = await stranger.client.get(f"{day.board}/live", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/login?next=")
