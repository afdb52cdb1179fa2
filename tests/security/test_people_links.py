"""Invitations by e-mail and forgotten passwords through one-time links, over the API, on the
embedded default and on PostgreSQL + Redis (docs/adr/0029).

An invitation by e-mail answers the same for an address with an account elsewhere and for one
without any, and attaches nobody: the person holds the role once they accept through the link,
signing in (an account) or setting a password (none). A link works once, until it expires, and
only while it is the newest: resending or revoking stops the earlier ones. A request for a new
password answers the same for every address. A deactivated account's tokens stop working.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.invitation import Invitations
from domain.roles import Role
from domain.user import User
from services.auth.links import invitation_token, reset_token
from services.controlplane import system_provenance
from services.settings import Settings
from tests.http_harness import PASSWORD, Person, Story, onboard, register, serving, token_for

NEW_PASSWORD = "et-helt-nyt-kodeord-2026"


@pytest.fixture
async def story(backend: Settings) -> AsyncIterator[Story]:
    async with serving(backend, quick_hashes=True) as started:
        yield started


async def member(
    story: Story, tenant_id: UUID, role: Role, platform_role: Role | None = None
) -> tuple[Person, UUID]:
    user = await register(story.container, platform_role)
    await story.container.offloop(
        story.container.control.grant_membership, user.user_id, tenant_id, role, system_provenance("Test")
    )
    return Person(
        story.client, token_for(story.client, user.user_id), base=f"/api/v1/tenants/{tenant_id}"
    ), user.user_id


def link_of(story: Story, tenant_id: UUID, email: str) -> str:
    """The token of the link the invitation's e-mail carries, made from the events as the outbox does."""
    invitee_id = User.create_id(email)
    inbox: Invitations = story.container.control.repository.get(Invitations.id_for(invitee_id))
    issue = inbox.links[str(tenant_id)].issue
    return invitation_token(story.container.link_key, tenant_id, invitee_id, issue)


def inbox_events(story: Story, email: str) -> list[str]:
    inbox_id = Invitations.id_for(User.create_id(email))
    return [e.topic.rpartition(".")[2] for e in story.container.control.recorder.select_events(inbox_id)]


async def role_of(story: Story, user_id: UUID, tenant_id: UUID) -> Role | None:
    user = await story.container.offloop(story.container.control.user, user_id)
    return user.memberships.get(tenant_id)


async def accept(story: Story, body: dict[str, Any]) -> Any:
    answer = await story.client.post("/api/v1/auth/invitation/accept", json=body)
    story.client.cookies.clear()
    return answer


