"""Who may act in a client organisation: roles granted, changed, removed, offered and accepted.

Each change follows the rule of who may change whose role (`domain/members.py`, ADR 0017)
and is kept twice, in this order:

1. decided and recorded on the tenant's member roster, in the tenant's own store, so that it
   stands in the tenant's audit trail and hash chain with the actor and their role;
2. applied in the control plane, which is what a signed-in user's roles are read from.

No record, no change: a change the tenant cannot record is not applied. Two changes in one
tenant meet on the roster (optimistic concurrency), and the later one decides again on the
person's standing as it then is.

Granting a role to someone without one here is direct only for a consultancy admin and an
account that exists. Anyone else, or an address with no account yet, gets an invitation the
person accepts when signed in, and the answer reads the same whether or not the address is
registered anywhere.

Blocking: call it off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TypeVar
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError

from domain.errors import NotFound
from domain.members import MemberRoster, Standing, check_may_assign
from domain.provenance import Cause, Provenance
from domain.roles import Role
from services.application import TenantApplication
from services.controlplane import ControlPlane, PendingInvitation
from services.errors import ConcurrentModification
from services.tenancy import TenantStores

T = TypeVar("T")
# A roster change retries this often when another change of the same tenant's roster got there first.
ROSTER_ATTEMPTS = 5


class Outcome(str, Enum):
    """What a grant came to: the role is held now, or it waits for the person to accept it."""

    GRANTED = "granted"
    INVITED = "invited"


class Grant(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a grant."""

    tenant_id: UUID
    user_id: UUID
    role: Role
    outcome: Outcome


