"""Signed tokens: a JWT carried in an HttpOnly cookie (browsers) or `Authorization: Bearer` (API clients).

Litestar's `JWTCookieAuthenticationMiddleware` reads the `Authorization` header first and
falls back to the cookie, so one configuration serves both. Every token carries a random id
(`jti`); signing out puts it on a deny-list until it expires (services/auth/revocation.py),
which every authenticated request consults.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTCookieAuth, Token

from domain.errors import NotFound
from domain.user import User
from services.auth.join_codes import JOIN_CLAIM, JOIN_PATH, participant_principal
from services.auth.principal import Principal
from services.auth.secret_keys import SecretKeys
from services.settings import Settings

if TYPE_CHECKING:
    from services.bootstrap import Container

AUTH_COOKIE = "balkort_token"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/api/v1/auth/login"
# Regular expressions matched against the request path: reachable without a token.
PUBLIC_PATHS = [f"^{LOGIN_PATH}$", f"^{JOIN_PATH}$", "^/schema", "^/healthz$"]


def jwt_secret(settings: Settings) -> str:
    """The key tokens are signed with: a subkey of the platform secret, never the secret itself
    (services/auth/secret_keys.py). Raises SettingsError when the secret is missing or weak."""
    return SecretKeys.load(settings).tokens


def principal_of(user: User) -> Principal:
    """The principal a user acts as."""
    return Principal(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        platform_role=user.platform_role,
        memberships=dict(user.memberships),
    )


async def retrieve_principal(
    token: Token, connection: ASGIConnection[Any, Any, Any, Any]
) -> Principal | None:
    """Loads the token's user from the control plane (off the event loop); None signs the request out.

    A join-code participant's token names its code: the code is read on every request, so a
    revoked or expired code signs its holders out at once, whatever the token's own expiry.
    """
    container: Container = connection.app.state.container
    try:
        user_id = UUID(token.sub)
    except ValueError:
        return None
    if token.extras.get(JOIN_CLAIM):
        try:
            code = await container.offloop(container.control.join_code, user_id)
        except NotFound:
            return None
        return participant_principal(code) if code.usable_at(container.clock()) else None
    try:
        user = await container.offloop(container.control.user, user_id)
    except NotFound:
        return None
    if not user.active:
        return None
    return principal_of(user)


def token_id(token: object) -> str | None:
    """The id (`jti`) of a token, or None when it is not a token or has none."""
    jti = token.jti if isinstance(token, Token) else None
    return jti if isinstance(jti, str) and jti else None


async def token_revoked(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """True for a token signed out before its expiry, and for one without an id (every token
    this app issues has one)."""
    jti = token_id(token)
    if jti is None:
        return True
    container: Container = connection.app.state.container
    return await container.revocations.revoked(jti)


async def still_signed_in(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the connection's token would still be let in now: not signed out, its user still
    active, its join code still usable. For long-lived answers (live streams) to re-check."""
    token = connection.scope.get("auth")
    if not isinstance(token, Token):
        return False
    return await retrieve_principal(token, connection) is not None and not await token_revoked(
        token, connection
    )


class RevocableJWTAuth(JWTCookieAuth[Principal, Token]):
    """`JWTCookieAuth` whose every token carries a random id (`jti`), so it can be signed out."""

    def create_token(
        self,
        identifier: str,
        token_expiration: timedelta | None = None,
        token_issuer: str | None = None,
        token_audience: str | None = None,
        token_unique_jwt_id: str | None = None,
        token_extras: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> str:
        return super().create_token(
            identifier,
            token_expiration=token_expiration,
            token_issuer=token_issuer,
            token_audience=token_audience,
            token_unique_jwt_id=token_unique_jwt_id or uuid4().hex,
            token_extras=token_extras,
            **kwargs,
        )


def build_jwt_auth(settings: Settings) -> RevocableJWTAuth:
    """The authentication configuration the app registers (`on_app_init`)."""
    return RevocableJWTAuth(
        token_secret=jwt_secret(settings),
        retrieve_user_handler=retrieve_principal,
        revoked_token_handler=token_revoked,
        exclude=PUBLIC_PATHS,
        key=AUTH_COOKIE,
        secure=settings.cookie_secure,
        samesite="lax",
        default_token_expiration=timedelta(minutes=settings.jwt_ttl_minutes),
        description="A JWT from POST /api/v1/auth/login, as `Authorization: Bearer` or the HttpOnly cookie.",
    )
