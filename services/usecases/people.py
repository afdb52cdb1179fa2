"""People: invitations by e-mail with a one-time link, the members of an organisation,
deactivated accounts, and forgotten passwords (docs/adr/0029).

Both adapters build these commands and call the functions here with the provenance they built
(for what someone does without being signed in — opening an invitation's link, asking for a
new password — `link_provenance` and `self_service_provenance` build it from what the link or
address names). Every step is an event in the control plane, and a change of role is recorded
in the tenant first (`services/memberships.py`, ADR 0017).

Privacy: an invitation by e-mail answers the same whether or not the address has an account,
and never gives a role before the person accepts it; a request for a new password answers the
same whether or not the address has an account. Links are tokens nobody stores
(`services/auth/links.py`); the e-mail that carries them is written from the events.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID, uuid4

import msgspec

from domain.errors import InvariantViolated, NotFound, NotPermitted
from domain.invitation import invitation_id
from domain.provenance import Cause, Provenance
from domain.roles import Role
from domain.user import User, normalise_email
from services.auth.links import read_invitation_token, read_reset_token
from services.bootstrap import Container
from services.controlplane import OfferedByLink, Person, WaitingInvitation, system_provenance
from services.memberships import Memberships
from services.text import EMAIL_PATTERN, name_rule, text_rule
from services.usecases.account import Language

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=EMAIL_PATTERN)]
Password = Annotated[str, text_rule(min_length=12, max_length=1024)]
DisplayName = Annotated[str, name_rule(min_length=1, max_length=200)]
# A link's token as `services.auth.links` writes it: URL-safe base64 without padding.
Token = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="The token of a one-time link."
    ),
]


class InviteByEmail(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Offer `role` in the organisation to whoever reads `email`."""

    tenant_id: UUID
    email: Email
    role: Role


class ResendInvitation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    tenant_id: UUID
    invitee_id: UUID


class RevokeInvitation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    tenant_id: UUID
    invitee_id: UUID


