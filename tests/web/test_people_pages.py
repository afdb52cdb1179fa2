"""The people pages: the planning group invites, resends, withdraws and changes roles; an invitee
takes up an invitation through its link and sets a password; a forgotten password is set anew
through its link; the consultancy admin deactivates an account. Danish first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.invitation import Invitations
from domain.roles import Role
from domain.user import User
from services.auth.links import invitation_token, reset_token
from services.controlplane import system_provenance
from tests.http_harness import ADMIN, PASSWORD, Story, onboard, register
from tests.web.conftest import Browser, signed_in_browser

NEW_PASSWORD = "mit-nye-kodeord-2026"


async def planning_group(site: Story, name: str) -> tuple[UUID, Browser]:
    """A client organisation and its client admin, signed in on the pages (in Danish)."""
    tenant_id = await onboard(site.container, name, "folk")
    manager = await register(site.container)
    await site.container.offloop(
        site.container.control.grant_membership,
        manager.user_id,
        tenant_id,
        Role.CLIENT_ADMIN,
        system_provenance("Test"),
    )
    return tenant_id, await signed_in_browser(site.client, manager.email, language="da")


def link(site: Story, tenant_id: UUID, email: str) -> str:
    """The invitation's link as its e-mail carries it (made from the events with the key)."""
    invitee_id = User.create_id(email)
    inbox: Invitations = site.container.control.repository.get(Invitations.id_for(invitee_id))
    issue = inbox.links[str(tenant_id)].issue
    return f"/invitations/{invitation_token(site.container.link_key, tenant_id, invitee_id, issue)}"


async def test_the_planning_group_invites_resends_and_withdraws_on_its_people_page(site: Story) -> None:
    tenant_id, manager = await planning_group(site, "Nyborg Kommune")
    people = f"/t/{tenant_id}/people"
    shown = await manager.get(people)
    assert "Personer i Nyborg Kommune" in shown
    assert 'value="auditor"' not in shown  # the planning group offers no auditor's role

    email = f"ny-{uuid4().hex[:8]}@example.dk"
    sent = await manager.post(f"{people}/invitations", {"email": email, "role": "participant"})
    assert (sent.status_code, sent.headers["location"]) == (303, f"{people}?sent=1")
    shown = await manager.get(f"{people}?sent=1")
    assert "Invitationen er på vej." in shown
    assert email in shown

    first = link(site, tenant_id, email)
    invitee_id = User.create_id(email)
    resent = await manager.post(f"{people}/invitations/{invitee_id}/resend", {})
    assert resent.status_code == 303
    assert link(site, tenant_id, email) != first
    gone = await Browser(site.client).get(first, expect=404)
    assert "Dette invitationslink virker ikke længere." in gone

    withdrawn = await manager.post(f"{people}/invitations/{invitee_id}/revoke", {})
    assert withdrawn.status_code == 303
    assert email not in await manager.get(people)

    refused = await manager.post(f"{people}/invitations", {"email": email, "role": "auditor"})
    assert refused.status_code == 409
    assert "Kun konsulenthuset giver, ændrer eller fjerner denne rolle." in refused.text
    bad = await manager.post(f"{people}/invitations", {"email": "no-at-sign", "role": "participant"})
    assert bad.status_code == 400
    assert 'aria-invalid="true"' in bad.text


async def test_an_invitee_without_an_account_sets_a_password_and_lands_in_the_organisation(
    site: Story,
) -> None:
    tenant_id, manager = await planning_group(site, "Faaborg Kommune")
    email = f"ny-{uuid4().hex[:8]}@example.dk"
    await manager.post(f"/t/{tenant_id}/people/invitations", {"email": email, "role": "client_admin"})
    address = link(site, tenant_id, email)

    invitee = Browser(site.client)
    invitee.speak("da")
    page = await invitee.get(address)
    assert "Invitation til Faaborg Kommune" in page
    assert email in page
    missing = await invitee.post(address, {"password": NEW_PASSWORD})
    assert missing.status_code == 400
    short = await invitee.post(address, {"password": "kort", "display_name": "Nina"})
    assert short.status_code == 400
    taken = await invitee.post(address, {"password": NEW_PASSWORD, "display_name": "Nina Nybegynder"})
    assert (taken.status_code, taken.headers["location"]) == (303, f"/t/{tenant_id}")
    assert "Faaborg Kommune" in await invitee.get(f"/t/{tenant_id}")
    user = await site.container.offloop(site.container.control.user, User.create_id(email))
    assert user.memberships[tenant_id] is Role.CLIENT_ADMIN
    # Used up.
    assert (await Browser(site.client).request("GET", address)).status_code == 404
    # And the new client admin sees the people of the organisation.
    assert "Nina Nybegynder" in await invitee.get(f"/t/{tenant_id}/people")


async def test_an_invitee_with_an_account_signs_in_to_accept_and_a_wrong_password_accepts_nothing(
    site: Story,
) -> None:
    tenant_id, manager = await planning_group(site, "Svendborg Kommune")
    someone = await register(site.container)
    await manager.post(f"/t/{tenant_id}/people/invitations", {"email": someone.email, "role": "participant"})
    address = link(site, tenant_id, someone.email)
    invitee = Browser(site.client)
    assert "password" in await invitee.get(address)
    wrong = await invitee.post(address, {"password": "forkert-kodeord-123"})
    assert wrong.status_code == 401
    assert (
        Role.PARTICIPANT
        not in (
            await site.container.offloop(site.container.control.user, someone.user_id)
        ).memberships.values()
    )
    right = await invitee.post(address, {"password": PASSWORD})
    assert right.status_code == 303
    user = await site.container.offloop(site.container.control.user, someone.user_id)
    assert user.memberships[tenant_id] is Role.PARTICIPANT


