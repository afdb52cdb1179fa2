"""The invitations waiting for one person, on the platform.

A role in a client organisation is offered, not imposed, to anyone but by a consultancy
admin (docs/adr/0017). The invitee is named by the id their account has, or will have once
registered (the id follows from the e-mail address), so an invitation to an address reads
the same whether or not it is registered, and waits for its owner either way.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvariantViolated, NotFound
from domain.provenance import Provenance
from domain.roles import Role
from domain.user import TENANT_ROLES

INVITATIONS_NAMESPACE = UUID("5e0a7c93-1b4d-5f28-a6c1-3d9e8b2f4a70")


class Link(NamedTuple):
    """The one link of an invitation that works now: its issue number, until when, to whom, and
    the command that issued it (the same command again issues no second link)."""

    issue: int
    expires_at: datetime
    email: str
    command_id: UUID


def invitation_id(tenant_id: UUID, invitee_id: UUID) -> UUID:
    """The id of the invitation of one person to one tenant (one at a time)."""
    return uuid5(INVITATIONS_NAMESPACE, f"{tenant_id}:{invitee_id}")


class Invitations(Aggregate):
    """One person's pending invitations: the role offered in each tenant."""

    invitee_id: UUID
    pending: dict[str, Role]
    # By tenant: the link that works now, and how many links were ever issued (so that a link
    # of an earlier issue never works again, even after a revocation and a new invitation).
    links: dict[str, Link]
    issued: dict[str, int]
    # Version 2 added the links; a snapshot of version 1 had none.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, object]) -> None:
        state["links"] = {}
        state["issued"] = {}

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
        self.links = {}
        self.issued = {}

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
        self.links = {t: link for t, link in self.links.items() if t != str(tenant_id)}

    def send_link(
        self, tenant_id: UUID, tenant_name: str, email: str, expires_at: datetime, provenance: Provenance
    ) -> int:
        """Issues a new link to the offer waiting in `tenant_id`, sent to `email`; every earlier
        link stops working. The first is `LinkIssued`, each later one `LinkResent`. Returns the
        new link's issue number. The same command again (a retried request) issues none."""
        role = self._waiting(tenant_id)
        current = self.links.get(str(tenant_id))
        if current is not None and current.command_id == provenance.command_id:
            return current.issue
        if expires_at <= provenance.recorded_at:
            raise InvariantViolated("link_expires_in_the_past")
        issue = self.issued.get(str(tenant_id), 0) + 1
        resent = str(tenant_id) in self.links
        send = self._link_resent if resent else self._link_issued
        send(
            tenant_id=tenant_id,
            tenant_name=tenant_name,
            invitee_id=self.invitee_id,
            role=role,
            email=email,
            issue=issue,
            expires_at=expires_at,
            provenance=provenance,
        )
        return issue

    @event("LinkIssued")
    def _link_issued(
        self,
        tenant_id: UUID,
        tenant_name: str,
        invitee_id: UUID,
        role: Role,
        email: str,
        issue: int,
        expires_at: datetime,
        provenance: Provenance,
    ) -> None:
        self._new_link(tenant_id, Link(issue, expires_at, email, provenance.command_id))

    @event("LinkResent")
    def _link_resent(
        self,
        tenant_id: UUID,
        tenant_name: str,
        invitee_id: UUID,
        role: Role,
        email: str,
        issue: int,
        expires_at: datetime,
        provenance: Provenance,
    ) -> None:
        self._new_link(tenant_id, Link(issue, expires_at, email, provenance.command_id))

    def _new_link(self, tenant_id: UUID, link: Link) -> None:
        self.links = {**self.links, str(tenant_id): link}
        self.issued = {**self.issued, str(tenant_id): link.issue}

    def link(self, tenant_id: UUID) -> Link | None:
        """The link of the offer in `tenant_id` that works now (expired or not), if any."""
        return self.links.get(str(tenant_id)) if str(tenant_id) in self.pending else None

    def check_link(self, tenant_id: UUID, issue: int, now: datetime) -> Role:
        """The role offered, when link `issue` of `tenant_id` is the one that works now and has
        not expired; raises NotFound for any other (used, revoked, replaced), and
        InvariantViolated when it has expired."""
        link = self.link(tenant_id)
        if link is None or link.issue != issue:
            raise NotFound("invitation_link_invalid")
        if now >= link.expires_at:
            raise InvariantViolated("invitation_link_expired", state="expired")
        return self.pending[str(tenant_id)]

    def refuse_expired_use(self, tenant_id: UUID, issue: int, provenance: Provenance) -> None:
        """Records that someone opened link `issue` of `tenant_id` after it expired."""
        self._expired_use_refused(tenant_id=tenant_id, issue=issue, provenance=provenance)

    @event("ExpiredUseRefused")
    def _expired_use_refused(self, tenant_id: UUID, issue: int, provenance: Provenance) -> None:
        pass

    def revoke(self, tenant_id: UUID, provenance: Provenance) -> Role:
        """Withdraws the offer waiting in `tenant_id`; its links stop working. Returns the role."""
        role = self._waiting(tenant_id)
        self._revoked(tenant_id=tenant_id, role=role, provenance=provenance)
        return role

    @event("Revoked")
    def _revoked(self, tenant_id: UUID, role: Role, provenance: Provenance) -> None:
        del self.pending[str(tenant_id)]
        self.links = {t: link for t, link in self.links.items() if t != str(tenant_id)}

    def _waiting(self, tenant_id: UUID) -> Role:
        role = self.pending.get(str(tenant_id))
        if role is None:
            raise NotFound("no_such_invitation")
        return role

    def waiting(self) -> dict[UUID, Role]:
        """The offers waiting, by tenant."""
        return {UUID(tenant): role for tenant, role in self.pending.items()}
