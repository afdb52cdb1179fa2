"""The dashboards on the demo's three years: the engagement dashboard, the relation matrix and
the longitudinal view, in Danish and English, with charts and the same numbers as tables,
travelling back in time to a past day, and open to every reader of the client organisation
but not to a unit table.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient

from services.auth.passwords import Passwords
from services.bootstrap import build_container
from services.demo import DEMO_PASSWORD, DEMO_TENANT_SLUG, seed_demo
from services.settings import Settings
from tests.http_harness import Person, Story, serving, token_for
from tests.web.conftest import Browser, signed_in_browser


async def signed_in(client: AsyncTestClient[Any], email: str, language: str = "da") -> Browser:
    return await signed_in_browser(client, email, DEMO_PASSWORD, language=language)


@dataclass
class Demo:
    story: Story
    tenant_id: UUID
    engagements: dict[str, str]  # year -> engagement id
    api: Person  # the consultant, through the API

    def page(self, year: str, rest: str) -> str:
        return f"/t/{self.tenant_id}/e/{self.engagements[year]}/{rest}"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the demo's client organisation, seeded once for the module: three
    years of engagements, a merger and a rename, with the read models caught up."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    container = build_container(Settings(data_dir=data_dir))
    container.control.passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    try:
        tenant_id = seed_demo(container)
        container.projections.catch_up_now(tenant_id)
    finally:
        container.tenants.close()
        container.control.close()
    return data_dir


@pytest.fixture
async def demo(seeded: Path, tmp_path: Path) -> AsyncIterator[Demo]:
    """The app on a copy of the seeded demo."""
    data_dir = tmp_path / "data"
    shutil.copytree(seeded, data_dir)
    async with serving(Settings(data_dir=data_dir), quick_hashes=True) as story:
        tenant_id = story.container.control.tenant_id_for(DEMO_TENANT_SLUG)
        user = await asyncio.to_thread(story.container.control.user_by_email, "konsulent@balkort.example")
        api = Person(story.client, token_for(story.client, user.id), f"/api/v1/tenants/{tenant_id}")
        listed = await api.get("/engagements")
        years = {e["title"][-4:]: e["engagement_id"] for e in listed}
        yield Demo(story, tenant_id, years, api)


def figure(value: str, language: str) -> str:
    return value.replace(".", ",") if language == "da" else value


def counter(html: str, testid: str) -> int:
    found = re.search(rf'data-testid="{testid}">(\d+)<', html)
    assert found, f"no counter {testid}"
    return int(found.group(1))


async def test_the_engagement_dashboard_in_danish_and_english(demo: Demo) -> None:
    reader = await signed_in(demo.story.client, "leder@soeby.example")
    html = await reader.get(demo.page("2026", "dashboard"))
    assert '<html lang="da">' in html
    assert "<h1>Overblik: Sammen om udskrivning 2026</h1>" in html
    assert 'role="img"' in html
    assert 'class="table-view"' in html
    assert "De svageste relationer" in html
    assert "Balkort pr. relation" in html
    assert '<th scope="col" class="num">Venter på svar</th>' in html  # cards not answered yet
    api = await demo.api.get(f"/engagements/{demo.engagements['2026']}/dashboard")
    assert counter(html, "dashboard-agreements") == len(api["agreements"])
    for tie in api["weakest_ties"]:
        assert figure(tie["index"], "da") in html
    for agreement in api["agreements"]:
        assert agreement["text"] in html

    reader.speak("en")
    html = await reader.get(demo.page("2026", "dashboard"))
    assert '<html lang="en">' in html
    assert "<h1>Dashboard: Sammen om udskrivning 2026</h1>" in html
    assert "The weakest relations" in html
    assert "Proposals and decisions" in html
    assert '<th scope="col" class="num">Awaiting an answer</th>' in html
    assert 'id="f-as_of"' in html
    assert "Show as of" in html
    assert 'id="time-travel-submit"' in html


async def test_the_matrix_shows_a_heat_map_a_network_and_the_same_numbers_as_a_table(demo: Demo) -> None:
    reader = await signed_in(demo.story.client, "revisor@soeby.example", "en")  # an auditor reads too
    engagement = demo.engagements["2025"]
    html = await reader.get(demo.page("2025", "matrix"))
    assert "<h1>Relation matrix: Sammen om udskrivning 2025</h1>" in html
    assert 'id="heat-map"' in html
    assert 'id="network"' in html
    assert f'href="/t/{demo.tenant_id}/e/{engagement}/matrix.csv"' in html
    assert f'href="/t/{demo.tenant_id}/e/{engagement}/matrix.xlsx"' in html
    table = html[html.index('<table class="matrix-table">') :]
    assert '<th scope="col">' in table
    assert '<th scope="row">' in table
    assert "<caption id=" in table
    matrix = await demo.api.get(f"/engagements/{engagement}/matrix")
    for cell in matrix["cells"]:
        assert cell["index"] in table
    assert matrix["overall_index"]["mean"] in html

    # Rows and columns in the order of the units' names.
    rows = re.findall(r'<th scope="row">([^<]+)</th>', table)
    named = [u["name"] for u in matrix["units"]]
    assert rows[: len(named)] == sorted(named, key=str.casefold)

    reader.speak("da")
    html = await reader.get(demo.page("2025", "matrix"))
    assert "Varmekort" in html
    assert "Rækker: enheden, der vurderer" in html
    assert figure(matrix["overall_index"]["mean"], "da") in html


async def test_a_past_day_shows_the_state_of_that_day(demo: Demo) -> None:
    reader = await signed_in(demo.story.client, "leder@soeby.example", "en")
    now = await reader.get(demo.page("2026", "dashboard"))
    assert counter(now, "dashboard-agreements") > 0
    assert 'data-testid="past-state"' not in now

    # The day before the theme day: the engagement was prepared, nothing agreed yet.
    before = await reader.get(demo.page("2026", "dashboard?as_of=2026-03-09"))
    assert 'data-testid="past-state"' in before
    assert "9 March 2026" in before
    assert counter(before, "dashboard-agreements") == 0
    assert 'value="2026-03-09"' in before

    matrix = await reader.get(demo.page("2026", "matrix?as_of=2026-03-09"))
    assert "0 relations shown" in matrix
    assert "/matrix.csv?as_of=2026-03-09" in matrix

    history = await reader.get(f"/t/{demo.tenant_id}/history?as_of=2025-06-01")
    assert "Sammen om udskrivning 2025" in history
    assert "Sammen om udskrivning 2026" not in history
    assert "Hjemmeplejen Nord" in history  # the merger had not happened yet
    assert "Sammen om udskrivning 2026" in await reader.get(f"/t/{demo.tenant_id}/history")

    future = await reader.get(f"/t/{demo.tenant_id}/history?as_of=2999-01-01")
    assert "That day has not come yet; showing today." in future
    assert 'data-testid="past-state"' not in future
    assert "Sammen om udskrivning 2026" in future

    early = await reader.get(demo.page("2026", "dashboard?as_of=2020-01-01"))
    assert "Nothing had been recorded by that day. Showing today instead." in early
    bad = await reader.get(demo.page("2026", "matrix?as_of=yesterday"), expect=400)
    assert 'class="field-error" id="f-as_of-error">Give a date like 2025-03-11.' in bad


async def test_the_history_follows_a_chosen_relation_across_the_years(demo: Demo) -> None:
    reader = await signed_in(demo.story.client, "leder@soeby.example")
    html = await reader.get(f"/t/{demo.tenant_id}/history")
    assert "<h1>Relationer gennem årene</h1>" in html
    assert 'id="relation-history"' in html
    assert 'id="follow-through"' in html
    assert "Omorganiseret" in html
    assert "Hjemmeplejen Nord fortsatte som Hjemmeplejen" in html
    assert f'href="/t/{demo.tenant_id}/history.csv"' in html
    assert f'href="/t/{demo.tenant_id}/history.xlsx"' in html
    options = re.findall(r'<option value="([0-9a-f-]{36}:[0-9a-f-]{36})"', html)
    assert len(options) > 10
    view = await demo.api.get("/longitudinal")
    chosen = view["relations"][3]
    key = f"{chosen['unit_id']}:{chosen['counterpart_id']}"
    reader.speak("en")
    html = await reader.get(f"/t/{demo.tenant_id}/history?relation={key}")
    assert f'<option value="{key}" selected>' in html
    assert f"{chosen['unit_name']} about {chosen['counterpart_name']} across the years" in html
    for point in chosen["points"]:
        if point["index"]:
            assert point["index"] in html
    with_agreements = view["with_agreements"]["mean_change"]
    assert with_agreements.lstrip("-") in html
    assert "Show relation" in html
    assert "Follow-through of agreements" in html


async def test_strangers_sign_in_first(demo: Demo) -> None:
    stranger = Browser(demo.story.client)
    for url in (demo.page("2026", "matrix"), f"/t/{demo.tenant_id}/history"):
        answer = await stranger.request("GET", url)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
