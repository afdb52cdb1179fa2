"""The platform's own administration: client organisations (tenants) and users (memberships:
`member_routes.py`)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.types import ControllerRouterHandler

from domain.roles import Role
from domain.tenant import SLUG
from services.access import READ
from services.auth.guards import platform_guard
from services.auth.principal import Principal
from services.bootstrap import Container
from services.controlplane import PLATFORM_ID, ControlPlane, TenantSummary
from services.requests.problems import problem_responses
from services.requests.provenance import build_provenance
from services.text import EMAIL_PATTERN, name_rule, text_rule
from services.usecases import tenants as lifecycle


class NewTenant(msgspec.Struct, frozen=True):
    """A client organisation to onboard. The slug is its short, permanent, URL-safe name."""

    name: Annotated[str, name_rule(min_length=1, max_length=200)]
    # The domain's pattern ends in `$`, which Python also matches before a final newline.
    slug: Annotated[str, msgspec.Meta(pattern=SLUG.pattern + r"(?!\n)", max_length=63)]


class TenantView(msgspec.Struct, frozen=True, kw_only=True):
    """A client organisation."""

    id: UUID
    slug: str
    name: str


class NewUser(msgspec.Struct, frozen=True, kw_only=True):
    """A person who may sign in. `platform_role` only for the consultancy's own staff."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=EMAIL_PATTERN)]
    display_name: Annotated[str, name_rule(min_length=1, max_length=200)]
    password: Annotated[str, text_rule(min_length=12, max_length=1024)]
    platform_role: Role | None = None


class UserView(msgspec.Struct, frozen=True, kw_only=True):
    """A registered user (never the password hash)."""

    id: UUID
    email: str
    display_name: str
    platform_role: Role | None


def tenant_view(summary: TenantSummary) -> TenantView:
    return TenantView(id=summary.id, slug=summary.slug, name=summary.name)


@post(
    "/api/v1/tenants",
    guards=[platform_guard],
    responses=problem_responses(400, 401, 403, 409, 422, 503),
    tags=["platform"],
)
async def onboard_tenant(
    data: JSONBody[NewTenant],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> TenantView:
    """Onboards a client organisation: records it on the platform and creates its own event store.

    Consultancy admins only. 409 (`already_exists`) when the slug is taken.
    """
    tenant_id = ControlPlane.tenant_id_for(data.slug)
    provenance = build_provenance(request, principal, tenant_id, "OnboardTenant")
    await container.offloop(lifecycle.onboard_tenant, container, data.name, data.slug, provenance)
    return TenantView(id=tenant_id, slug=data.slug, name=data.name.strip())


@get("/api/v1/tenants", responses=problem_responses(401), tags=["platform"])
async def list_tenants(
    principal: NamedDependency[Principal], container: NamedDependency[Container]
) -> list[TenantView]:
    """The client organisations the signed-in user may act in (all of them for consultancy admins)."""
    tenants = await container.offloop(container.control.tenants)
    return [tenant_view(t) for t in tenants if principal.can_access(t.id)]


@get(
    "/api/v1/tenants/{tenant_id:uuid}",
    opt=READ.opt(),
    responses=problem_responses(400, 401, 403, 404),
    tags=["platform"],
)
async def get_tenant(tenant_id: FromPath[UUID], container: NamedDependency[Container]) -> TenantView:
    """One client organisation the signed-in user may act in."""
    return tenant_view(await container.offloop(container.control.tenant, tenant_id))


@post(
    "/api/v1/users",
    guards=[platform_guard],
    responses=problem_responses(400, 401, 403, 409, 422, 503),
    tags=["platform"],
)
async def register_user(
    data: JSONBody[NewUser],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> UserView:
    """Registers a user. Consultancy admins only; 409 (`already_exists`) for a known email."""
    provenance = build_provenance(request, principal, PLATFORM_ID, "RegisterUser")
    user_id = await container.offloop(
        container.control.register_user,
        data.email,
        data.display_name,
        data.password,
        data.platform_role,
        provenance,
    )
    user = await container.offloop(container.control.user, user_id)
    return UserView(
        id=user.id, email=user.email, display_name=user.display_name, platform_role=user.platform_role
    )


ADMIN_ROUTES: list[ControllerRouterHandler] = [
    onboard_tenant,
    list_tenants,
    get_tenant,
    register_user,
]
