"""Who may change whose role in a tenant, decided on the tenant's member roster."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from domain.errors import AlreadyExists, NotFound, NotPermitted
from domain.members import MemberRoster, Standing
from domain.roles import Role
from tests.unit.factories import ACTOR_ID, TENANT_ID, provenance

ADMIN = provenance(role=Role.CONSULTANCY_ADMIN)
CONSULTANT = provenance(role=Role.CONSULTANT)


def roster() -> MemberRoster:
    return MemberRoster.open(TENANT_ID, ADMIN)


def events(r: MemberRoster) -> list[str]:
    return [type(e).__qualname__.partition(".")[2] for e in r.collect_events()]


def test_a_consultancy_admin_changes_anyones_role() -> None:
    r = roster()
    fellow = Standing(uuid4(), Role.CONSULTANT, staff=True)
    assert r.change(fellow, Role.AUDITOR, ADMIN)
    assert r.remove(Standing(fellow.user_id, Role.AUDITOR, staff=True), ADMIN) is Role.AUDITOR
    assert events(r) == ["Opened", "RoleChanged", "MembershipRemoved"]


@pytest.mark.parametrize(
    "target",
    [
        Standing(uuid4(), Role.CONSULTANT, staff=True),  # a fellow consultant
        Standing(ACTOR_ID, Role.CONSULTANT, staff=True),  # themselves
        Standing(uuid4(), Role.AUDITOR, staff=True),  # staff holding a client role here
        Standing(uuid4(), None, staff=True),  # staff without a role here
    ],
)
def test_a_consultant_touches_no_role_of_the_consultancys_staff_nor_their_own(target: Standing) -> None:
    r = roster()
    for act in (
        lambda: r.grant(target, Role.CLIENT_ADMIN, CONSULTANT),
        lambda: r.change(target, Role.PARTICIPANT, CONSULTANT),
        lambda: r.remove(target, CONSULTANT),
        lambda: r.invite(target.user_id, target, Role.AUDITOR, CONSULTANT),
    ):
        with pytest.raises(NotPermitted):
            act()
    assert events(r) == ["Opened"]


def test_a_consultant_moves_the_clients_people_among_the_clients_roles_only() -> None:
    r = roster()
    manager = Standing(uuid4(), Role.CLIENT_ADMIN)
    assert r.change(manager, Role.AUDITOR, CONSULTANT)
    with pytest.raises(NotPermitted):
        r.change(replace(manager, role=Role.AUDITOR), Role.CONSULTANT, CONSULTANT)
    r.invite(uuid4(), None, Role.PARTICIPANT, CONSULTANT)
    with pytest.raises(NotPermitted):
        r.invite(uuid4(), None, Role.CONSULTANT, CONSULTANT)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.PARTICIPANT])
def test_auditors_and_participants_manage_no_roles(role: Role) -> None:
    with pytest.raises(NotPermitted):
        roster().invite(uuid4(), None, Role.PARTICIPANT, provenance(role=role))


def test_the_planning_group_manages_its_own_and_the_participants_roles_and_nobody_elses() -> None:
    manager = provenance(role=Role.CLIENT_ADMIN)
    r = roster()
    r.invite(uuid4(), None, Role.PARTICIPANT, manager)
    r.invite(uuid4(), None, Role.CLIENT_ADMIN, manager)
    colleague = Standing(uuid4(), Role.CLIENT_ADMIN)
    assert r.change(colleague, Role.PARTICIPANT, manager)
    assert r.remove(Standing(colleague.user_id, Role.PARTICIPANT), manager) is Role.PARTICIPANT
    for refused in (
        lambda: r.invite(uuid4(), None, Role.AUDITOR, manager),
        lambda: r.change(Standing(uuid4(), Role.AUDITOR), Role.PARTICIPANT, manager),
        lambda: r.change(Standing(uuid4(), Role.PARTICIPANT), Role.AUDITOR, manager),
        lambda: r.remove(Standing(uuid4(), Role.AUDITOR), manager),
        lambda: r.remove(Standing(uuid4(), Role.CONSULTANT, staff=True), manager),
        lambda: r.remove(Standing(ACTOR_ID, Role.CLIENT_ADMIN), manager),
    ):
        with pytest.raises(NotPermitted):
            refused()
    assert events(r) == ["Opened", "MemberInvited", "MemberInvited", "RoleChanged", "MembershipRemoved"]


def test_an_invitation_is_withdrawn_by_whoever_may_offer_its_role() -> None:
    r = roster()
    invitee = uuid4()
    r.invite(invitee, None, Role.AUDITOR, CONSULTANT)
    with pytest.raises(NotPermitted):
        r.revoke_invitation(Standing(invitee), Role.AUDITOR, provenance(role=Role.CLIENT_ADMIN))
    r.revoke_invitation(Standing(invitee), Role.AUDITOR, CONSULTANT)
    with pytest.raises(NotFound):
        r.accept(Standing(invitee), replace(CONSULTANT, actor_id=invitee, actor_role=Role.AUDITOR))
    assert events(r) == ["Opened", "MemberInvited", "InvitationRevoked"]


def test_a_grant_does_not_overwrite_a_role_held_and_a_change_needs_one() -> None:
    r = roster()
    with pytest.raises(AlreadyExists):
        r.grant(Standing(uuid4(), Role.PARTICIPANT), Role.AUDITOR, ADMIN)
    with pytest.raises(NotFound):
        r.change(Standing(uuid4()), Role.AUDITOR, ADMIN)
    with pytest.raises(NotFound):
        r.remove(Standing(uuid4()), ADMIN)


def test_only_the_invited_person_accepts_the_role_offered_them() -> None:
    r = roster()
    invitee = uuid4()
    r.invite(invitee, None, Role.AUDITOR, CONSULTANT)
    someone_else = replace(CONSULTANT, actor_id=uuid4(), actor_role=Role.AUDITOR)
    with pytest.raises(NotPermitted):
        r.accept(Standing(invitee), someone_else)
    as_invitee = replace(CONSULTANT, actor_id=invitee, actor_role=Role.AUDITOR)
    assert r.accept(Standing(invitee), as_invitee) is Role.AUDITOR
    with pytest.raises(NotFound):
        r.accept(Standing(invitee), as_invitee)
    assert events(r) == ["Opened", "MemberInvited", "InvitationAccepted"]
