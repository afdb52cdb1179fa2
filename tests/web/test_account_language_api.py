"""The language messages to a person are written in: Danish unless they chose English, chosen
by the person through the API and recorded on their account as an event with provenance."""

from __future__ import annotations

from typing import Any

from domain.user import User
from tests.http_harness import Story, tenant_with_team


async def _events(site: Story, email: str) -> list[Any]:
    control = site.container.control
    return await site.container.offloop(lambda: list(control.events.get(User.create_id(email))))


async def test_a_person_chooses_english_for_their_messages_and_it_is_recorded_once_with_who_and_when(
    site: Story,
) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    manager, email = team.manager, team.emails["manager"]
    manager.base = ""
    assert await manager.get("/api/v1/me/language") == {"language": "da"}
    before = len(await _events(site, email))

    chosen = await manager.put("/api/v1/me/language", {"language": "en"}, **{"Idempotency-Key": "lang-1"})
    assert chosen == {"language": "en"}
    assert await manager.get("/api/v1/me/language") == {"language": "en"}
    await manager.put("/api/v1/me/language", {"language": "en"}, **{"Idempotency-Key": "lang-1"})
    await manager.put("/api/v1/me/language", {"language": "en"})
    events = await _events(site, email)
    assert len(events) == before + 1
    recorded = events[-1]
    assert type(recorded).__name__ == "LanguageChosen"
    assert recorded.language == "en"
    assert recorded.provenance.actor_id == User.create_id(email)
    assert recorded.provenance.command_name == "ChooseLanguage"
    user = await site.container.offloop(site.container.control.user, User.create_id(email))
    assert user.language == "en"


async def test_a_language_other_than_danish_or_english_is_refused_naming_the_field(site: Story) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    manager = team.manager
    manager.base = ""
    problem = await manager.put("/api/v1/me/language", {"language": "de"}, expect=400)
    assert problem["errors"][0]["field"] == "language"
    assert await manager.get("/api/v1/me/language") == {"language": "da"}


async def test_only_someone_signed_in_has_a_language_to_choose(site: Story) -> None:
    answer = await site.client.put("/api/v1/me/language", json={"language": "en"})
    assert answer.status_code == 401
