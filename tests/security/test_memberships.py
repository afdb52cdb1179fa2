"""Who may change whose role in a client organisation, and the record of every change: on the
embedded default and on PostgreSQL + Redis.

A consultant assigned to a tenant cannot demote a fellow consultant, themselves or a
consultancy admin, by granting over a role or by changing or removing it: refused with a 403
problem, and nothing changes. A role already held is changed explicitly, never overwritten by
a grant. Every change that is allowed — granted, offered, accepted, changed, removed — is an
event in the tenant's audit trail, with the actor and the role they acted under, covered by
the tenant's hash chain. A grant by e-mail address or user id answers the same whether or not
the person is registered elsewhere, and attaches nobody: the person is invited and holds the
role only once they accept it, signed in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.roles import Role
from domain.user import User
from services.controlplane import system_provenance
from services.settings import Settings
from tests.http_harness import Person, Story, onboard, register, serving, token_for

MEMBER_EVENTS = "MemberRoster"


@pytest.fixture
async def story(backend: Settings) -> AsyncIterator[Story]:
    async with serving(backend, quick_hashes=True) as started:
        yield started


async def person(
    story: Story, tenant_id: UUID, role: Role | None, platform_role: Role | None = None
) -> tuple[Person, UUID]:
    """A user of their own, holding `role` in the tenant (seeded), signed in on its API."""
    user = await register(story.container, platform_role)
    if role is not None:
        await story.container.offloop(
            story.container.control.grant_membership, user.user_id, tenant_id, role, system_provenance("Test")
        )
    signed_in = Person(
        story.client, token_for(story.client, user.user_id), base=f"/api/v1/tenants/{tenant_id}"
    )
    return signed_in, user.user_id


async def role_of(story: Story, user_id: UUID, tenant_id: UUID) -> Role | None:
    user = await story.container.offloop(story.container.control.user, user_id)
    return user.memberships.get(tenant_id)


async def membership_rows(reader: Person) -> list[dict[str, Any]]:
    page = await reader.get("/audit", params={"aggregate_type": MEMBER_EVENTS, "limit": 500})
    rows: list[dict[str, Any]] = page["items"]
    return rows


def refused(answer: Any) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["rule"] == "not_permitted"


async def test_a_consultant_cannot_demote_a_fellow_consultant_themselves_or_a_consultancy_admin(
    story: Story,
) -> None:
    tenant_id = await onboard(story.container, "Hedensted Kommune", "roller")
    consultant, consultant_id = await person(story, tenant_id, Role.CONSULTANT, Role.CONSULTANT)
    _, fellow_id = await person(story, tenant_id, Role.CONSULTANT, Role.CONSULTANT)
    # A consultancy admin who also holds a role in the tenant.
    admin, admin_id = await person(story, tenant_id, Role.CONSULTANT, Role.CONSULTANCY_ADMIN)
    members = f"/api/v1/tenants/{tenant_id}/members"
    headers = consultant.headers

    for target in (fellow_id, consultant_id, admin_id):
        for role in ("client_admin", "participant", "auditor"):
            refused(
                await story.client.post(members, json={"user_id": str(target), "role": role}, headers=headers)
            )
            refused(await story.client.put(f"{members}/{target}", json={"role": role}, headers=headers))
        refused(await story.client.delete(f"{members}/{target}", headers=headers))

    for target in (fellow_id, consultant_id, admin_id):
        assert await role_of(story, target, tenant_id) is Role.CONSULTANT
    assert [r["event_type"] for r in await membership_rows(admin)] == []


async def test_a_role_held_already_is_changed_explicitly_and_never_overwritten_by_a_grant(
    story: Story,
) -> None:
    tenant_id = await onboard(story.container, "Billund Kommune", "roller")
    admin, _ = await person(story, tenant_id, None, Role.CONSULTANCY_ADMIN)
    _, manager_id = await person(story, tenant_id, Role.CLIENT_ADMIN)

    again = await admin.post("/members", {"user_id": str(manager_id), "role": "auditor"}, expect=409)
    assert again["rule"] == "already_exists"
    assert await role_of(story, manager_id, tenant_id) is Role.CLIENT_ADMIN

    changed = await admin.put(f"/members/{manager_id}", {"role": "auditor"})
    assert changed["role"] == "auditor"
    assert await role_of(story, manager_id, tenant_id) is Role.AUDITOR


async def test_every_allowed_membership_change_is_an_event_in_the_tenants_audit_trail_covered_by_its_chain(
    story: Story,
) -> None:
    tenant_id = await onboard(story.container, "Vejen Kommune", "roller")
    admin, admin_id = await person(story, tenant_id, None, Role.CONSULTANCY_ADMIN)
    consultant_user = await register(story.container, Role.CONSULTANT)
    consultant_id = consultant_user.user_id
    manager_user = await register(story.container)
    manager_id = manager_user.user_id
    consultant = Person(story.client, token_for(story.client, consultant_id), base=admin.base)
    manager = Person(story.client, token_for(story.client, manager_id))

    granted = await admin.post("/members", {"user_id": str(consultant_id), "role": "consultant"})
    assert granted["outcome"] == "granted"
    offered = await consultant.post("/members", {"email": manager_user.email, "role": "client_admin"})
    assert offered["outcome"] == "invited"
    (invitation,) = await manager.get("/api/v1/me/invitations")
    accepted = await manager.post(f"/api/v1/me/invitations/{invitation['id']}/accept", expect=200)
    assert (accepted["tenant_id"], accepted["role"]) == (str(tenant_id), "client_admin")
    await consultant.put(f"/members/{manager_id}", {"role": "auditor"})
    await consultant.call("DELETE", f"/members/{manager_id}", expect=204)
    await admin.put(f"/members/{consultant_id}", {"role": "auditor"})

    rows = await membership_rows(admin)
    assert [(r["event_type"], r["actor_id"], r["actor_role"]) for r in rows] == [
        ("Opened", str(admin_id), "consultancy_admin"),
        ("MembershipGranted", str(admin_id), "consultancy_admin"),
        ("MemberInvited", str(consultant_id), "consultant"),
        ("InvitationAccepted", str(manager_id), "client_admin"),
        ("RoleChanged", str(consultant_id), "consultant"),
        ("MembershipRemoved", str(consultant_id), "consultant"),
        ("RoleChanged", str(admin_id), "consultancy_admin"),
    ]
    details = [r["details"] for r in rows[1:]]
    assert details == [
        {"user_id": str(consultant_id), "role": "consultant"},
        {"user_id": str(manager_id), "role": "client_admin"},
        {"user_id": str(manager_id), "role": "client_admin"},
        {"user_id": str(manager_id), "from_role": "client_admin", "to_role": "auditor"},
        {"user_id": str(manager_id), "role": "auditor"},
        {"user_id": str(consultant_id), "from_role": "consultant", "to_role": "auditor"},
    ]
    assert rows[3]["caused_by"] == [f"invitation:{invitation['id']}"]
    assert await role_of(story, manager_id, tenant_id) is None
    assert await role_of(story, consultant_id, tenant_id) is Role.AUDITOR

    verdict = await admin.get("/audit/verify")
    assert verdict["intact"], verdict
    assert verdict["verified_to"] >= rows[-1]["position"]


async def test_a_grant_answers_the_same_for_addresses_registered_elsewhere_and_unknown_ones_and_attaches_nobody(
    story: Story,
) -> None:
    tenant_id = await onboard(story.container, "Horsens Kommune", "roller")
    elsewhere_id = await onboard(story.container, "Skanderborg Kommune", "roller")
    consultant, _ = await person(story, tenant_id, Role.CONSULTANT, Role.CONSULTANT)
    _, known_id = await person(story, elsewhere_id, Role.CLIENT_ADMIN)
    known = await story.container.offloop(story.container.control.user, known_id)
    unknown_email = f"{uuid4().hex[:12]}@example.dk"

    def shape(answer: Any) -> tuple[int, str, dict[str, Any]]:
        body = dict(answer.json())
        body.pop("user_id", None)
        return answer.status_code, answer.headers["content-type"], body

    members = f"/api/v1/tenants/{tenant_id}/members"
    headers = consultant.headers
    by_email = [
        await story.client.post(members, json={"email": email, "role": "client_admin"}, headers=headers)
        for email in (known.email, unknown_email)
    ]
    assert shape(by_email[0]) == shape(by_email[1])
    assert by_email[0].json()["outcome"] == "invited"
    by_id = [
        await story.client.post(members, json={"user_id": str(user_id), "role": "auditor"}, headers=headers)
        for user_id in (known_id, uuid4())
    ]
    assert shape(by_id[0]) == shape(by_id[1])

    # Nobody is attached: the known person holds no role until they accept, and may not look in.
    assert await role_of(story, known_id, tenant_id) is None
    invitee = Person(story.client, token_for(story.client, known_id))
    await invitee.get(f"/api/v1/tenants/{tenant_id}", expect=403)
    (invitation,) = await invitee.get("/api/v1/me/invitations")
    assert (invitation["tenant_id"], invitation["role"]) == (str(tenant_id), "auditor")

    # Only the invitee takes it up.
    _, stranger_id = await person(story, elsewhere_id, Role.PARTICIPANT)
    stranger = Person(story.client, token_for(story.client, stranger_id))
    await stranger.post(f"/api/v1/me/invitations/{invitation['id']}/accept", expect=404)
    assert await role_of(story, known_id, tenant_id) is None

    await invitee.post(f"/api/v1/me/invitations/{invitation['id']}/accept", expect=200)
    assert await role_of(story, known_id, tenant_id) is Role.AUDITOR
    assert (await invitee.get(f"/api/v1/tenants/{tenant_id}"))["name"] == "Horsens Kommune"
    assert await invitee.get("/api/v1/me/invitations") == []
    assert await role_of(story, known_id, elsewhere_id) is Role.CLIENT_ADMIN

    # The unknown address's invitation waits for whoever registers it.
    newcomer_id = await story.container.offloop(
        story.container.control.register_user, unknown_email, "Ny", "x" * 12, None, system_provenance("Test")
    )
    assert newcomer_id == User.create_id(unknown_email)
    newcomer = Person(story.client, token_for(story.client, newcomer_id))
    assert [(i["tenant_id"], i["role"]) for i in await newcomer.get("/api/v1/me/invitations")] == [
        (str(tenant_id), "client_admin")
    ]
