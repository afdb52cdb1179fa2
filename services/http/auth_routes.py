"""Signing in and out, and who am I."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar
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
from domain.user import User
from services.auth.jwt import AUTH_COOKIE, CSRF_COOKIE, LOGIN_PATH, principal_of, token_id
from services.auth.principal import Principal
from services.bootstrap import Container
from services.http.problems import CredentialsRefused, problem_responses
from services.http.rate_limits import client_address, give_back, take_attempt
from services.live import end_streams
from services.settings import Settings
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


T = TypeVar("T")


def signed_in(body: T, token: str, ttl: timedelta, *, secure: bool) -> Response[T]:
    """The answer to a successful sign-in (by password or by join code): the token in the body
    for API clients, and for browsers as an HttpOnly cookie beside a CSRF cookie to echo."""
    max_age = max(1, int(ttl.total_seconds()))
    return Response(
        body,
        status_code=200,
        cookies=[
            Cookie(
                key=AUTH_COOKIE,
                value=token,
                httponly=True,
                samesite="lax",
                secure=secure,
                max_age=max_age,
                path="/",
            ),
            Cookie(
                key=CSRF_COOKIE,
                value=secrets.token_urlsafe(32),
                httponly=False,
                samesite="lax",
                secure=secure,
                max_age=max_age,
                path="/",
            ),
        ],
        headers={"Cache-Control": "no-store"},
    )


TOO_MANY_SIGN_INS = "Too many sign-in attempts; try again in {seconds} seconds."


def sign_in_limits(settings: Settings, request: Request[Any, Any, Any], email: str) -> dict[str, int]:
    """The counters a sign-in counts against: the account (by a digest of its email, so the
    counters hold no address book) and the client address."""
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return {
        f"login:account:{account}": settings.login_failures_per_minute,
        f"login:address:{client_address(request)}": settings.login_failures_per_address_per_minute,
    }


async def authenticate(
    request: Request[Any, Any, Any], container: Container, email: str, password: str
) -> User | None:
    """The user whose email and password these are, or None; throttled per account and per
    address (429 `Throttled` past a limit, also for the right password; 503 when the counters
    cannot be reached). A right password gives its attempt back."""
    limits = sign_in_limits(container.settings, request, email)
    await take_attempt(container.attempts, limits, TOO_MANY_SIGN_INS)
    user: User | None = await container.offloop(container.control.authenticate, email, password)
    if user is not None:
        await give_back(container.attempts, limits)
    return user


async def sign_out(request: Request[Any, Any, Any], container: Container) -> None:
    """Signs the request's token out for good: refused from now until it expires, and the live
    streams held with it end."""
    token = request.scope.get("auth")
    jti = token_id(token)
    if isinstance(token, Token) and jti is not None:
        await container.revocations.revoke(jti, token.exp)
        await end_streams(request.app, token_id=jti)


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
