"""Who may act in a client organisation: roles granted (directly or by invitation), changed and
removed, and the invitations a signed-in person accepts (docs/adr/0017)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody
from litestar.types import ControllerRouterHandler

from domain.provenance import Provenance
from domain.roles import Role
from domain.user import TENANT_ROLES, User
from services.access import PLAN
from services.auth.principal import Principal
from services.bootstrap import Container
from services.controlplane import PendingInvitation
from services.memberships import Grant, Memberships
from services.requests.problems import problem_responses
from services.requests.provenance import build_provenance
from services.text import EMAIL_PATTERN

MEMBER = "/api/v1/tenants/{tenant_id:uuid}/members/{user_id:uuid}"


class NewMembership(msgspec.Struct, frozen=True, kw_only=True):
    """Who (`user_id` or `email`) gets which role in the tenant."""

    role: Role
    user_id: UUID | None = None
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=EMAIL_PATTERN)] | None = None


class RoleChange(msgspec.Struct, frozen=True, kw_only=True):
    """The role a member is to hold from now on."""

    role: Role


class MemberView(msgspec.Struct, frozen=True, kw_only=True):
    """A role held in a tenant."""

    tenant_id: UUID
    user_id: UUID
    role: Role


def memberships(container: Container) -> Memberships:
    return Memberships(container.control, container.tenants)


def _tenant_role(role: Role) -> Role:
    if role not in TENANT_ROLES:
        raise ValidationException(
            extra=[{"key": "role", "message": "not a role within a tenant", "source": "body"}]
        )
    return role


@post(
    "/api/v1/tenants/{tenant_id:uuid}/members",
    opt=PLAN.opt(),
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    tags=["members"],
)
async def grant_membership(
    tenant_id: FromPath[UUID],
    data: JSONBody[NewMembership],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> Grant:
    """Gives a person (by `user_id` or `email`) a role in this tenant, where they hold none yet.

    A consultancy admin naming an account grants it at once (`outcome: granted`). Otherwise the
    person is invited (`outcome: invited`) and holds the role once they accept it, signed in;
    the answer is the same whether or not the address is registered. Consultants assigned to
    the tenant offer client admin, auditor and participant roles, and never to the
    consultancy's staff; client admins offer client admin and participant roles. 403 (`not_permitted`) when the rule forbids it; 409
    (`already_exists`) when the person holds a role here already: change it with
    `PUT .../members/{user_id}`.
    """
    role = _tenant_role(data.role)
    if (data.user_id is None) == (data.email is None):
        raise ValidationException(
            extra=[{"key": "user_id", "message": "give exactly one of user_id and email", "source": "body"}]
        )
    # An address names the account it has, or will have once registered: nothing is looked up.
    user_id = data.user_id if data.user_id is not None else User.create_id(data.email or "")
    provenance = build_provenance(request, principal, tenant_id, "GrantMembership")
    granted = await container.offloop(memberships(container).grant, tenant_id, user_id, role, provenance)
    container.projections.notify(tenant_id)
    return granted


@put(
    MEMBER,
    opt=PLAN.opt(),
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    tags=["members"],
)
async def change_role(
    tenant_id: FromPath[UUID],
    user_id: FromPath[UUID],
    data: JSONBody[RoleChange],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> MemberView:
    """Changes the role a member holds in this tenant.

    Consultancy admins change anyone's; consultants assigned to the tenant change client
    admins, auditors and participants among those three roles, never a consultant's, the
    consultancy staff's or their own; client admins change client admins and participants
    between those two roles, never their own. 403 (`not_permitted`) when the rule forbids it, 404 when
    the person holds no role here.
    """
    role = _tenant_role(data.role)
    provenance = build_provenance(request, principal, tenant_id, "ChangeRole")
    await container.offloop(memberships(container).change, tenant_id, user_id, role, provenance)
    container.projections.notify(tenant_id)
    return MemberView(tenant_id=tenant_id, user_id=user_id, role=role)


@delete(
    MEMBER,
    opt=PLAN.opt(),
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    tags=["members"],
)
async def remove_membership(
    tenant_id: FromPath[UUID],
    user_id: FromPath[UUID],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> None:
    """Takes away the role a member holds in this tenant; their history stays.

    The same rule as for changing a role: 403 (`not_permitted`) when it forbids it, 404 when
    the person holds no role here.
    """
    provenance = build_provenance(request, principal, tenant_id, "RemoveMembership")
    await container.offloop(memberships(container).remove, tenant_id, user_id, provenance)
    container.projections.notify(tenant_id)


@get("/api/v1/me/invitations", responses=problem_responses(401, 403), tags=["members"])
async def my_invitations(
    principal: NamedDependency[Principal], container: NamedDependency[Container]
) -> list[PendingInvitation]:
    """The roles offered to the signed-in person in client organisations, waiting for them to accept."""
    return await container.offloop(memberships(container).pending, principal.user_id)


@post(
    "/api/v1/me/invitations/{invitation_id:uuid}/accept",
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    tags=["members"],
)
async def accept_invitation(
    invitation_id: FromPath[UUID],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> MemberView:
    """Takes up a role offered to the signed-in person, who holds it from the next request on.
    404 for an invitation that is not theirs or no longer waits."""

    def provenance_for(tenant_id: UUID, role: Role) -> Provenance:
        # The invitee acts on the invitation's authority: the role it offers.
        acting = msgspec.structs.replace(principal, memberships={**principal.memberships, tenant_id: role})
        return build_provenance(request, acting, tenant_id, "AcceptInvitation")

    offer = await container.offloop(
        memberships(container).accept, principal.user_id, invitation_id, provenance_for
    )
    container.projections.notify(offer.tenant_id)
    return MemberView(tenant_id=offer.tenant_id, user_id=principal.user_id, role=offer.role)


MEMBER_ROUTES: list[ControllerRouterHandler] = [
    grant_membership,
    change_role,
    remove_membership,
    my_invitations,
    accept_invitation,
]