class AcceptInvitationByLink(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Take up an invitation through its link: with the password of the account the address
    has, or, without one, a name and a new password for the account it then gets."""

    token: Token
    password: Password
    display_name: DisplayName | None = None
    # The language of the e-mails the invitee receives from now on (docs/adr/0033); none: as it is.
    language: Language | None = None


class DeactivateAccount(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user_id: UUID


class RequestPasswordReset(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Email


class ResetPassword(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    token: Token
    password: Password


class Invited(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The answer to an invitation: the same for every address."""

    tenant_id: UUID
    invitation_id: UUID
    invitee_id: UUID
    role: Role
    expires_at: datetime


class Members(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An organisation's people: who holds which role, and who is invited to which."""

    members: list[Person]
    invitations: list[WaitingInvitation]


def _memberships(container: Container) -> Memberships:
    return Memberships(container.control, container.tenants)


def _expiry(container: Container, provenance: Provenance) -> datetime:
    return provenance.recorded_at + timedelta(hours=container.settings.invitation_link_hours)


async def invite_by_email(container: Container, c: InviteByEmail, provenance: Provenance) -> Invited:
    """Offers a role to an address and issues its link. The person holds the role only once
    they accept it, whether or not the address has an account anywhere; the answer tells
    nothing of that (the invitee's id follows from the address, nothing is looked up)."""
    email = normalise_email(c.email)
    invitee_id = User.create_id(email)

    def invite() -> datetime:
        # The same command again (a retried form or request) records nothing new.
        if container.control.link_issued_by(invitee_id, c.tenant_id, provenance.command_id):
            return _expiry(container, provenance)
        _memberships(container).invite(c.tenant_id, invitee_id, c.role, provenance)
        expires_at = _expiry(container, provenance)
        container.control.send_invitation_link(invitee_id, c.tenant_id, email, expires_at, provenance)
        return expires_at

    expires_at = await container.offloop(invite)
    container.projections.notify(c.tenant_id)
    return Invited(
        tenant_id=c.tenant_id,
        invitation_id=invitation_id(c.tenant_id, invitee_id),
        invitee_id=invitee_id,
        role=c.role,
        expires_at=expires_at,
    )


async def resend_invitation(container: Container, c: ResendInvitation, provenance: Provenance) -> Invited:
    """A new link for an invitation waiting here; the earlier links stop working."""

    def resend() -> Invited:
        role = _memberships(container).may_offer(c.tenant_id, c.invitee_id, provenance)
        waiting = {w.invitee_id: w for w in container.control.invitations_to(c.tenant_id)}
        found = waiting.get(c.invitee_id)
        account = container.control.find_user(c.invitee_id)
        email = found.email if found and found.email else account.email if account else None
        if email is None:
            raise NotFound("no_such_invitation")
        expires_at = _expiry(container, provenance)
        container.control.send_invitation_link(c.invitee_id, c.tenant_id, email, expires_at, provenance)
        return Invited(
            tenant_id=c.tenant_id,
            invitation_id=invitation_id(c.tenant_id, c.invitee_id),
            invitee_id=c.invitee_id,
            role=role,
            expires_at=expires_at,
        )

    return await container.offloop(resend)


async def revoke_invitation(container: Container, c: RevokeInvitation, provenance: Provenance) -> Role:
    """Withdraws an invitation waiting here: its links stop working. The role it offered."""
    role: Role = await container.offloop(
        _memberships(container).revoke_invitation, c.tenant_id, c.invitee_id, provenance
    )
    container.projections.notify(c.tenant_id)
    return role


async def members_of(container: Container, tenant_id: UUID) -> Members:
    """Who holds a role in the organisation, and the invitations waiting for an answer."""

    def read() -> Members:
        container.control.tenant(tenant_id)
        return Members(
            members=container.control.people(tenant_id),
            invitations=container.control.invitations_to(tenant_id),
        )

    return await container.offloop(read)


async def everyone(container: Container) -> list[Person]:
    """Every account on the platform (for the consultancy admin)."""
    return await container.offloop(container.control.people)


async def open_invitation(container: Container, token: str) -> OfferedByLink:
    """What an invitation's link offers. Raises NotFound for a link that does not work (forged,
    used, withdrawn, replaced) and InvariantViolated (`invitation_link_expired`) for one that
    has expired."""
    link = read_invitation_token(container.link_key, token)
    if link is None:
        raise NotFound("invitation_link_invalid")
    return await container.offloop(
        container.control.offered_by_link, link.tenant_id, link.invitee_id, link.issue, container.clock()
    )


def link_provenance(
    offer: OfferedByLink, command_name: str, correlation_id: str, now: datetime
) -> Provenance:
    """The invitee acting through their link: on the invitation's authority (the role it
    offers, in its organisation), caused by the invitation."""
    return Provenance(
        actor_id=offer.invitee_id,
        actor_role=offer.role,
        tenant_id=offer.tenant_id,
        occurred_at=now,
        recorded_at=now,
        command_id=uuid4(),
        command_name=command_name,
        correlation_id=correlation_id,
    ).because_of(Cause("invitation", offer.id))


async def refuse_expired_invitation(container: Container, token: str, correlation_id: str) -> None:
    """Records that an expired invitation link was used to accept (the use is refused)."""
    link = read_invitation_token(container.link_key, token)
    if link is None:
        return
    provenance = system_provenance(
        "AcceptInvitationByLink",
        now=container.clock(),
        actor_id=link.invitee_id,
        correlation_id=correlation_id,
    )
    await container.offloop(
        container.control.refuse_expired_link, link.tenant_id, link.invitee_id, link.issue, provenance
    )


async def accept_invitation_by_link(
    container: Container, c: AcceptInvitationByLink, offer: OfferedByLink, provenance: Provenance
) -> Role:
    """Takes up the invitation `offer` (as `open_invitation` read it from `c.token`). With an
    account, the caller has checked its password first (`services.requests.sign_in`); without
    one, the account is registered here with the name and password given."""
    link = read_invitation_token(container.link_key, c.token)
    if link is None:
        raise NotFound("invitation_link_invalid")

    def accept() -> Role:
        if not offer.has_account:
            if c.display_name is None or not c.display_name.strip():
                raise InvariantViolated("user_needs_display_name")
            container.control.register_user(offer.email, c.display_name, c.password, None, provenance)
        role = _memberships(container).accept_by_link(
            offer.tenant_id, offer.invitee_id, link.issue, provenance
        )
        if c.language is not None:
            container.control.choose_language(offer.invitee_id, c.language, provenance)
        return role

    role: Role = await container.offloop(accept)
    container.projections.notify(offer.tenant_id)
    return role


async def deactivate_account(container: Container, c: DeactivateAccount, provenance: Provenance) -> None:
    """Stops an account from signing in; every token it holds stops working at its next
    request (each request reads the account). Its history and roles stay on record."""
    if c.user_id == provenance.actor_id:
        raise NotPermitted("own_account_deactivated")
    await container.offloop(container.control.deactivate_user, c.user_id, provenance)


def self_service_provenance(email: str, command_name: str, correlation_id: str, now: datetime) -> Provenance:
    """Someone acting on the account their address names, without signing in (asking for a new
    password, setting it through the link): the platform acts for them, as for a rehash."""
    return system_provenance(
        command_name, now=now, actor_id=User.create_id(email), correlation_id=correlation_id
    )


async def request_password_reset(container: Container, c: RequestPasswordReset, correlation_id: str) -> None:
    """Issues a forgotten-password link for the active account of the address, if there is
    one; the caller answers the same either way."""
    now = container.clock()
    provenance = self_service_provenance(c.email, "RequestPasswordReset", correlation_id, now)
    expires_at = now + timedelta(minutes=container.settings.password_reset_link_minutes)
    await container.offloop(container.control.request_password_reset, c.email, expires_at, provenance)


async def reset_password(container: Container, c: ResetPassword, correlation_id: str) -> UUID:
    """Sets a new password through a forgotten-password link, which is then used up; the
    account's id. Raises NotFound for a link that does not work, InvariantViolated for an
    expired one."""
    link = read_reset_token(container.link_key, c.token)
    if link is None:
        raise NotFound("reset_link_invalid")
    provenance = system_provenance(
        "ResetPassword", now=container.clock(), actor_id=link.user_id, correlation_id=correlation_id
    )
    await container.offloop(
        container.control.reset_password, link.user_id, link.issue, c.password, provenance
    )
    return link.user_id
