"""Who holds which role in one client organisation, and every change to it.

The control plane keeps each user's roles (they decide what a signed-in user may do). Each
change is first decided and recorded here, in the tenant's own store, so that it stands in
the tenant's audit trail and hash chain: a membership granted, a role changed, a membership
removed, a person invited, an invitation accepted. The actor and the role they acted under
are in each event's provenance.

Who may change whose role (docs/adr/0017):

- a consultancy admin: any role within a tenant, for anyone;
- a consultant assigned to the tenant: client admins, auditors and participants — grants
  (by invitation), changes and removes them; never a consultant's role, nor the role of any
  of the consultancy's own staff, nor their own;
- a client admin (the planning group, docs/adr/0029): client admins and participants of their
  own organisation — invites, changes and removes them, among those two roles; never an
  auditor's role, a consultant's, the consultancy staff's, nor their own;
- everyone else: nobody's.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyExists, InvariantViolated, NotFound, NotPermitted
from domain.provenance import Provenance
from domain.roles import Role
from domain.user import PLATFORM_ROLES, TENANT_ROLES, User

MEMBER_ROSTER_NAMESPACE = UUID("2c8e4b71-9f3d-5a06-b1e4-7d5a0c3f9e28")
# The roles a consultant may grant, change and take away: the client organisation's own people.
CLIENT_ROLES = frozenset({Role.CLIENT_ADMIN, Role.AUDITOR, Role.PARTICIPANT})
# The roles a client admin may offer, change and take away: the planning group and participants.
PLANNING_GROUP_ROLES = frozenset({Role.CLIENT_ADMIN, Role.PARTICIPANT})


@dataclass(frozen=True)
class Standing:
    """What the control plane knows of a person whose role is about to change: their role in
    this tenant (None: no role here), whether they are the consultancy's own staff, whether
    their account is active. Someone without an account stands nowhere."""

    user_id: UUID
    role: Role | None = None
    staff: bool = False
    active: bool = True

    @classmethod
    def of(cls, user: User, tenant_id: UUID) -> Standing:
        return cls(
            user_id=user.id,
            role=user.memberships.get(tenant_id),
            staff=user.platform_role in PLATFORM_ROLES,
            active=user.active,
        )


def _checked_role(role: Role) -> Role:
    if role not in TENANT_ROLES:
        raise InvariantViolated("not_a_tenant_role", role=role.value)
    return role


def check_may_assign(provenance: Provenance, member: Standing, role: Role | None) -> None:
    """Raises NotPermitted unless the actor may move `member` from the role they hold here to
    `role` (None: no role)."""
    actor = provenance.actor_role
    held = member.role.value if member.role else "none"
    if actor is Role.CONSULTANCY_ADMIN:
        return
    if actor not in (Role.CONSULTANT, Role.CLIENT_ADMIN):
        raise NotPermitted("role_does_not_manage_members", state=held, actor=actor.value)
    if member.user_id == provenance.actor_id:
        raise NotPermitted("own_role", state=held)
    if member.staff or member.role is Role.CONSULTANT:
        raise NotPermitted("staff_roles_by_admins", state=held)
    if role is not None and role not in CLIENT_ROLES:
        raise NotPermitted("role_by_admins", state=held, role=role.value)
    if actor is Role.CLIENT_ADMIN:
        for touched in (member.role, role):
            if touched is not None and touched not in PLANNING_GROUP_ROLES:
                raise NotPermitted("role_by_consultancy", state=held, role=touched.value)


class MemberRoster(Aggregate):
    """One tenant's membership changes, and the invitations waiting for an answer."""

    tenant_id: UUID
    invitations: dict[str, Role]

    @staticmethod
    def id_for(tenant_id: UUID) -> UUID:
        return uuid5(MEMBER_ROSTER_NAMESPACE, str(tenant_id))

    @staticmethod
    def create_id(tenant_id: UUID, provenance: Provenance) -> UUID:
        return MemberRoster.id_for(tenant_id)

    @classmethod
    def open(cls, tenant_id: UUID, provenance: Provenance) -> MemberRoster:
        if provenance.tenant_id != tenant_id:
            raise InvariantViolated("roster_from_other_tenant")
        return cls(tenant_id=tenant_id, provenance=provenance)

    @event("Opened")
    def __init__(self, tenant_id: UUID, provenance: Provenance) -> None:
        self.tenant_id = tenant_id
        self.invitations = {}

    def grant(self, member: Standing, role: Role, provenance: Provenance) -> None:
        """Gives a role to someone holding none here (an existing role is changed, not granted)."""
        self._check_tenant(provenance)
        check_may_assign(provenance, member, _checked_role(role))
        if member.role is not None:
            raise AlreadyExists(
                "role_held_change_it",
                state=member.role.value,
                user=str(member.user_id),
                role=member.role.value,
            )
        if not member.active:
            raise InvariantViolated("user_deactivated", state="deactivated", user=str(member.user_id))
        self._membership_granted(user_id=member.user_id, role=role, provenance=provenance)

    @event("MembershipGranted")
    def _membership_granted(self, user_id: UUID, role: Role, provenance: Provenance) -> None:
        self.invitations.pop(str(user_id), None)

    def change(self, member: Standing, role: Role, provenance: Provenance) -> bool:
        """Changes the role someone holds here; False when they hold it already."""
        self._check_tenant(provenance)
        check_may_assign(provenance, member, _checked_role(role))
        held = self._held(member)
        if held is role:
            return False
        self._role_changed(user_id=member.user_id, from_role=held, to_role=role, provenance=provenance)
        return True

    @event("RoleChanged")
    def _role_changed(self, user_id: UUID, from_role: Role, to_role: Role, provenance: Provenance) -> None:
        pass

    def remove(self, member: Standing, provenance: Provenance) -> Role:
        """Takes away the role someone holds here; returns it."""
        self._check_tenant(provenance)
        check_may_assign(provenance, member, None)
        held = self._held(member)
        self._membership_removed(user_id=member.user_id, role=held, provenance=provenance)
        return held

    @event("MembershipRemoved")
    def _membership_removed(self, user_id: UUID, role: Role, provenance: Provenance) -> None:
        pass

    def invite(self, user_id: UUID, member: Standing | None, role: Role, provenance: Provenance) -> None:
        """Offers a role to a person by the id their account has, or will have once registered.
        `member` is their standing when they have an account. The role is theirs once they
        accept; a second invitation replaces the first."""
        self._check_tenant(provenance)
        check_may_assign(provenance, member or Standing(user_id=user_id), _checked_role(role))
        if member is not None and member.role is not None:
            raise AlreadyExists(
                "role_held_change_it", state=member.role.value, user=str(user_id), role=member.role.value
            )
        self._member_invited(user_id=user_id, role=role, provenance=provenance)

    @event("MemberInvited")
    def _member_invited(self, user_id: UUID, role: Role, provenance: Provenance) -> None:
        self.invitations[str(user_id)] = Role(role)

    def revoke_invitation(self, member: Standing, role: Role, provenance: Provenance) -> None:
        """Withdraws the invitation to `role` waiting for a person: by whoever may offer that
        role to them. Withdrawing one that no longer waits here changes nothing."""
        self._check_tenant(provenance)
        check_may_assign(provenance, member, _checked_role(role))
        self._invitation_revoked(user_id=member.user_id, role=role, provenance=provenance)

    @event("InvitationRevoked")
    def _invitation_revoked(self, user_id: UUID, role: Role, provenance: Provenance) -> None:
        self.invitations.pop(str(user_id), None)

    def accept(self, member: Standing, provenance: Provenance) -> Role:
        """The invited person takes up the role they were offered (they are the actor)."""
        self._check_tenant(provenance)
        if provenance.actor_id != member.user_id:
            raise NotPermitted("invitation_for_another")
        role = self.invitations.get(str(member.user_id))
        if role is None:
            raise NotFound("no_invitation_for", user=str(member.user_id))
        if member.role is not None:
            raise AlreadyExists("role_held", user=str(member.user_id), role=member.role.value)
        if not member.active:
            raise InvariantViolated("user_deactivated", state="deactivated", user=str(member.user_id))
        self._invitation_accepted(user_id=member.user_id, role=role, provenance=provenance)
        return role

    @event("InvitationAccepted")
    def _invitation_accepted(self, user_id: UUID, role: Role, provenance: Provenance) -> None:
        self.invitations.pop(str(user_id), None)

    def _held(self, member: Standing) -> Role:
        if member.role is None:
            raise NotFound("no_role_held", user=str(member.user_id))
        return member.role

    def _check_tenant(self, provenance: Provenance) -> None:
        if provenance.tenant_id != self.tenant_id:
            raise InvariantViolated("membership_from_other_tenant")
