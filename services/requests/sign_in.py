"""Signing in, by password or by a unit table's join code, and signing out: what the API's
routes and the pages' forms both do with a request. Attempts are counted per account or code
prefix and per client address before the credentials are checked; the answer sets the token
as an HttpOnly cookie beside a CSRF cookie to echo."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, TypeVar

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.security.jwt import Token

from domain.join_code import JoinCode
from domain.user import User
from services.auth.join_codes import GROUP_LENGTH, JOIN_CLAIM, normalised
from services.auth.jwt import AUTH_COOKIE, CSRF_COOKIE, token_id
from services.bootstrap import Container
from services.live import end_streams
from services.requests.rate_limits import client_address, give_back, take_attempt
from services.settings import Settings
from services.usecases.join_codes import find_join_code

Req = Request[Any, Any, Any]

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


TOO_MANY_RESETS = "Too many requests for a new password; try again in {seconds} seconds."


async def password_reset_attempt(request: Req, container: Container, email: str) -> None:
    """Counts a request for a new password against the same counters as signing in (per
    account and per address), whatever the address: 429 `Throttled` past a limit. Never given
    back, so an address cannot be flooded with links."""
    limits = sign_in_limits(container.settings, request, email)
    await take_attempt(container.attempts, limits, TOO_MANY_RESETS)


async def sign_out(request: Request[Any, Any, Any], container: Container) -> None:
    """Signs the request's token out for good: refused from now until it expires, and the live
    streams held with it end."""
    token = request.scope.get("auth")
    jti = token_id(token)
    if isinstance(token, Token) and jti is not None:
        await container.revocations.revoke(jti, token.exp)
        await end_streams(request.app, token_id=jti)


TOO_MANY_CODES = (
    "Too many wrong join codes were typed; try again in {seconds} seconds. "
    "Check the code on your table's card, or ask your facilitator."
)
CODE_REFUSED = (
    "This join code is unknown, revoked or expired. "
    "Check the code on your table's card, or ask your facilitator for a new one."
)


def join_limits(settings: Settings, request: Req, typed: str | None, text: str) -> dict[str, int]:
    """The counters a join attempt counts against: its code prefix (the first group: a table
    that keeps typing its code wrong locks only codes that start the same way), and the client
    address with a far higher bound (a venue's tables share one address)."""
    prefix = typed[:GROUP_LENGTH] if typed else text.upper()[:GROUP_LENGTH]
    return {
        f"join:prefix:{prefix}": settings.join_failures_per_minute,
        f"join:address:{client_address(request)}": settings.join_failures_per_address_per_minute,
    }


async def redeem_join_code(
    request: Req, container: Container, text: str
) -> tuple[JoinCode, str, timedelta] | None:
    """A token for the join code `text`, with the code and the token's lifetime; None for an
    unknown, revoked or expired code. Attempts are counted (atomically) per code prefix and per
    client address before the code is looked up, and a right code gives its attempt back; past
    a limit, 429 `Throttled` with `Retry-After`, even for a right code."""
    typed = normalised(text)
    limits = join_limits(container.settings, request, typed, text)
    await take_attempt(container.attempts, limits, TOO_MANY_CODES)
    now = container.clock()
    code = await find_join_code(container, typed) if typed is not None else None
    # An erased tenant's codes let no one in: refused like any unusable code.
    if code is not None and await container.offloop(container.control.erased, code.tenant_id):
        code = None
    if code is None or not code.usable_at(now):
        return None
    await give_back(container.attempts, limits)
    ttl = min(code.expires_at - now, timedelta(minutes=container.settings.jwt_ttl_minutes))
    token = request.app.state.jwt_auth.create_token(
        identifier=str(code.id), token_expiration=ttl, token_extras={JOIN_CLAIM: True}
    )
    return code, token, ttl