async def test_a_forgotten_password_is_set_anew_through_its_link_and_the_page_says_the_same_for_any_address(
    site: Story,
) -> None:
    someone = await register(site.container)
    visitor = Browser(site.client)
    visitor.speak("da")
    await visitor.get("/password/forgot")
    answers: list[Any] = [
        await visitor.post("/password/forgot", {"email": email})
        for email in (someone.email, f"ingen-{uuid4().hex[:8]}@example.dk")
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].text == answers[1].text
    assert "Hvis adressen har en konto" in answers[0].text

    user = await site.container.offloop(site.container.control.user, someone.user_id)
    assert user.reset_link is not None
    address = (
        f"/password/reset/{reset_token(site.container.link_key, someone.user_id, user.reset_link.issue)}"
    )
    assert "Vælg en ny adgangskode" in await visitor.get(address)
    done = await visitor.post(address, {"password": NEW_PASSWORD})
    assert done.status_code == 200
    assert "Din nye adgangskode er gemt" in done.text
    assert (await visitor.request("GET", address)).status_code == 404
    signed_in = await signed_in_browser(site.client, someone.email, NEW_PASSWORD)
    assert signed_in.cookies


async def test_the_consultancy_admin_deactivates_an_account_which_then_cannot_sign_in(site: Story) -> None:
    admin = await signed_in_browser(site.client, ADMIN, language="da")
    someone = await register(site.container)
    page = await admin.get("/admin/people")
    assert someone.email in page
    done = await admin.post(f"/admin/people/{someone.user_id}/deactivate", {})
    assert done.status_code == 303
    assert "Deaktiveret" in await admin.get("/admin/people")
    browser = Browser(site.client)
    await browser.get("/login")
    refused = await browser.post("/login", {"email": someone.email, "password": PASSWORD})
    assert refused.status_code == 401

    tenant_id = await onboard(site.container, "Langeland Kommune", "folk")
    email = f"konsulent-{uuid4().hex[:8]}@example.dk"
    invited = await admin.post(
        "/admin/people/invitations", {"tenant_id": str(tenant_id), "email": email, "role": "consultant"}
    )
    assert invited.status_code == 303
    assert link(site, tenant_id, email).startswith("/invitations/")


async def test_the_people_pages_are_closed_to_participants_and_the_admin_page_to_everyone_else(
    site: Story,
) -> None:
    tenant_id, manager = await planning_group(site, "Ærø Kommune")
    await manager.get("/admin/people", expect=403)
    participant = await register(site.container)
    await site.container.offloop(
        site.container.control.grant_membership,
        participant.user_id,
        tenant_id,
        Role.PARTICIPANT,
        system_provenance("Test"),
    )
    browser = await signed_in_browser(site.client, participant.email)
    await browser.get(f"/t/{tenant_id}/people", expect=403)


async def test_an_invitation_form_sent_twice_invites_once_and_sends_one_link(site: Story) -> None:
    tenant_id, manager = await planning_group(site, "Kerteminde Kommune")
    email = f"ny-{uuid4().hex[:8]}@example.dk"
    for _ in range(2):
        sent = await manager.post(
            f"/t/{tenant_id}/people/invitations",
            {"email": email, "role": "participant"},
            key="samme-formular",
        )
        assert sent.status_code == 303
    invitee_id = User.create_id(email)
    for _ in range(2):
        resent = await manager.post(f"/t/{tenant_id}/people/invitations/{invitee_id}/resend", {}, key="igen")
        assert resent.status_code == 303
    inbox_id = Invitations.id_for(invitee_id)
    topics = [e.topic.rpartition(".")[2] for e in site.container.control.recorder.select_events(inbox_id)]
    assert topics == ["Opened", "Invited", "LinkIssued", "LinkResent"]


async def test_an_expired_invitation_link_says_so_and_its_use_is_recorded(site: Story) -> None:
    tenant_id, manager = await planning_group(site, "Nordfyns Kommune")
    email = f"sen-{uuid4().hex[:8]}@example.dk"
    await manager.post(f"/t/{tenant_id}/people/invitations", {"email": email, "role": "participant"})
    address = link(site, tenant_id, email)
    later = system_provenance("Test").recorded_at + timedelta(
        hours=site.container.settings.invitation_link_hours + 1
    )
    site.container.clock = lambda: later
    invitee = Browser(site.client)
    shown = await invitee.get(address, expect=410)
    assert "Dette invitationslink er udløbet. Bed om et nyt." in shown
    await invitee.get("/login")
    tried = await invitee.post(address, {"password": NEW_PASSWORD, "display_name": "Sen"})
    assert tried.status_code == 410
    inbox_id = Invitations.id_for(User.create_id(email))
    topics = [e.topic.rpartition(".")[2] for e in site.container.control.recorder.select_events(inbox_id)]
    assert topics[-1] == "ExpiredUseRefused"
    assert await site.container.offloop(site.container.control.find_user, User.create_id(email)) is None
