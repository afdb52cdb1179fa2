"""People: invitations by e-mail with a one-time link, an organisation's members, deactivated
accounts and forgotten passwords (docs/adr/0029). The use cases are `services.usecases.people`.

What someone does through a link (taking up an invitation, setting a new password) and asking
for a new password need no token. Opening and taking up an invitation live under
`/api/v1/auth/`, whose answers are never kept by the idempotency keys (taking one up answers
with a token; its link is used up, so a retry records nothing); the forgotten password's routes
keep their answers like any command. A link's token travels in the body, never in a URL that
logs would keep.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.types import ControllerRouterHandler

from domain.errors import InvariantViolated
from domain.roles import Role
from services.access import PLAN
from services.auth.guards import platform_guard
from services.auth.principal import Principal
from services.bootstrap import Container
from services.controlplane import PLATFORM_ID, OfferedByLink, Person
from services.requests.problems import CredentialsRefused, problem_responses
from services.requests.provenance import build_provenance, correlation_id_of
from services.requests.sign_in import authenticate, password_reset_attempt, signed_in
from services.usecases import people
from services.usecases.people import (
    AcceptInvitationByLink,
    DeactivateAccount,
    InviteByEmail,
    Invited,
    Members,
    RequestPasswordReset,
    ResendInvitation,
    ResetPassword,
    RevokeInvitation,
    Token,
)

_T = "/api/v1/tenants/{tenant_id:uuid}"
_INVITATION = f"{_T}/invitations/{{invitee_id:uuid}}"
_NO_CONTENT = ResponseSpec(None, description="Done; no content.")


class Invitation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An invitation to a role in this organisation, for whoever reads the address."""

    email: people.Email
    role: Role