async def test_an_invitation_answers_alike_for_every_address_and_attaches_nobody_until_accepted(
    story: Story,
) -> None:
    tenant_id = await onboard(story.container, "Vejle Kommune", "folk")
    elsewhere_id = await onboard(story.container, "Kolding Kommune", "folk")
    consultant, _ = await member(story, tenant_id, Role.CONSULTANT, Role.CONSULTANT)
    _, known_id = await member(story, elsewhere_id, Role.CLIENT_ADMIN)
    known = await story.container.offloop(story.container.control.user, known_id)
    unknown = f"ny-{uuid4().hex[:10]}@example.dk"

    answers = [
        await story.client.post(
            f"/api/v1/tenants/{tenant_id}/invitations",
            json={"email": email, "role": "client_admin"},
            headers=consultant.headers,
        )
        for email in (known.email, unknown)
    ]

    def shape(answer: Any) -> tuple[int, list[str]]:
        return answer.status_code, sorted(answer.json())

    assert (
        shape(answers[0])
        == shape(answers[1])
        == (201, ["expires_at", "invitation_id", "invitee_id", "role", "tenant_id"])
    )
    assert "token" not in answers[0].text
    assert await role_of(story, known_id, tenant_id) is None

    people = await consultant.get("/people")
    assert sorted(i["email"] for i in people["invitations"]) == sorted([known.email, unknown])

    # The known person signs in through the link (their own password) and holds the role.
    token = link_of(story, tenant_id, known.email)
    offer = (await story.client.post("/api/v1/auth/invitation", json={"token": token})).json()
    assert (offer["tenant_name"], offer["role"], offer["has_account"]) == (
        "Vejle Kommune",
        "client_admin",
        True,
    )
    wrong = await accept(story, {"token": token, "password": "not-their-password"})
    assert wrong.status_code == 401
    assert await role_of(story, known_id, tenant_id) is None
    taken = await accept(story, {"token": token, "password": PASSWORD})
    assert taken.status_code == 200, taken.text
    assert await role_of(story, known_id, tenant_id) is Role.CLIENT_ADMIN
    assert await role_of(story, known_id, elsewhere_id) is Role.CLIENT_ADMIN
    # Used up: the same link works no more.
    assert (await accept(story, {"token": token, "password": PASSWORD})).status_code == 404

    # The unknown address gets an account of its own, with the password it sets.
    token = link_of(story, tenant_id, unknown)
    offer = (await story.client.post("/api/v1/auth/invitation", json={"token": token})).json()
    assert (offer["email"], offer["has_account"]) == (unknown, False)
    made = await accept(story, {"token": token, "password": NEW_PASSWORD, "display_name": "Nina Nybegynder"})
    assert made.status_code == 200, made.text
    signed_in = Person(story.client, {"Authorization": f"Bearer {made.json()['token']}"})
    assert (await signed_in.get(f"/api/v1/tenants/{tenant_id}"))["name"] == "Vejle Kommune"
    login = await story.client.post("/api/v1/auth/login", json={"email": unknown, "password": NEW_PASSWORD})
    assert login.status_code == 200
    story.client.cookies.clear()
    assert inbox_events(story, unknown) == ["Opened", "Invited", "LinkIssued", "Accepted"]


async def test_a_resent_link_stops_the_earlier_one_a_revoked_invitation_stops_all_and_an_expired_one_is_refused(
    story: Story,
) -> None:
    tenant_id = await onboard(story.container, "Fredericia Kommune", "folk")
    manager, _ = await member(story, tenant_id, Role.CLIENT_ADMIN)
    email = f"deltager-{uuid4().hex[:10]}@example.dk"
    invitee_id = User.create_id(email)

    await manager.post("/invitations", {"email": email, "role": "participant"})
    first = link_of(story, tenant_id, email)
    await manager.post(f"/invitations/{invitee_id}/resend", expect=200)
    second = link_of(story, tenant_id, email)
    assert first != second
    assert (await story.client.post("/api/v1/auth/invitation", json={"token": first})).status_code == 404
    assert (await story.client.post("/api/v1/auth/invitation", json={"token": second})).status_code == 200

    # A tampered token is no token.
    tampered = second[:-2] + ("AA" if not second.endswith("AA") else "BB")
    assert (await story.client.post("/api/v1/auth/invitation", json={"token": tampered})).status_code == 404

    await manager.call("DELETE", f"/invitations/{invitee_id}", expect=204)
    assert (await story.client.post("/api/v1/auth/invitation", json={"token": second})).status_code == 404
    assert (await manager.get("/people"))["invitations"] == []

    # Invited again: the link expires after its time, and a late use is refused and recorded.
    await manager.post("/invitations", {"email": email, "role": "participant"})
    third = link_of(story, tenant_id, email)
    assert third not in (first, second)
    hours = story.container.settings.invitation_link_hours
    story.container.clock = lambda: system_provenance("Test").recorded_at + timedelta(hours=hours, minutes=1)
    late = await accept(story, {"token": third, "password": NEW_PASSWORD, "display_name": "Sen"})
    assert late.status_code == 409
    assert late.json()["code"] == "invitation_link_expired"
    assert await story.container.offloop(story.container.control.find_user, invitee_id) is None
    assert inbox_events(story, email)[-1] == "ExpiredUseRefused"
    assert inbox_events(story, email) == [
        "Opened",
        "Invited",
        "LinkIssued",
        "LinkResent",
        "Revoked",
        "Invited",
        "LinkIssued",
        "ExpiredUseRefused",
    ]


