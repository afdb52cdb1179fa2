"""Provenance for commands given over HTTP, by the API or a page's form: actor and role,
tenant, times, command id, request id.

Route and page modules call `build_provenance` (or take the `provenance_for` dependency the app
provides).

When an action happened, if earlier than now, comes from the `X-Occurred-At` header
(`occurred_at_from`). It exists so that what was said at a meeting can be typed in afterwards,
so only those who take part in a meeting under their own account may send it: the consultancy,
its consultants, the client's admins and participants signed in as themselves. A unit's table
acting by join code acts on the theme day itself, and an auditor only reads: both are refused
(403). The moment must lie in a sane window: not in the future beyond a little clock skew, not
before the engagement's preparatory meeting (less a day) for an action in an engagement, and
never further back than `PAST_HORIZON`. Anything else is refused with 400 naming the header.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

import msgspec
from litestar import Request
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.types import Message, Scope

from domain.provenance import Provenance
from domain.roles import Role
from services.auth.principal import Principal
from services.controlplane import PLATFORM_ID
from services.observability.request_ids import request_id_of
from services.observability.tracing import TRACE_ID_STATE
from services.usecases.reads import engagement_view

IDEMPOTENCY_KEY_HEADER = b"idempotency-key"


def idempotency_key(scope: Any) -> str | None:
    """The request's `Idempotency-Key` header, if any."""
    for name, value in scope.get("headers", ()):
        if name.lower() == IDEMPOTENCY_KEY_HEADER:
            return bytes(value).decode("latin-1").strip() or None
    return None


REQUEST_ID_HEADER = "X-Request-ID"
OCCURRED_AT_HEADER = "X-Occurred-At"
# Who may say an action happened before it was recorded: whoever sits in a meeting under an
# account of their own and may type in its notes afterwards.
MAY_DATE = frozenset({Role.CONSULTANCY_ADMIN, Role.CONSULTANT, Role.CLIENT_ADMIN, Role.PARTICIPANT})
# Nothing the product records reaches further back: a client brings along a few past
# engagements when it starts, not decades of them.
PAST_HORIZON = timedelta(days=10 * 366)
# An engagement's preparatory meeting may be dated by day only, or in another time zone.
BEFORE_PREPARATION = timedelta(days=1)
# Client clocks drift; a note "from the future" beyond this is a mistake, not drift.
CLOCK_SKEW = timedelta(minutes=5)
# Command ids derived from an Idempotency-Key: the same retried request names the same command.
COMMAND_NAMESPACE = UUID("3f0e9a4c-5b1d-5c2e-8f3a-6d7b8c9d0e1f")

ProvenanceFor = Callable[..., Provenance]
"""`provenance_for(tenant_id, command_name, occurred_at=None) -> Provenance`."""


def correlation_id_of(scope: Scope) -> str:
    """What joins a request's events to the rest of its story: the W3C trace id of the trace
    the request belongs to (the caller's `traceparent`, or the span this process started),
    else the request id (docs/adr/0023)."""
    trace_id = scope.get("state", {}).get(TRACE_ID_STATE)
    return str(trace_id) if trace_id else request_id_of(scope)


async def echo_request_id(message: Message, scope: Scope) -> None:
    """`before_send` hook: every response, errors included, carries the request id."""
    if message["type"] == "http.response.start":
        headers = list(message.get("headers", ()))
        headers.append((REQUEST_ID_HEADER.lower().encode(), request_id_of(scope).encode("latin-1")))
        message["headers"] = headers


def _header_problem(message: str) -> ValidationException:
    return ValidationException(
        f"{OCCURRED_AT_HEADER} {message}",
        extra=[{"key": OCCURRED_AT_HEADER, "source": "header", "message": message}],
    )


def may_date(principal: Principal, tenant_id: UUID) -> bool:
    """Whether `principal` may say when an action in `tenant_id` happened (see the module)."""
    return not principal.is_unit_scoped and principal.role_in(tenant_id) in MAY_DATE