class LinkToken(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The token of an invitation's link (the last part of `/invitations/{token}`)."""

    token: Token


class AcceptedByLink(msgspec.Struct, frozen=True, kw_only=True):
    """The role taken up, and a token for the invitee, now signed in."""

    tenant_id: UUID
    user_id: UUID
    role: Role
    token: str
    token_type: str


class ResetRequested(msgspec.Struct, frozen=True, kw_only=True):
    """The same answer for every address."""

    detail: str


@get(f"{_T}/people", opt=PLAN.opt(), responses=problem_responses(401, 403, 404), tags=["people"])
async def list_people(tenant_id: FromPath[UUID], container: NamedDependency[Container]) -> Members:
    """Who holds which role in this organisation, and the invitations waiting for an answer
    (with the address each link went to and until when it works)."""
    return await people.members_of(container, tenant_id)


@post(
    f"{_T}/invitations",
    opt=PLAN.opt(),
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    tags=["people"],
)
async def invite(
    tenant_id: FromPath[UUID],
    data: JSONBody[Invitation],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> Invited:
    """Invites an address to a role here and sends it a one-time link that expires.

    Always an invitation, whoever asks and whether or not the address has an account: the
    person holds the role only once they accept it through the link, and the answer is the same
    for every address. Who may offer which role is the rule of docs/adr/0017 and 0029: 403
    (`not_permitted`) when it forbids it, 409 when the person holds a role here already.
    """
    provenance = build_provenance(request, principal, tenant_id, "InviteByEmail")
    command = InviteByEmail(tenant_id=tenant_id, email=data.email, role=data.role)
    return await people.invite_by_email(container, command, provenance)


@post(
    f"{_INVITATION}/resend",
    opt=PLAN.opt(),
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    tags=["people"],
)
async def resend(
    tenant_id: FromPath[UUID],
    invitee_id: FromPath[UUID],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> Invited:
    """Sends a new link for an invitation waiting here; the earlier links stop working."""
    provenance = build_provenance(request, principal, tenant_id, "ResendInvitation")
    command = ResendInvitation(tenant_id=tenant_id, invitee_id=invitee_id)
    return await people.resend_invitation(container, command, provenance)


@delete(
    _INVITATION,
    opt=PLAN.opt(),
    responses={**problem_responses(400, 401, 403, 404, 409, 503), 204: _NO_CONTENT},
    tags=["people"],
)
async def revoke(
    tenant_id: FromPath[UUID],
    invitee_id: FromPath[UUID],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> None:
    """Withdraws an invitation waiting here; its links stop working."""
    provenance = build_provenance(request, principal, tenant_id, "RevokeInvitation")
    await people.revoke_invitation(
        container, RevokeInvitation(tenant_id=tenant_id, invitee_id=invitee_id), provenance
    )


@get("/api/v1/users", guards=[platform_guard], responses=problem_responses(401, 403), tags=["people"])
async def list_users(container: NamedDependency[Container]) -> list[Person]:
    """Every account on the platform, with its roles and whether it can sign in."""
    return await people.everyone(container)


@post(
    "/api/v1/users/{user_id:uuid}/deactivate",
    guards=[platform_guard],
    status_code=204,
    responses={**problem_responses(400, 401, 403, 404, 503), 204: _NO_CONTENT},
    tags=["people"],
)
async def deactivate(
    user_id: FromPath[UUID],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> None:
    """Deactivates an account: it cannot sign in, and every token it holds stops working at
    once. Its history and its roles stay on record. Nobody deactivates their own account."""
    provenance = build_provenance(request, principal, PLATFORM_ID, "DeactivateAccount")
    await people.deactivate_account(container, DeactivateAccount(user_id=user_id), provenance)


@post(
    "/api/v1/auth/invitation",
    exclude_from_auth=True,
    status_code=200,
    responses=problem_responses(400, 404, 409, 503),
    tags=["auth"],
)
async def open_invitation(data: JSONBody[LinkToken], container: NamedDependency[Container]) -> OfferedByLink:
    """What an invitation's link offers: the organisation, the role, the address it went to,
    until when it works, and whether the address has an account (then its password accepts;
    otherwise a name and a new password make the account). 404 for a link that does not work
    (used, withdrawn, replaced by a newer one), 409 (`invitation_link_expired`) for an expired one."""
    return await people.open_invitation(container, data.token)


@post(
    "/api/v1/auth/invitation/accept",
    exclude_from_auth=True,
    status_code=200,
    responses=problem_responses(400, 401, 404, 409, 422, 429, 503),
    tags=["auth"],
)
async def accept_by_link(
    data: JSONBody[AcceptInvitationByLink],
    request: Request[Any, Any, Any],
    container: NamedDependency[Container],
) -> Response[AcceptedByLink]:
    """Takes up an invitation through its link and signs the invitee in.

    With an account, `password` is its password (limited like signing in); without one,
    `display_name` and `password` make the account. The link is then used up. 404 for a link
    that does not work, 409 (`invitation_link_expired`) for an expired one (the use is recorded).
    """
    correlation_id = correlation_id_of(request.scope)
    try:
        offer = await people.open_invitation(container, data.token)
    except InvariantViolated:
        await people.refuse_expired_invitation(container, data.token, correlation_id)
        raise
    if offer.has_account and await authenticate(request, container, offer.email, data.password) is None:
        raise CredentialsRefused("Wrong password for the invited address.")
    provenance = people.link_provenance(offer, "AcceptInvitationByLink", correlation_id, container.clock())
    role = await people.accept_invitation_by_link(container, data, offer, provenance)
    ttl = timedelta(minutes=container.settings.jwt_ttl_minutes)
    token = request.app.state.jwt_auth.create_token(identifier=str(offer.invitee_id), token_expiration=ttl)
    body = AcceptedByLink(
        tenant_id=offer.tenant_id,
        user_id=offer.invitee_id,
        role=role,
        token=token,
        token_type="Bearer",  # noqa: S106 - the scheme's name
    )
    return signed_in(body, token, ttl, secure=container.settings.cookie_secure)


@post(
    "/api/v1/password-resets",
    exclude_from_auth=True,
    status_code=202,
    responses=problem_responses(400, 422, 429, 503),
    tags=["auth"],
)
async def forgot_password(
    data: JSONBody[RequestPasswordReset],
    request: Request[Any, Any, Any],
    container: NamedDependency[Container],
) -> ResetRequested:
    """Sends a one-time link to set a new password to the address, when it has an active
    account. The answer is the same for every address; requests are limited like signing in."""
    await password_reset_attempt(request, container, data.email)
    await people.request_password_reset(container, data, correlation_id_of(request.scope))
    return ResetRequested(detail="If the address has an account, a link to set a new password is on its way.")


@post(
    "/api/v1/password-resets/new-password",
    exclude_from_auth=True,
    status_code=204,
    responses={**problem_responses(400, 404, 409, 422, 503), 204: _NO_CONTENT},
    tags=["auth"],
)
async def reset_password(
    data: JSONBody[ResetPassword], request: Request[Any, Any, Any], container: NamedDependency[Container]
) -> None:
    """Sets a new password through a forgotten password's link, which is then used up. 404 for
    a link that does not work (used, replaced), 409 (`reset_link_expired`) for an expired one."""
    await people.reset_password(container, data, correlation_id_of(request.scope))


PEOPLE_ROUTES: list[ControllerRouterHandler] = [
    list_people,
    invite,
    resend,
    revoke,
    list_users,
    deactivate,
    open_invitation,
    accept_by_link,
    forgot_password,
    reset_password,
]
