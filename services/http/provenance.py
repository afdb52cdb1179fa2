"""Provenance for commands given over HTTP: actor and role, tenant, times, command id, request id.

Route modules call `build_provenance` (or take the `provenance_for` dependency the app provides).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

from litestar import Request
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.types import Message, Scope

from domain.provenance import Provenance
from services.auth.principal import Principal
from services.http.idempotency import idempotency_key

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_STATE = "balkort_request_id"
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Client clocks drift; a note "from the future" beyond this is a mistake, not drift.
CLOCK_SKEW = timedelta(minutes=5)
# Command ids derived from an Idempotency-Key: the same retried request names the same command.
COMMAND_NAMESPACE = UUID("3f0e9a4c-5b1d-5c2e-8f3a-6d7b8c9d0e1f")

ProvenanceFor = Callable[..., Provenance]
"""`provenance_for(tenant_id, command_name, occurred_at=None) -> Provenance`."""


def request_id_of(scope: Scope) -> str:
    """The request's id: the client's `X-Request-ID` when it is sane, else a fresh one."""
    state: dict[str, Any] = scope.setdefault("state", {})
    rid = state.get(_REQUEST_ID_STATE)
    if rid is None:
        given = next(
            (bytes(v).decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"x-request-id"),
            "",
        )
        rid = given if _ACCEPTABLE_REQUEST_ID.match(given) else uuid4().hex
        state[_REQUEST_ID_STATE] = rid
    return str(rid)


async def echo_request_id(message: Message, scope: Scope) -> None:
    """`before_send` hook: every response, errors included, carries the request id."""
    if message["type"] == "http.response.start":
        headers = list(message.get("headers", ()))
        headers.append((REQUEST_ID_HEADER.lower().encode(), request_id_of(scope).encode("latin-1")))
        message["headers"] = headers


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
    it must carry a timezone and may not lie in the future. The command id derives from
    `command_key` (a page form's own key) or else the Idempotency-Key when there is one, so
    a retried command keeps its id.
    """
    now = datetime.now(UTC)
    if occurred_at is not None:
        if occurred_at.tzinfo is None:
            raise ValidationException(
                extra=[{"key": "occurred_at", "message": "needs a timezone offset", "source": "body"}]
            )
        if occurred_at > now + CLOCK_SKEW:
            raise ValidationException(
                extra=[{"key": "occurred_at", "message": "lies in the future", "source": "body"}]
            )
    role = principal.role_in(tenant_id)
    if role is None:
        raise PermissionDeniedException("Not allowed in this tenant.")
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
        correlation_id=request_id_of(request.scope),
    )
