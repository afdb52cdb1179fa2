"""The invitations waiting for one person, on the platform.

A role in a client organisation is offered, not imposed, to anyone but by a consultancy
admin (docs/adr/0017). The invitee is named by the id their account has, or will have once
registered (the id follows from the e-mail address), so an invitation to an address reads
the same whether or not it is registered, and waits for its owner either way.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvariantViolated, NotFound
from domain.provenance import Provenance
from domain.roles import Role
from domain.user import TENANT_ROLES

INVITATIONS_NAMESPACE = UUID("5e0a7c93-1b4d-5f28-a6c1-3d9e8b2f4a70")


def invitation_id(tenant_id: UUID, invitee_id: UUID) -> UUID:
    """The id of the invitation of one person to one tenant (one at a time)."""
    return uuid5(INVITATIONS_NAMESPACE, f"{tenant_id}:{invitee_id}")


class Invitations(Aggregate):
    """One person's pending invitations: the role offered in each tenant."""

    invitee_id: UUID
    pending: dict[str, Role]

    @staticmethod
    def id_for(invitee_id: UUID) -> UUID:
        return uuid5(INVITATIONS_NAMESPACE, str(invitee_id))

    @staticmethod
    def create_id(invitee_id: UUID, provenance: Provenance) -> UUID:
        return Invitations.id_for(invitee_id)

    @classmethod
    def open(cls, invitee_id: UUID, provenance: Provenance) -> Invitations:
        return cls(invitee_id=invitee_id, provenance=provenance)

    @event("Opened")
    def __init__(self, invitee_id: UUID, provenance: Provenance) -> None:
        self.invitee_id = invitee_id
        self.pending = {}

    def invite(self, tenant_id: UUID, role: Role, provenance: Provenance) -> None:
        """Offers `role` in `tenant_id`, replacing an offer still waiting there."""
        if role not in TENANT_ROLES:
            raise InvariantViolated("not_a_tenant_role", role=role.value)
        self._invited(tenant_id=tenant_id, role=role, provenance=provenance)

    @event("Invited")
    def _invited(self, tenant_id: UUID, role: Role, provenance: Provenance) -> None:
        self.pending[str(tenant_id)] = Role(role)

    def accept(self, tenant_id: UUID, provenance: Provenance) -> Role:
        """Takes up the offer waiting in `tenant_id`; returns the role offered."""
        role = self.pending.get(str(tenant_id))
        if role is None:
            raise NotFound("no_such_invitation")
        self._accepted(tenant_id=tenant_id, role=role, provenance=provenance)
        return role

    @event("Accepted")
    def _accepted(self, tenant_id: UUID, role: Role, provenance: Provenance) -> None:
        del self.pending[str(tenant_id)]

    def waiting(self) -> dict[UUID, Role]:
        """The offers waiting, by tenant."""
        return {UUID(tenant): role for tenant, role in self.pending.items()}
