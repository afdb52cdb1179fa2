"""Signing in and out, and who am I."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.security.jwt import JWTCookieAuth, Token
from litestar.types import ControllerRouterHandler

from domain.roles import Role
from services.auth.jwt import AUTH_COOKIE, CSRF_COOKIE, LOGIN_PATH, principal_of
from services.auth.principal import Principal
from services.bootstrap import Container
from services.requests.problems import CredentialsRefused, problem_responses
from services.requests.sign_in import authenticate, sign_out, signed_in
from services.text import name_rule, text_rule


class Credentials(msgspec.Struct, frozen=True):
    """Email and password."""

    email: Annotated[str, name_rule(min_length=3, max_length=320)]
    password: Annotated[str, text_rule(min_length=1, max_length=1024)]


class MembershipView(msgspec.Struct, frozen=True):
    """A role held in one tenant."""

    tenant_id: UUID
    role: Role


class MeView(msgspec.Struct, frozen=True, kw_only=True):
    """The signed-in user and where they may act."""

    user_id: UUID
    email: str
    display_name: str
    platform_role: Role | None
    memberships: list[MembershipView]


class LoginResult(msgspec.Struct, frozen=True, kw_only=True):
    """A token for `Authorization: Bearer`; the same token is also set as an HttpOnly cookie."""

    token: str
    token_type: str
    expires_at: datetime
    user: MeView


def me_view(principal: NamedDependency[Principal]) -> MeView:
    return MeView(
        user_id=principal.user_id,
        email=principal.email,
        display_name=principal.display_name,
        platform_role=principal.platform_role,
        memberships=[MembershipView(tenant_id=t, role=r) for t, r in sorted(principal.memberships.items())],
    )


def _jwt_auth(request: Request[Any, Any, Any]) -> JWTCookieAuth[Principal, Token]:
    jwt_auth: JWTCookieAuth[Principal, Token] = request.app.state.jwt_auth
    return jwt_auth


@post(
    LOGIN_PATH,
    exclude_from_auth=True,
    status_code=200,
    responses=problem_responses(400, 401, 503),
    tags=["auth"],
)
async def login(
    data: JSONBody[Credentials], request: Request[Any, Any, Any], container: NamedDependency[Container]
) -> Response[LoginResult]:
    """Signs in with email and password.

    Returns a bearer token and sets two cookies: the token (HttpOnly) and `csrf_token`, which
    a browser page must echo in the `X-CSRF-Token` header of every POST, PUT, PATCH and DELETE.

    Attempts are limited per account and per client address (failures only: a right password
    gives its attempt back); past a limit, 429 with `Retry-After`, even for the right password.
    """
    user = await authenticate(request, container, data.email, data.password)
    if user is None:
        raise CredentialsRefused("Wrong email or password.")
    settings = container.settings
    ttl = timedelta(minutes=settings.jwt_ttl_minutes)
    expires_at = datetime.now(UTC) + ttl
    token = _jwt_auth(request).create_token(identifier=str(user.id), token_expiration=ttl)
    return signed_in(
        LoginResult(
            token=token,
            token_type="Bearer",  # noqa: S106 - the scheme's name
            expires_at=expires_at,
            user=me_view(principal_of(user)),
        ),
        token,
        ttl,
        secure=settings.cookie_secure,
    )


@post(
    "/api/v1/auth/logout",
    status_code=204,
    responses={
        **problem_responses(401, 403, 503),
        204: ResponseSpec(None, description="Signed out; no content."),
    },
    tags=["auth"],
)
async def logout(request: Request[Any, Any, Any], container: NamedDependency[Container]) -> Response[None]:
    """Signs out: the token used (bearer or cookie) is refused from now on, and the token and
    CSRF cookies are cleared."""
    await sign_out(request, container)
    secure = container.settings.cookie_secure
    return Response(
        None,
        status_code=204,
        cookies=[
            Cookie(
                key=AUTH_COOKIE, value="", max_age=0, httponly=True, samesite="lax", secure=secure, path="/"
            ),
            Cookie(key=CSRF_COOKIE, value="", max_age=0, samesite="lax", secure=secure, path="/"),
        ],
    )


@get("/api/v1/me", responses=problem_responses(401), tags=["auth"], sync_to_thread=False)
def me(principal: NamedDependency[Principal]) -> MeView:
    """The signed-in user, their platform role and their role in each tenant."""
    return me_view(principal)


AUTH_ROUTES: list[ControllerRouterHandler] = [login, logout, me]
