"""Who may do what where: route guards and the CSRF check for cookie-authenticated requests.

Routes state their audience in `opt`:

    @post("/api/v1/tenants/{tenant_id:uuid}/engagements", opt={"roles": {Role.CONSULTANT, Role.CONSULTANCY_ADMIN}})

`tenant_guard` runs on every route of the app. Any route with a `tenant_id` path parameter
is refused unless the principal holds one of the route's `roles` in that tenant; a tenant
route that names no roles is refused outright (fail closed). A principal without access
gets 403 whether or not the tenant exists, so ids of other tenants cannot be probed.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Collection
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from domain.roles import Role
from services.auth.jwt import AUTH_COOKIE, CSRF_COOKIE, CSRF_HEADER, LOGIN_PATH
from services.auth.principal import Principal

ROLES_OPT = "roles"
TENANT_PARAM = "tenant_id"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
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


def platform_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """403 unless the principal is a consultancy admin."""
    if not principal_from(connection).is_consultancy_admin:
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
    header. Bearer requests are exempt: a browser never adds that header by itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and self._refuses(scope):
            raise PermissionDeniedException("Missing or wrong X-CSRF-Token header.")
        await self.app(scope, receive, send)

    @staticmethod
    def _refuses(scope: Scope) -> bool:
        if scope.get("method") not in UNSAFE_METHODS or scope.get("path") == LOGIN_PATH:
            return False
        if _header(scope, b"authorization") or _cookie(scope, AUTH_COOKIE) is None:
            return False
        expected = _cookie(scope, CSRF_COOKIE)
        given = _header(scope, CSRF_HEADER.lower().encode())
        return not (expected and given and hmac.compare_digest(expected.encode(), given.encode()))
