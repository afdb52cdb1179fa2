"""Join codes: facilitators issue one per unit table; participants join with it, no account needed.

The code is shown once, in the answer that issues it, together with its QR image (inline
SVG) for the table card. The store keeps only a digest, so nothing can show the code again:
the QR endpoints (SVG and PNG, for printing) render it only when the caller sends the code in
`X-Join-Code`, and check that it is that join code's. A header, not the URL, so the code
stays out of access logs. The join link puts the code after `#`, which browsers never send
to a server.
"""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
import segno
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody
from litestar.types import ControllerRouterHandler

from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.join_code import JoinCode
from services.access import FACILITATE
from services.auth.join_codes import (
    GROUP_LENGTH,
    JOIN_CLAIM,
    JOIN_PATH,
    digest_of,
    end_of_theme_day,
    grouped,
    new_code,
    normalised,
)
from services.bootstrap import Container
from services.http.auth_routes import signed_in
from services.http.commands import query
from services.http.problems import CredentialsRefused, problem_responses
from services.http.provenance import build_provenance
from services.http.rate_limits import client_address, give_back, take_attempt
from services.live import end_streams
from services.settings import Settings
from services.text import name_rule

Req = Request[Any, Any, Any]
CODE_HEADER = "X-Join-Code"
# A freshly drawn code that collides with an issued one is drawn again, this often.
DRAWS = 3


