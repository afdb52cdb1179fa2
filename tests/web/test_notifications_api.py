"""Who receives which messages through the API: the same use case as the page, each change an
event, a retried request recorded once, bad input answered with the field named, and only
those who plan the organisation's engagements let in."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.notifications import NotificationSettings, Receivers, Topic
from services.usecases.bus import query
from tests.http_harness import Story, tenant_with_team
from tests.web.conftest import signed_in_browser

ALL_TO_THE_PLANNING_GROUP = {t.value: Receivers.PLANNING_GROUP.value for t in Topic}


async def _events(site: Story, tenant_id: UUID) -> list[Any]:
    settings_id = NotificationSettings.id_for(tenant_id)
    return await query(site.container, tenant_id, lambda app: list(app.events.get(settings_id)))


async def test_the_planning_group_chooses_receivers_through_the_api_and_a_retry_records_nothing_twice(
    site: Story,
) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    tenant_id = UUID(team.tenant_id)
    manager = team.manager
    assert await manager.get("/notifications") == {"receivers": ALL_TO_THE_PLANNING_GROUP, "turned_off": {}}

    first = {**ALL_TO_THE_PLANNING_GROUP, "check_ins": "both", "digest": "nobody"}
    answer = await manager.put("/notifications", {"receivers": first}, **{"Idempotency-Key": "choice-1"})
    assert answer == {"receivers": first, "turned_off": {}}
    assert len(await _events(site, tenant_id)) == 3  # opened, then two choices changed

    second = {**first, "digest": "consultants"}
    await manager.put("/notifications", {"receivers": second}, **{"Idempotency-Key": "choice-2"})
    retried = await manager.put("/notifications", {"receivers": first}, **{"Idempotency-Key": "choice-1"})
    assert retried == answer
    assert len(await _events(site, tenant_id)) == 4
    assert (await manager.get("/notifications"))["receivers"] == second

    # The page shows what the API chose: one use case behind both.
    browser = await signed_in_browser(site.client, team.emails["manager"], language="en")
    page = await browser.get(f"/t/{tenant_id}/notifications")
    assert 'id="f-digest-consultants" name="digest" value="consultants"\n      checked' in page


async def test_a_choice_left_out_or_unknown_is_refused_naming_the_field_and_records_nothing(
    site: Story,
) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    tenant_id = UUID(team.tenant_id)
    manager = team.manager
    missing = {k: v for k, v in ALL_TO_THE_PLANNING_GROUP.items() if k != "digest"}
    problem = await manager.put("/notifications", {"receivers": missing}, expect=400)
    assert [e["field"] for e in problem["errors"]] == ["receivers.digest"]
    unknown = {**ALL_TO_THE_PLANNING_GROUP, "digest": "everyone"}
    problem = await manager.put("/notifications", {"receivers": unknown}, expect=400)
    assert "receivers" in problem["errors"][0]["field"]
    assert await _events(site, tenant_id) == []


async def test_participants_neither_see_nor_choose_who_receives_messages(site: Story) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    await team.first.get("/notifications", expect=403)
    await team.first.put("/notifications", {"receivers": ALL_TO_THE_PLANNING_GROUP}, expect=403)