class Memberships:
    """Grants, changes and removals of roles in tenants, and invitations to them."""

    def __init__(self, control: ControlPlane, tenants: TenantStores[TenantApplication]) -> None:
        self.control = control
        self.tenants = tenants

    def grant(self, tenant_id: UUID, user_id: UUID, role: Role, provenance: Provenance) -> Grant:
        """Gives `role` here to a person who holds none: directly when a consultancy admin
        names an account, else as an invitation. Raises NotPermitted (the rule), AlreadyExists
        (a role is held here already: change it instead) or NotFound (no such tenant)."""
        self.control.tenant(tenant_id)

        def decide(roster: MemberRoster) -> Outcome:
            user = self.control.find_user(user_id)
            member = None if user is None else Standing.of(user, tenant_id)
            if member is not None and provenance.actor_role is Role.CONSULTANCY_ADMIN:
                roster.grant(member, role, provenance)
                return Outcome.GRANTED
            roster.invite(user_id, member, role, provenance)
            return Outcome.INVITED

        outcome = self._on_roster(tenant_id, decide, provenance)
        if outcome is Outcome.GRANTED:
            self.control.apply_membership(user_id, tenant_id, role, was=None, provenance=provenance)
        else:
            self.control.invite(user_id, tenant_id, role, provenance)
        return Grant(tenant_id=tenant_id, user_id=user_id, role=role, outcome=outcome)

    def change(self, tenant_id: UUID, user_id: UUID, role: Role, provenance: Provenance) -> None:
        """Changes the role a person holds here. Raises NotPermitted (the rule) or NotFound
        (no role held here)."""
        self.control.tenant(tenant_id)

        def decide(roster: MemberRoster) -> tuple[bool, Role | None]:
            member = self._standing(user_id, tenant_id)
            return roster.change(member, role, provenance), member.role

        changed, was = self._on_roster(tenant_id, decide, provenance)
        if changed:
            self.control.apply_membership(user_id, tenant_id, role, was=was, provenance=provenance)

    def remove(self, tenant_id: UUID, user_id: UUID, provenance: Provenance) -> None:
        """Takes away the role a person holds here. Raises NotPermitted (the rule) or NotFound
        (no role held here)."""
        self.control.tenant(tenant_id)

        def decide(roster: MemberRoster) -> Role:
            return roster.remove(self._standing(user_id, tenant_id), provenance)

        held = self._on_roster(tenant_id, decide, provenance)
        self.control.apply_membership(user_id, tenant_id, None, was=held, provenance=provenance)

    def pending(self, invitee_id: UUID) -> list[PendingInvitation]:
        """The invitations waiting for this person."""
        return self.control.pending_invitations(invitee_id)

    def accept(
        self, invitee_id: UUID, invitation: UUID, provenance_for: Callable[[UUID, Role], Provenance]
    ) -> PendingInvitation:
        """The signed-in invitee takes up an invitation of theirs. `provenance_for(tenant_id,
        role)` gives the provenance of their acceptance: they act on the invitation's authority.
        Raises NotFound for an invitation that is not theirs or no longer waits."""
        offer = self.control.pending_invitation(invitee_id, invitation)
        provenance = provenance_for(offer.tenant_id, offer.role).because_of(Cause("invitation", offer.id))

        def decide(roster: MemberRoster) -> Role | None:
            member = Standing.of(self.control.user(invitee_id), offer.tenant_id)
            roster.accept(member, provenance)
            return member.role

        was = self._on_roster(offer.tenant_id, decide, provenance)
        self.control.accept_invitation(invitee_id, offer.tenant_id, was=was, provenance=provenance)
        return offer

    def invite(self, tenant_id: UUID, user_id: UUID, role: Role, provenance: Provenance) -> None:
        """Offers `role` here to the person with this id, registered or not: always an
        invitation they accept, never a role given at once, whoever asks (docs/adr/0029).
        Raises NotPermitted (the rule) or AlreadyExists (a role is held here already)."""
        self.control.tenant(tenant_id)

        def decide(roster: MemberRoster) -> None:
            user = self.control.find_user(user_id)
            roster.invite(user_id, None if user is None else Standing.of(user, tenant_id), role, provenance)

        self._on_roster(tenant_id, decide, provenance)
        self.control.invite(user_id, tenant_id, role, provenance)

    def may_offer(self, tenant_id: UUID, user_id: UUID, provenance: Provenance) -> Role:
        """The role waiting for `user_id` here, when the actor may offer it to them (resending
        its link); raises NotPermitted (the rule) or NotFound (no invitation waits)."""
        role = self._waiting(tenant_id, user_id)
        check_may_assign(provenance, self._standing(user_id, tenant_id), role)
        return role

    def revoke_invitation(self, tenant_id: UUID, user_id: UUID, provenance: Provenance) -> Role:
        """Withdraws the invitation waiting for `user_id` here: recorded on the roster, then
        closed in the control plane (its links stop working). Raises NotPermitted (the rule)
        or NotFound (no invitation waits)."""
        role = self._waiting(tenant_id, user_id)

        def decide(roster: MemberRoster) -> None:
            roster.revoke_invitation(self._standing(user_id, tenant_id), role, provenance)

        self._on_roster(tenant_id, decide, provenance)
        return self.control.revoke_invitation(user_id, tenant_id, provenance)

    def accept_by_link(self, tenant_id: UUID, invitee_id: UUID, issue: int, provenance: Provenance) -> Role:
        """The invitee, who has opened link `issue` and proved who they are (signed in, or just
        registered), takes up the role: recorded on the roster, then given in the control plane
        only while that link still works."""

        def decide(roster: MemberRoster) -> Role | None:
            member = Standing.of(self.control.user(invitee_id), tenant_id)
            roster.accept(member, provenance)
            return member.role

        was = self._on_roster(tenant_id, decide, provenance)
        return self.control.accept_invitation(
            invitee_id, tenant_id, was=was, provenance=provenance, link_issue=issue
        )

    def _waiting(self, tenant_id: UUID, user_id: UUID) -> Role:
        for waiting in self.control.pending_invitations(user_id):
            if waiting.tenant_id == tenant_id:
                return waiting.role
        raise NotFound("no_such_invitation")

    def _standing(self, user_id: UUID, tenant_id: UUID) -> Standing:
        # Someone without an account holds no role here, like a registered stranger: the
        # answer does not tell the two apart.
        user = self.control.find_user(user_id)
        return Standing(user_id=user_id) if user is None else Standing.of(user, tenant_id)

    def _on_roster(self, tenant_id: UUID, decide: Callable[[MemberRoster], T], provenance: Provenance) -> T:
        for _ in range(ROSTER_ATTEMPTS):
            try:
                return self.tenants.call(
                    tenant_id, lambda app: app.record_membership_change(tenant_id, decide, provenance)
                )
            except IntegrityError:
                continue
        raise ConcurrentModification("members_kept_changing")
