"""Signed tokens: a JWT carried in an HttpOnly cookie (browsers) or `Authorization: Bearer` (API clients).

Litestar's `JWTCookieAuthenticationMiddleware` reads the `Authorization` header first and
falls back to the cookie, so one configuration serves both.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTCookieAuth, Token

from domain.errors import NotFound
from domain.user import User
from services.auth.join_codes import JOIN_CLAIM, JOIN_PATH, participant_principal
from services.auth.principal import Principal
from services.settings import Settings

if TYPE_CHECKING:
    from services.bootstrap import Container

AUTH_COOKIE = "balkort_token"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/api/v1/auth/login"
# Regular expressions matched against the request path: reachable without a token.
PUBLIC_PATHS = [f"^{LOGIN_PATH}$", f"^{JOIN_PATH}$", "^/schema", "^/healthz$"]
SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name, not a secret


def jwt_secret(settings: Settings) -> str:
    """The signing secret: `settings.jwt_secret`, else one generated once and kept in `data_dir`.

    Kept on disk (mode 0600) so that restarting the embedded default does not sign everyone out.
    """
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip()


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


def build_jwt_auth(settings: Settings) -> JWTCookieAuth[Principal, Token]:
    """The authentication configuration the app registers (`on_app_init`)."""
    return JWTCookieAuth[Principal, Token](
        token_secret=jwt_secret(settings),
        retrieve_user_handler=retrieve_principal,
        exclude=PUBLIC_PATHS,
        key=AUTH_COOKIE,
        secure=settings.cookie_secure,
        samesite="lax",
        default_token_expiration=timedelta(minutes=settings.jwt_ttl_minutes),
        description="A JWT from POST /api/v1/auth/login, as `Authorization: Bearer` or the HttpOnly cookie.",
    )
