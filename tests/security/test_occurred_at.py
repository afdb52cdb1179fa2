"""Who may say when an action happened, and how far back: on the embedded default and on
PostgreSQL + Redis.

`X-Occurred-At` lets a facilitator or a client admin type in a past meeting's notes with the
moment they happened. A unit's table acting by join code acts on the theme day itself and may
not date anything; nobody may date an engagement's action before its preparatory meeting, an
organisation's change decades back, or anything into the future. Each refusal is a problem
naming the header, and records nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from services.requests.problems import PROBLEM_JSON
from services.settings import Settings
from tests.http_harness import ADMIN, Person, Story, at, onboard, serving

PREPARED = "2026-01-05T10:00:00Z"


@pytest.fixture
async def story(backend: Settings) -> AsyncIterator[Story]:
    async with serving(backend, quick_hashes=True) as started:
        yield started


async def an_engagement(story: Story) -> tuple[Person, UUID, str, list[str]]:
    """A tenant with two units and an engagement prepared on `PREPARED`, its theme day open;
    the consultancy admin based at the tenant, the tenant, the engagement's path, the units."""
    tenant_id = await onboard(story.container, "Odder Kommune", "dato")
    admin = await story.sign_in(ADMIN)
    admin.base = f"/api/v1/tenants/{tenant_id}"
    await admin.put("/organisation", {"name": "Odder Kommune"})
    units = [(await admin.post("/organisation/units", {"name": n}))["unit_id"] for n in ("Syd", "Nord")]
    day = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    created = await admin.post(
        "/engagements", {"title": "Temadag", "theme_day": day, "unit_ids": units}, **at(PREPARED)
    )
    engagement = f"/engagements/{created['engagement_id']}"
    for phase in ("prepared", "theme_day_open"):
        await admin.post(f"{engagement}/phase/advance", {"expected_phase": phase}, expect=200)
    return admin, tenant_id, engagement, units


def names_the_header(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    named = [e["field"] for e in problem.get("errors") or []]
    assert "X-Occurred-At" in named or "X-Occurred-At" in problem["detail"], problem


async def test_a_unit_table_by_join_code_may_not_date_what_it_does(story: Story) -> None:
    admin, tenant_id, engagement, (south, north) = await an_engagement(story)
    issued = await admin.post(f"{engagement}/units/{south}/join-codes", {})
    joined = await story.client.post("/api/v1/join", json={"code": issued["code"]})
    assert joined.status_code == 200, joined.text
    story.client.cookies.clear()
    table = {"Authorization": f"Bearer {joined.json()['token']}"}
    relations = f"/api/v1/tenants/{tenant_id}{engagement}/units/{south}/relations"

    for moment in ("1970-01-01T00:00:00Z", "2026-01-06T09:00:00Z"):
        response = await story.client.put(
            relations, json={"counterpart_ids": [north]}, headers={**table, "X-Occurred-At": moment}
        )
        names_the_header(response, 403)
    assert (await admin.get(engagement))["relations"] == {}

    # Undated, the same table maps its relations as it always could.
    response = await story.client.put(relations, json={"counterpart_ids": [north]}, headers=table)
    assert response.status_code == 200, response.text


async def test_an_action_in_an_engagement_cannot_be_dated_before_its_preparatory_meeting(
    story: Story,
) -> None:
    admin, _, engagement, _ = await an_engagement(story)
    before = await admin.get(engagement)

    for moment in ("1970-01-01T00:00:00Z", "2025-12-01T12:00:00Z"):
        response = await admin.client.put(
            f"{admin.base}{engagement}/rounds",
            json={"rounds": 4},
            headers={**admin.headers, "X-Occurred-At": moment},
        )
        names_the_header(response, 400)
    assert (await admin.get(engagement))["version"] == before["version"]

    # A moment after the preparatory meeting is a past meeting typed in later: recorded as given.
    await admin.put(f"{engagement}/rounds", {"rounds": 4}, **at("2026-01-20T13:00:00Z"))
    changed = await admin.get("/audit", params={"event_type": "RoundsSet", "limit": 5})
    assert [row["occurred_at"][:19] for row in changed["items"]] == ["2026-01-20T13:00:00"]


async def test_an_organisation_change_cannot_be_dated_decades_back(story: Story) -> None:
    admin, _, _, _ = await an_engagement(story)

    response = await admin.client.post(
        f"{admin.base}/organisation/units",
        json={"name": "Vest"},
        headers={**admin.headers, "X-Occurred-At": "1970-01-01T00:00:00Z"},
    )

    names_the_header(response, 400)
    units = (await admin.get("/organisation"))["units"]
    assert "Vest" not in [u["name"] for u in units]


async def test_a_moment_in_the_future_is_refused_naming_the_header(story: Story) -> None:
    admin, _, engagement, _ = await an_engagement(story)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    response = await admin.client.put(
        f"{admin.base}{engagement}/rounds",
        json={"rounds": 4},
        headers={**admin.headers, "X-Occurred-At": tomorrow},
    )

    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["X-Occurred-At"]
