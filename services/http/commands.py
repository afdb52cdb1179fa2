"""The two moves every tenant route makes: run a command or a query against the tenant's store,
off the event loop, with the principal's provenance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from litestar import Request
from litestar.exceptions import ValidationException

from domain.provenance import Provenance
from services.application import TenantApplication
from services.bootstrap import Container
from services.http.provenance import build_provenance

T = TypeVar("T")


def _occurred_at(request: Request[Any, Any, Any]) -> datetime | None:
    raw = request.headers.get("x-occurred-at")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationException(
            "X-Occurred-At must be an ISO 8601 date-time",
            extra=[{"key": "X-Occurred-At", "source": "header", "message": "not an ISO 8601 date-time"}],
        ) from None
    if moment.tzinfo is None:
        raise ValidationException(
            "X-Occurred-At needs a time zone",
            extra=[{"key": "X-Occurred-At", "source": "header", "message": "add a time zone, e.g. Z"}],
        )
    return moment


def _expected_version(request: Request[Any, Any, Any]) -> int | None:
    """`If-Match: "<version>"` (the `version` a GET returned) makes the command conditional:
    409 if the aggregate moved on. Without it, concurrent writes are retried server-side."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise ValidationException(
            'If-Match must name a version, e.g. "12"',
            extra=[{"key": "If-Match", "source": "header", "message": "not a version number"}],
        )
    return int(value)


async def execute(
    request: Request[Any, Any, Any],
    tenant_id: UUID,
    command_name: str,
    action: Callable[[TenantApplication, Provenance, int | None], T],
    command_key: str | None = None,
) -> T:
    """Run one command: provenance from the principal and request, `If-Match` as the expected
    version, the tenant's application leased off the event loop. `command_key` names the
    command when the request carries no Idempotency-Key of its own (a page's form)."""
    container: Container = request.app.state.container
    provenance = build_provenance(
        request, request.user, tenant_id, command_name, _occurred_at(request), command_key
    )
    expected = _expected_version(request)
    result = await container.offloop(
        container.tenants.call, tenant_id, lambda app: action(app, provenance, expected)
    )
    container.projections.notify(tenant_id)
    return result


async def query(
    request: Request[Any, Any, Any], tenant_id: UUID, read: Callable[[TenantApplication], T]
) -> T:
    container: Container = request.app.state.container
    return await container.offloop(container.tenants.call, tenant_id, read)
