"""The invitation's accept form asks the language of the invitee's e-mails: the language the
page is read in is chosen to begin with, and what the invitee picks is recorded on their account
as they take the invitation up."""

from __future__ import annotations

from uuid import uuid4

from domain.user import User
from tests.http_harness import Story
from tests.web.conftest import Browser
from tests.web.test_people_pages import NEW_PASSWORD, link, planning_group


async def test_an_invitee_reading_english_picks_english_e_mails_as_they_accept(site: Story) -> None:
    tenant_id, manager = await planning_group(site, "Faaborg Kommune")
    email = f"ny-{uuid4().hex[:8]}@example.dk"
    await manager.post(f"/t/{tenant_id}/people/invitations", {"email": email, "role": "client_admin"})
    address = link(site, tenant_id, email)

    invitee = Browser(site.client)
    invitee.speak("da")
    danish = await invitee.get(address)
    assert 'id="f-language-da" name="language" value="da"\n      checked' in danish
    invitee.speak("en")
    english = await invitee.get(address)
    assert "The language of the e-mails you receive" in english
    assert 'id="f-language-en" name="language" value="en"\n      checked' in english

    taken = await invitee.post(
        address, {"password": NEW_PASSWORD, "display_name": "Nina Nybegynder", "language": "en"}
    )
    assert (taken.status_code, taken.headers["location"]) == (303, f"/t/{tenant_id}")
    user = await site.container.offloop(site.container.control.user, User.create_id(email))
    assert user.language == "en"
    chosen = await site.container.offloop(
        lambda: [
            e for e in site.container.control.events.get(user.id) if type(e).__name__ == "LanguageChosen"
        ]
    )
    assert [e.provenance.command_name for e in chosen] == ["AcceptInvitationByLink"]


async def test_an_invitee_who_keeps_danish_records_no_choice_of_language(site: Story) -> None:
    tenant_id, manager = await planning_group(site, "Faaborg Kommune")
    email = f"ny-{uuid4().hex[:8]}@example.dk"
    await manager.post(f"/t/{tenant_id}/people/invitations", {"email": email, "role": "client_admin"})
    address = link(site, tenant_id, email)
    invitee = Browser(site.client)
    invitee.speak("da")
    await invitee.get(address)
    taken = await invitee.post(address, {"password": NEW_PASSWORD, "display_name": "Nina", "language": "da"})
    assert taken.status_code == 303
    user = await site.container.offloop(site.container.control.user, User.create_id(email))
    assert user.language == "da"
    events = await site.container.offloop(lambda: list(site.container.control.events.get(user.id)))
    assert "LanguageChosen" not in {type(e).__name__ for e in events}
