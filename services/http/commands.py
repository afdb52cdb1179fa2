"""The two moves every tenant route makes: run a command or a query against the tenant's store,
off the event loop, with the principal's provenance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from litestar import Request
from litestar.exceptions import ValidationException

from domain.provenance import Provenance
from services.application import TenantApplication
from services.bootstrap import Container
from services.http.provenance import build_provenance, occurred_at_from

T = TypeVar("T")


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
    occurred_at = await occurred_at_from(request, tenant_id)
    provenance = build_provenance(request, request.user, tenant_id, command_name, occurred_at, command_key)
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
