"""The live theme-day board on the projector: it follows the engagement's event stream, and its
live part, fetched again on every change, shows each rating, dance card and agreement as soon
as it is recorded. Readers of the client organisation and the unit tables see it; others sign in.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from services.settings import Settings
from tests.http_harness import ADMIN, flat, serving
from tests.web.conftest import Browser, Engagement, prepared, signed_in_browser


class Day(Engagement):
    @property
    def board(self) -> str:
        return f"/t/{self.tenant_id}/e/{self.engagement_id}/board"

    @property
    def unit_ids(self) -> list[str]:
        return list(self.units.values())

    async def facilitator(self, language: str = "en") -> Browser:
        return await signed_in_browser(self.story.client, ADMIN, language=language)


@pytest.fixture
async def day(backend: Settings) -> AsyncIterator[Day]:
    """Three units on an open theme day, nothing mapped or rated yet."""
    async with serving(backend, quick_hashes=True) as story:
        units = ("Visitationen", "Hjemmeplejen", "Akutteamet")
        started = await prepared(Day, story, "Region Tavle", "Temadag på storskærm", units)
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

    visit, home, acute = day.unit_ids
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
    issued = await day.admin.post(f"{day.api}/units/{day.unit_ids[0]}/join-codes", {})
    table = Browser(day.story.client)
    table.speak("en")
    await table.get("/join")
    joined = await table.post("/join", {"code": issued["code"]})
    assert joined.status_code == 303
    html = await table.get(day.board)
    assert "Back to your unit" in html
    assert f'href="/t/{day.tenant_id}/e/{day.engagement_id}/u/{day.unit_ids[0]}"' in html
    assert (await table.get(f"{day.board}/live")).lstrip().startswith('<div id="board-live"')

    stranger = Browser(day.story.client)
    answer = await stranger.request("GET", day.board)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")
    htmx = await stranger.client.get(f"{day.board}/live", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/login?next=")
