"""Every GET of an engagement answers as of the moment asked for: on the embedded default and on
PostgreSQL + Redis.

The relations, the dance cards, the agreements and the proposals of an engagement, asked for
`as_of` a moment, show what had happened by then and nothing mapped, sent or made after it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.settings import Settings
from tests.http_harness import ADMIN, Story, at, onboard, serving

MORNING = "2026-03-11T09:00:00Z"
BETWEEN = "2026-03-11T10:00:00Z"
NOON = "2026-03-11T12:00:00Z"


@pytest.fixture
async def story(backend: Settings) -> AsyncIterator[Story]:
    async with serving(backend, quick_hashes=True) as started:
        yield started


async def test_relations_and_cards_as_of_a_moment_leave_out_what_came_after(story: Story) -> None:
    tenant_id = await onboard(story.container, "Skive Kommune", "asof")
    facilitator = await story.sign_in(ADMIN)
    facilitator.base = f"/api/v1/tenants/{tenant_id}"
    await facilitator.put("/organisation", {"name": "Skive Kommune"}, **at("2026-01-05T08:00:00Z"))
    south, north = [
        (await facilitator.post("/organisation/units", {"name": n}, **at("2026-01-05T09:00:00Z")))["unit_id"]
        for n in ("Syd", "Nord")
    ]
    created = await facilitator.post(
        "/engagements",
        {"title": "Temadag", "theme_day": "2026-03-11", "unit_ids": [south, north]},
        **at("2026-01-20T13:00:00Z"),
    )
    engagement = f"/engagements/{created['engagement_id']}"
    for phase, when in (("prepared", "2026-03-11T08:00:00Z"), ("theme_day_open", "2026-03-11T08:05:00Z")):
        await facilitator.post(
            f"{engagement}/phase/advance", {"expected_phase": phase}, expect=200, **at(when)
        )
    # In the morning the south unit maps its tie to the north; at noon the north maps its own.
    await facilitator.put(
        f"{engagement}/units/{south}/relations", {"counterpart_ids": [north]}, **at(MORNING)
    )
    await facilitator.put(f"{engagement}/units/{north}/relations", {"counterpart_ids": [south]}, **at(NOON))
    await facilitator.post(
        f"{engagement}/phase/advance", {"expected_phase": "mapping"}, expect=200, **at(NOON)
    )
    await facilitator.post(
        f"{engagement}/cards", {"from_unit": south, "to_unit": north, "topic": "Overlevering"}, **at(NOON)
    )

    def ties(relations: list[dict[str, str]]) -> set[tuple[str, str]]:
        return {(r["unit_id"], r["counterpart_id"]) for r in relations}

    assert ties(await facilitator.get(f"{engagement}/relations")) == {(south, north), (north, south)}
    assert ties(await facilitator.get(f"{engagement}/relations", params={"as_of": BETWEEN})) == {
        (south, north)
    }
    assert len(await facilitator.get(f"{engagement}/cards")) == 1
    assert await facilitator.get(f"{engagement}/cards", params={"as_of": BETWEEN}) == []
    assert await facilitator.get(f"{engagement}/agreements", params={"as_of": BETWEEN}) == []
    assert await facilitator.get(f"{engagement}/proposals", params={"as_of": BETWEEN}) == []


async def test_relations_as_of_a_moment_without_a_time_zone_are_refused_naming_as_of(story: Story) -> None:
    tenant_id = await onboard(story.container, "Lemvig Kommune", "asof")
    facilitator = await story.sign_in(ADMIN)
    facilitator.base = f"/api/v1/tenants/{tenant_id}"
    await facilitator.put("/organisation", {"name": "Lemvig Kommune"})
    units = [(await facilitator.post("/organisation/units", {"name": n}))["unit_id"] for n in ("Syd", "Nord")]
    created = await facilitator.post(
        "/engagements", {"title": "T", "theme_day": "2026-03-11", "unit_ids": units}
    )

    refused = await facilitator.get(
        f"/engagements/{created['engagement_id']}/relations",
        params={"as_of": "2026-03-11T10:00:00"},
        expect=400,
    )

    assert [e["field"] for e in refused["errors"]] == ["as_of"]