async def occurred_at_from(request: Request[Any, Any, Any], tenant_id: UUID) -> datetime | None:
    """When the command in `request` happened, from its `X-Occurred-At` header; None without one.

    Refused with 403 for a principal who may not date actions, and with 400 (naming the
    header) for a moment that is not an ISO 8601 date-time with a time zone or lies outside
    the window the module describes. For a command in an engagement, the window starts at the
    engagement's preparatory meeting, read from its read model.
    """
    raw = request.headers.get(OCCURRED_AT_HEADER.lower())
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _header_problem("not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise _header_problem("add a time zone, e.g. Z")
    if not may_date(request.user, tenant_id):
        raise PermissionDeniedException(
            f"{OCCURRED_AT_HEADER}: only the consultancy, the client's admins and signed-in "
            "participants may record an action as having happened earlier."
        )
    now = datetime.now(UTC)
    if moment > now + CLOCK_SKEW:
        raise _header_problem("lies in the future")
    earliest = now - PAST_HORIZON
    engagement_id = request.path_params.get("engagement_id")
    if isinstance(engagement_id, UUID):
        prepared_at = (
            await engagement_view(request.app.state.container, tenant_id, engagement_id)
        ).prepared_at
        if prepared_at is not None:
            earliest = max(earliest, prepared_at - BEFORE_PREPARATION)
    if moment < earliest:
        raise _header_problem(f"lies before {earliest.isoformat()}, earlier than this can have happened")
    return moment


def build_provenance(
    request: Request[Any, Any, Any],
    principal: Principal,
    tenant_id: UUID,
    command_name: str,
    occurred_at: datetime | None = None,
    command_key: str | None = None,
) -> Provenance:
    """Provenance for a command the principal gives in `tenant_id` through this request.

    `occurred_at` is when it happened, if earlier than now (paper notes typed in later);
    it must carry a timezone, may not lie in the future nor beyond `PAST_HORIZON`, and only a
    principal who `may_date` may give it. The command id derives from
    `command_key` (a page form's own key) or else the Idempotency-Key when there is one, so
    a retried command keeps its id.
    """
    now = datetime.now(UTC)
    role = principal.role_in(tenant_id)
    if role is None:
        raise PermissionDeniedException("Not allowed in this tenant.")
    if occurred_at is not None:
        if occurred_at.tzinfo is None:
            raise ValidationException(
                extra=[{"key": "occurred_at", "message": "needs a timezone offset", "source": "body"}]
            )
        if not may_date(principal, tenant_id):
            raise PermissionDeniedException("Not allowed to record an action as having happened earlier.")
        if occurred_at > now + CLOCK_SKEW:
            raise ValidationException(
                extra=[{"key": "occurred_at", "message": "lies in the future", "source": "body"}]
            )
        if occurred_at < now - PAST_HORIZON:
            raise ValidationException(
                extra=[{"key": "occurred_at", "message": "lies too far in the past", "source": "body"}]
            )
    key = command_key or idempotency_key(request.scope)
    # Scoped like the idempotency key itself (who, what, where): the same key sent to another
    # route is another command, and must not name the things the first one created.
    scope = f"{principal.user_id}\x1f{request.method}\x1f{request.url.path}\x1f{key}"
    command_id = uuid5(COMMAND_NAMESPACE, scope) if key else uuid4()
    return Provenance(
        actor_id=principal.user_id,
        actor_role=role,
        tenant_id=tenant_id,
        occurred_at=occurred_at or now,
        recorded_at=now,
        command_id=command_id,
        command_name=command_name,
        correlation_id=correlation_id_of(request.scope),
    )


def own_account_provenance(
    request: Request[Any, Any, Any], principal: Principal, command_name: str
) -> Provenance:
    """Provenance for a person acting on their own account, on the platform: under their
    platform role, or else a role they hold in an organisation (the account is theirs whatever
    the role)."""
    held = principal.platform_role or min(principal.memberships.values(), default=Role.PARTICIPANT)
    acting = msgspec.structs.replace(principal, memberships={**principal.memberships, PLATFORM_ID: held})
    return build_provenance(request, acting, PLATFORM_ID, command_name)
