"""Who may do what where: route guards and the CSRF check for cookie-authenticated requests.

Routes state their audience in `opt`, derived from the access they need (`services/access.py`):

    @post("/api/v1/tenants/{tenant_id:uuid}/engagements", opt=PLAN.opt())

`tenant_guard` runs on every route of the app. Any route with a `tenant_id` path parameter
is refused unless the principal holds one of the route's `roles` in that tenant; a tenant
route that names no roles is refused outright (fail closed). A principal without access
gets 403 whether or not the tenant exists, so ids of other tenants cannot be probed.

`join_scope_guard` runs on every route too: a participant who joined with a join code may
only use routes that declare `opt["unit_scope"]`, in its own engagement, as its own unit.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, Any
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from domain.roles import Role
from services.access import ADMINISTER, ROLES_OPT, UNIT_SCOPE_OPT, UnitScope
from services.auth.join_codes import JOIN_PATH
from services.auth.jwt import AUTH_COOKIE, CSRF_COOKIE, CSRF_HEADER, LOGIN_PATH
from services.auth.principal import Principal

if TYPE_CHECKING:
    from services.bootstrap import Container

TENANT_PARAM = "tenant_id"
ENGAGEMENT_PARAM = "engagement_id"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/"
logger = logging.getLogger("balkort.auth")


def principal_from(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated principal; 401 when the request is not authenticated."""
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException()
    return user


def tenant_guard(connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler) -> None:
    """403 unless the principal's role in the path's tenant is one of the route's `opt["roles"]`."""
    if TENANT_PARAM not in connection.path_params:
        return
    principal = principal_from(connection)
    roles: Collection[Role] | None = route_handler.opt.get(ROLES_OPT)
    if not roles:
        logger.error("route %s has a tenant but declares no roles; refused", route_handler)
        raise PermissionDeniedException("This route declares no roles.")
    raw = connection.path_params[TENANT_PARAM]
    try:
        tenant_id = raw if isinstance(raw, UUID) else UUID(str(raw))
    except ValueError:
        raise PermissionDeniedException("Not allowed in this tenant.") from None
    role = principal.role_in(tenant_id)
    if role is None or role not in roles:
        raise PermissionDeniedException("Not allowed in this tenant.")


NOT_YOUR_UNIT = "A join code lets you act only as your own unit, in your own engagement."


async def join_scope_guard(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
) -> None:
    """403 for a join-code participant unless the route names a `unit_scope`, the path is its
    engagement, and the unit it acts as (path, body, or the card or dialogue named) is its own.
    Principals with an account pass untouched."""
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal) or not principal.is_unit_scoped:
        return
    scope: UnitScope | None = route_handler.opt.get(UNIT_SCOPE_OPT)
    tenant_id = _uuid(connection.path_params.get(TENANT_PARAM))
    engagement_id = _uuid(connection.path_params.get(ENGAGEMENT_PARAM))
    if (
        scope is None
        or tenant_id is None
        or engagement_id is None
        or principal.role_in(tenant_id) is None
        or engagement_id != principal.engagement_id
    ):
        raise PermissionDeniedException(NOT_YOUR_UNIT)
    if scope is UnitScope.READ:
        return
    if principal.unit_id not in await _acting_units(connection, scope, tenant_id, engagement_id):
        raise PermissionDeniedException(NOT_YOUR_UNIT)


async def _acting_units(
    connection: ASGIConnection[Any, Any, Any, Any], scope: UnitScope, tenant_id: UUID, engagement_id: UUID
) -> Collection[UUID]:
    where, _, name = scope.value.partition(":")
    if where == "path":
        named = _uuid(connection.path_params.get(name))
    else:
        named = await _body_uuid(connection, name)
    if named is None:
        return ()
    if scope in (UnitScope.PATH_UNIT, UnitScope.BODY_UNIT, UnitScope.BODY_FROM_UNIT):
        return (named,)
    container: Container = connection.app.state.container
    if scope is UnitScope.CARD_IN_BODY:
        units: tuple[UUID, UUID] = await container.offloop(
            container.tenants.call, tenant_id, lambda app: app.engagement(engagement_id).card(named).units
        )
    else:
        units = await container.offloop(
            container.tenants.call, tenant_id, lambda app: app.engagement(engagement_id).dialogue(named).units
        )
    return units


async def _body_uuid(connection: ASGIConnection[Any, Any, Any, Any], name: str) -> UUID | None:
    """The UUID field `name` of the JSON body; 400 when it is missing or not a UUID. (The body
    is cached on the request, so the handler reads it again for free.)"""
    if not isinstance(connection, Request):
        return None
    try:
        body = await connection.json()
    except Exception:  # the handler answers an undecodable body with its own 400
        body = None
    value = _uuid(body.get(name)) if isinstance(body, dict) else None
    if value is None:
        raise ValidationException(
            f"{name} is required",
            extra=[{"key": name, "source": "body", "message": "a unit's id is required"}],
        )
    return value


def _uuid(raw: object) -> UUID | None:
    if raw is None or isinstance(raw, UUID):
        return raw
    try:
        return UUID(str(raw))
    except ValueError:
        return None


def platform_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """403 unless the principal holds a platform role that administers the platform."""
    if principal_from(connection).platform_role not in ADMINISTER.roles:
        raise PermissionDeniedException("Only consultancy admins may do this.")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class CSRFMiddleware:
    """Double-submit check for requests authenticated by the cookie alone.

    An unsafe request that carries the auth cookie and no `Authorization` header must echo
    the `csrf_token` cookie (set at login, readable by the page's script) in `X-CSRF-Token`.
    A cross-site form can make the browser send the cookie but cannot read it to set the
    header. Bearer requests are exempt: a browser never adds that header by itself. Pages
    (paths outside `/api/`) are checked by their router instead (`services.web.forms`), where
    a plain HTML form may carry the token in a field.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and self._refuses(scope):
            raise PermissionDeniedException("Missing or wrong X-CSRF-Token header.")
        await self.app(scope, receive, send)

    @staticmethod
    def _refuses(scope: Scope) -> bool:
        if scope.get("method") not in UNSAFE_METHODS or scope.get("path") in (LOGIN_PATH, JOIN_PATH):
            return False
        if not str(scope.get("path", "")).startswith(API_PREFIX):
            return False  # pages: their forms carry the token in a field (services.web.forms)
        if _header(scope, b"authorization") or _cookie(scope, AUTH_COOKIE) is None:
            return False
        expected = _cookie(scope, CSRF_COOKIE)
        given = _header(scope, CSRF_HEADER.lower().encode())
        return not (expected and given and hmac.compare_digest(expected.encode(), given.encode()))
