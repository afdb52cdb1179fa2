"""A participant's name erased from an engagement on a page, as the API erases it: typed twice
to confirm, the result said (in how many places it stood), the scores kept; a mistyped
confirmation records nothing; the planning group may, a participant and an auditor may not."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.default_instrument import DIMENSIONS
from domain.roles import Role
from services.controlplane import system_provenance
from tests.http_harness import Story, register
from tests.web.conftest import Browser, Engagement, prepared, signed_in_browser


async def _with_a_dialogue(site: Story) -> Engagement:
    """An engagement whose one dialogue lists Mette Hansen (twice, in two cases) among its people."""
    day = await prepared(Engagement, site, "Søby Kommune", "Udskrivning", ["Visitationen", "Hjemmeplejen"])
    visit, home = day.units["Visitationen"], day.units["Hjemmeplejen"]
    await day.advance("prepared", "theme_day_open")
    await day.admin.put(f"{day.api}/units/{visit}/relations", {"counterpart_ids": [home]})
    rating = await day.admin.post(
        f"{day.api}/ratings",
        {"unit_id": visit, "counterpart_id": home, "scores": {d.key: 2 for d in DIMENSIONS}},
    )
    await day.advance("mapping")
    card = await day.admin.post(
        f"{day.api}/cards",
        {
            "from_unit": visit,
            "to_unit": home,
            "topic": "Overlevering",
            "motivating_rating_id": rating["rating_id"],
        },
    )
    await day.admin.post(f"{day.api}/cards/{card['card_id']}/accept", {"unit_id": home}, expect=200)
    await day.admin.post(f"{day.api}/schedule", {}, expect=200)
    await day.advance("dance_cards")
    await day.admin.post(
        f"{day.api}/dialogues",
        {
            "card_id": card["card_id"],
            "notes": "Fredage halter",
            "participants": ["Mette Hansen", "Ole", "METTE HANSEN"],
        },
    )
    return day


async def _as(site: Story, day: Engagement, role: Role) -> Browser:
    person = await register(site.container, Role.CONSULTANT if role is Role.CONSULTANT else None)
    await site.container.offloop(
        site.container.control.grant_membership,
        person.user_id,
        UUID(day.tenant_id),
        role,
        system_provenance("Test"),
    )
    return await signed_in_browser(site.client, person.email)


def _people(engagement: dict[str, Any]) -> list[str]:
    return [name for dialogue in engagement["dialogues"] for name in dialogue["participants"]]


async def test_the_client_admin_erases_a_name_typed_twice_and_the_scores_stay(site: Story) -> None:
    day = await _with_a_dialogue(site)
    planner = await _as(site, day, Role.CLIENT_ADMIN)
    page = f"/t/{day.tenant_id}/e/{day.engagement_id}/participants/erasure"
    shown = await planner.get(page)
    assert "Det der bevares" in shown
    assert "pseudonym" in shown
    before = await day.admin.get(day.api)

    mistyped = await planner.post(page, {"name": "Mette Hansen", "confirm_name": "Mette Hansn"})
    assert mistyped.status_code == 400
    assert 'id="f-confirm_name-error"' in mistyped.text
    assert _people(await day.admin.get(day.api)) == _people(before)

    erased = await planner.post(page, {"name": "mette hansen", "confirm_name": "Mette  Hansen"})
    assert erased.status_code == 200
    assert 'id="erasure-result"' in erased.text
    assert "2 steder" in erased.text
    after = await day.admin.get(day.api)
    assert _people(after) == ["(slettet)", "Ole", "(slettet)"]
    assert after["relation_views"] == before["relation_views"]  # the scores stay
    audit = await day.admin.get("/audit")
    redaction = next(e for e in audit["items"] if e["command_name"] == "RedactParticipant")
    assert redaction["actor_role"] == "client_admin"
    assert "Mette" not in str(redaction)


@pytest.mark.parametrize("role", [Role.PARTICIPANT, Role.AUDITOR])
async def test_a_participant_or_an_auditor_may_not_erase_a_name(site: Story, role: Role) -> None:
    day = await _with_a_dialogue(site)
    browser = await _as(site, day, role)
    page = f"/t/{day.tenant_id}/e/{day.engagement_id}/participants/erasure"
    assert (await browser.request("GET", page)).status_code == 403
    refused = await browser.post(page, {"name": "Ole", "confirm_name": "Ole"})
    assert refused.status_code == 403
    assert "Ole" in _people(await day.admin.get(day.api))


async def test_the_organisation_home_links_each_engagement_to_its_erasure_page(site: Story) -> None:
    day = await _with_a_dialogue(site)
    planner = await _as(site, day, Role.CLIENT_ADMIN)
    home = await planner.get(f"/t/{day.tenant_id}")
    assert f'href="/t/{day.tenant_id}/e/{day.engagement_id}/participants/erasure"' in home
    assert f'href="/t/{day.tenant_id}/units"' in home
    assert f'href="/t/{day.tenant_id}/instruments"' in home