async def test_the_planning_group_invites_its_own_and_participants_but_never_an_auditor(story: Story) -> None:
    tenant_id = await onboard(story.container, "Middelfart Kommune", "folk")
    manager, _ = await member(story, tenant_id, Role.CLIENT_ADMIN)
    participant, _ = await member(story, tenant_id, Role.PARTICIPANT)
    email = f"revisor-{uuid4().hex[:10]}@example.dk"
    refused = await manager.post("/invitations", {"email": email, "role": "auditor"}, expect=403)
    assert refused["code"] == "role_by_consultancy"
    await participant.post("/invitations", {"email": email, "role": "participant"}, expect=403)
    await manager.post("/invitations", {"email": email, "role": "client_admin"})


async def test_a_forgotten_password_answers_alike_for_every_address_and_its_link_works_once(
    story: Story,
) -> None:
    someone = await register(story.container)
    unknown = f"ingen-{uuid4().hex[:10]}@example.dk"
    answers = [
        await story.client.post("/api/v1/password-resets", json={"email": email})
        for email in (someone.email, unknown)
    ]
    known_answer, unknown_answer = ((a.status_code, a.json()) for a in answers)
    assert known_answer == unknown_answer
    assert answers[0].status_code == 202

    user = await story.container.offloop(story.container.control.user, someone.user_id)
    assert user.reset_link is not None
    token = reset_token(story.container.link_key, someone.user_id, user.reset_link.issue)
    done = await story.client.post(
        "/api/v1/password-resets/new-password", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text
    again = await story.client.post(
        "/api/v1/password-resets/new-password", json={"token": token, "password": PASSWORD + "x"}
    )
    assert again.status_code == 404
    old = await story.client.post("/api/v1/auth/login", json={"email": someone.email, "password": PASSWORD})
    assert old.status_code == 401
    new = await story.client.post(
        "/api/v1/auth/login", json={"email": someone.email, "password": NEW_PASSWORD}
    )
    assert new.status_code == 200
    story.client.cookies.clear()

    # An expired link is refused.
    await story.client.post("/api/v1/password-resets", json={"email": someone.email})
    user = await story.container.offloop(story.container.control.user, someone.user_id)
    assert user.reset_link is not None
    late = reset_token(story.container.link_key, someone.user_id, user.reset_link.issue)
    minutes = story.container.settings.password_reset_link_minutes
    story.container.clock = lambda: system_provenance("Test").recorded_at + timedelta(minutes=minutes + 1)
    expired = await story.client.post(
        "/api/v1/password-resets/new-password", json={"token": late, "password": PASSWORD}
    )
    assert expired.status_code == 409
    assert expired.json()["code"] == "reset_link_expired"


async def test_a_deactivated_account_cannot_sign_in_and_its_tokens_stop_working(story: Story) -> None:
    admin, admin_id = await member(
        story,
        await onboard(story.container, "Assens Kommune", "folk"),
        Role.CONSULTANT,
        Role.CONSULTANCY_ADMIN,
    )
    admin.base = ""
    someone = await register(story.container)
    login = await story.client.post("/api/v1/auth/login", json={"email": someone.email, "password": PASSWORD})
    story.client.cookies.clear()
    theirs = Person(story.client, {"Authorization": f"Bearer {login.json()['token']}"})
    await theirs.get("/api/v1/me")

    listed = {p["id"]: p for p in await admin.get("/api/v1/users")}
    assert listed[str(someone.user_id)]["active"] is True
    await admin.post(f"/api/v1/users/{someone.user_id}/deactivate", expect=204)
    await theirs.get("/api/v1/me", expect=401)
    refused = await story.client.post(
        "/api/v1/auth/login", json={"email": someone.email, "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert {p["id"]: p for p in await admin.get("/api/v1/users")}[str(someone.user_id)]["active"] is False
    own = await admin.post(f"/api/v1/users/{admin_id}/deactivate", expect=403)
    assert own["code"] == "own_account_deactivated"