class IssueJoinCode(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When the code should stop working, if before the end of the theme day (the default)."""

    expires_at: datetime | None = None


class JoinCodeIssued(msgspec.Struct, frozen=True, kw_only=True):
    """A new join code. `code`, `join_url` and `qr_svg` are shown this once and never again."""

    id: UUID
    unit_id: UUID
    code: str
    expires_at: datetime
    join_url: str
    qr_svg: str


class JoinCodeOut(msgspec.Struct, frozen=True, kw_only=True):
    """A join code as listed: never the code itself."""

    id: UUID
    engagement_id: UUID
    unit_id: UUID
    expires_at: datetime
    revoked_at: datetime | None
    usable: bool


class JoinIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The code from the unit table's card, as typed (case, spaces and hyphens do not matter)."""

    code: Annotated[str, name_rule(min_length=1, max_length=64)]


class Joined(msgspec.Struct, frozen=True, kw_only=True):
    """A token for acting as one unit of one engagement until `expires_at`."""

    token: str
    token_type: str
    expires_at: datetime
    tenant_id: UUID
    engagement_id: UUID
    unit_id: UUID


def _out(code: JoinCode, now: datetime) -> JoinCodeOut:
    return JoinCodeOut(
        id=code.id,
        engagement_id=code.engagement_id,
        unit_id=code.unit_id,
        expires_at=code.expires_at,
        revoked_at=code.revoked_at,
        usable=code.usable_at(now),
    )


def _join_url(request: Req, container: Container, code: str) -> str:
    base = (container.settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/join#{code}"


def qr_code_svg(url: str, *, title: str = "Join code", scale: int = 4) -> str:
    """`url` as a QR code: an SVG element to put inline in a page or serve as an image."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=scale, border=4, xmldecl=False, title=title)
    return out.getvalue().decode("utf-8")


def _png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=10, border=4)
    return out.getvalue()


async def issue_join_code(
    request: Req,
    container: Container,
    tenant_id: UUID,
    engagement_id: UUID,
    unit_id: UUID,
    expires_at: datetime | None = None,
) -> JoinCodeIssued:
    """A new join code for a unit of the engagement, valid until the end of its theme day (Danish
    time) or the earlier `expires_at`; the answer is the only place its code appears."""
    engagement = await query(request, tenant_id, lambda app: app.engagement(engagement_id))
    if unit_id not in engagement.unit_ids:
        raise NotFound("unit_not_taking_part", unit=str(unit_id))
    latest = end_of_theme_day(engagement.preparation.theme_day)
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValidationException(
            extra=[{"key": "expires_at", "source": "body", "message": "add a time zone"}]
        )
    expires_at = expires_at or latest
    if expires_at > latest:
        raise InvariantViolated(
            "join_code_after_theme_day",
            state=f"theme day ends {latest.isoformat()}",
        )
    provenance = build_provenance(request, request.user, tenant_id, "IssueJoinCode")
    for attempt in range(DRAWS):
        code = new_code()
        digest = digest_of(container.join_code_key, code.replace("-", ""))
        try:
            issued: JoinCode = await container.offloop(
                container.control.issue_join_code,
                tenant_id,
                engagement_id,
                unit_id,
                digest,
                expires_at,
                provenance,
            )
        except AlreadyExists:
            if attempt == DRAWS - 1:
                raise
            continue
        url = _join_url(request, container, code)
        return JoinCodeIssued(
            id=issued.id,
            unit_id=unit_id,
            code=code,
            expires_at=expires_at,
            join_url=url,
            qr_svg=qr_code_svg(url),
        )
    raise AssertionError("unreachable")  # pragma: no cover


class JoinCodeController(Controller):
    path = "/api/v1/tenants/{tenant_id:uuid}/engagements/{engagement_id:uuid}/units/{unit_id:uuid}/join-codes"
    tags = ["join codes"]

    @post("/", opt=FACILITATE.opt(), responses=problem_responses(400, 401, 403, 404, 409))
    async def issue(
        self,
        request: Req,
        container: NamedDependency[Container],
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        data: JSONBody[IssueJoinCode],
    ) -> Response[JoinCodeIssued]:
        """Issue a join code for a unit's table: whoever holds it acts as that unit in this
        engagement, until the end of the theme day (Danish time) or the earlier `expires_at`.
        The answer is the only place the code appears; it is not kept."""
        issued = await issue_join_code(request, container, tenant_id, engagement_id, unit_id, data.expires_at)
        return Response(issued, status_code=201, headers={"Cache-Control": "no-store"})

    @get("/", opt=FACILITATE.opt(), responses=problem_responses(401, 403, 404))
    async def listed(
        self,
        container: NamedDependency[Container],
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
    ) -> list[JoinCodeOut]:
        """The unit's join codes in this engagement, oldest first: expiry and revocation, no codes."""
        codes = await container.offloop(container.control.join_codes, tenant_id, engagement_id, unit_id)
        now = container.clock()
        return [_out(code, now) for code in codes]

    @post(
        "/{code_id:uuid}/revoke",
        opt=FACILITATE.opt(),
        status_code=200,
        responses=problem_responses(401, 403, 404),
    )
    async def revoke(
        self,
        request: Req,
        container: NamedDependency[Container],
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        code_id: FromPath[UUID],
    ) -> JoinCodeOut:
        """Revoke a join code: nobody joins with it any more, tokens it gave are refused on
        their next request, and live streams held with them end."""
        await self._own_code(container, tenant_id, engagement_id, unit_id, code_id)
        provenance = build_provenance(request, request.user, tenant_id, "RevokeJoinCode")
        code = await container.offloop(container.control.revoke_join_code, code_id, provenance)
        await end_streams(request.app, join_code_id=code_id)
        return _out(code, container.clock())

    @get(
        "/{code_id:uuid}/qr.svg",
        opt=FACILITATE.opt(),
        media_type="image/svg+xml",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def qr_svg(
        self,
        request: Req,
        container: NamedDependency[Container],
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        code_id: FromPath[UUID],
    ) -> Response[str]:
        """The join link as a QR code (SVG). Send the code in `X-Join-Code`: it is not kept, so
        it cannot be looked up."""
        url = await self._join_url_of(request, container, tenant_id, engagement_id, unit_id, code_id)
        return Response(qr_code_svg(url), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    @get(
        "/{code_id:uuid}/qr.png",
        opt=FACILITATE.opt(),
        media_type="image/png",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def qr_png(
        self,
        request: Req,
        container: NamedDependency[Container],
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        code_id: FromPath[UUID],
    ) -> Response[bytes]:
        """The join link as a QR code (PNG, for printing). Send the code in `X-Join-Code`."""
        url = await self._join_url_of(request, container, tenant_id, engagement_id, unit_id, code_id)
        return Response(_png(url), media_type="image/png", headers={"Cache-Control": "no-store"})

    @staticmethod
    async def _own_code(
        container: Container, tenant_id: UUID, engagement_id: UUID, unit_id: UUID, code_id: UUID
    ) -> JoinCode:
        code: JoinCode = await container.offloop(container.control.join_code, code_id)
        if (code.tenant_id, code.engagement_id, code.unit_id) != (tenant_id, engagement_id, unit_id):
            raise NotFound("no_join_code", code=str(code_id))
        return code

    async def _join_url_of(
        self,
        request: Req,
        container: Container,
        tenant_id: UUID,
        engagement_id: UUID,
        unit_id: UUID,
        code_id: UUID,
    ) -> str:
        code = await self._own_code(container, tenant_id, engagement_id, unit_id, code_id)
        typed = normalised(request.headers.get(CODE_HEADER, ""))
        if typed is None or not code_matches(container, typed, code):
            raise ValidationException(
                f"{CODE_HEADER} must carry this join code's code",
                extra=[{"key": CODE_HEADER, "source": "header", "message": "not this join code's code"}],
            )
        return _join_url(request, container, grouped(typed))


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


async def find_join_code(container: Container, typed: str) -> JoinCode | None:
    """The join code whose code is `typed` (normalised), issued under the current key or an
    earlier one (docs/adr/0016-secrets-and-derived-keys.md); None when there is none."""
    for key in (container.join_code_key, *container.earlier_join_code_keys):
        try:
            code: JoinCode = await container.offloop(
                container.control.join_code, JoinCode.create_id(digest_of(key, typed))
            )
        except NotFound:
            continue
        return code
    return None


def code_matches(container: Container, typed: str, code: JoinCode) -> bool:
    """Whether `typed` is the code of `code`, under whichever key it was issued."""
    return any(
        secrets.compare_digest(digest_of(key, typed), code.digest)
        for key in (container.join_code_key, *container.earlier_join_code_keys)
    )


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


@post(
    JOIN_PATH,
    exclude_from_auth=True,
    status_code=200,
    responses=problem_responses(400, 401, 503),
    tags=["auth"],
)
async def join(
    data: JSONBody[JoinIn], request: Req, container: NamedDependency[Container]
) -> Response[Joined]:
    """Join a theme day with the code from the unit's table: a token (and the HttpOnly cookie)
    for acting as that unit in that engagement until the code expires.

    Wrong codes are counted per code prefix and, with a far higher bound, per client address;
    past a limit, 429 with `Retry-After` (the text says the same wait). Unknown, revoked and
    expired codes are refused alike (401)."""
    redeemed = await redeem_join_code(request, container, data.code)
    if redeemed is None:
        raise CredentialsRefused(CODE_REFUSED)
    code, token, ttl = redeemed
    return signed_in(
        Joined(
            token=token,
            token_type="Bearer",  # noqa: S106 - the scheme's name
            expires_at=datetime.now(UTC) + ttl,
            tenant_id=code.tenant_id,
            engagement_id=code.engagement_id,
            unit_id=code.unit_id,
        ),
        token,
        ttl,
        secure=container.settings.cookie_secure,
    )


JOIN_CODE_ROUTES: list[ControllerRouterHandler] = [JoinCodeController, join]
