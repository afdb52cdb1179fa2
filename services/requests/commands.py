"""Running a command from a request: provenance from the principal and the request,
`If-Match` as the expected version, the command handed to the use cases' front door."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Final, TypeVar
from uuid import UUID

from litestar import Request
from litestar.exceptions import ValidationException

from services.bootstrap import Container
from services.requests.provenance import build_provenance, occurred_at_from
from services.usecases.bus import Command, execute

R = TypeVar("R")
Req = Request[Any, Any, Any]


def container_of(request: Req) -> Container:
    """The process's container, which the app factory put in the app's state."""
    container: Container = request.app.state.container
    return container


def expected_version(request: Req) -> int | None:
    """`If-Match: "<version>"` (the `version` a GET returned) makes the command conditional:
    409 if the aggregate moved on. Without it, concurrent writes are retried server-side."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    # ASCII digits only: str.isdigit() also takes "²", which int() does not read.
    if not (value.isascii() and value.isdigit()):
        raise ValidationException(
            'If-Match must name a version, e.g. "12"',
            extra=[{"key": "If-Match", "source": "header", "message": "not a version number"}],
        )
    return int(value)


class IfMatch:
    """The expected version is the request's `If-Match`, if any."""


IF_MATCH: Final = IfMatch()


async def run(
    request: Req,
    tenant_id: UUID,
    command: Command[R],
    command_key: str | None = None,
    *,
    expected: int | IfMatch | None = IF_MATCH,
    happened: datetime | None = None,
) -> R:
    """Run `command` in `tenant_id` as the request's principal. `command_key` names the
    command when the request carries no Idempotency-Key of its own (a page's form); a form
    names the version it was shown (`expected`) and may say on which day the thing it records
    happened (`happened`, checked by the form)."""
    occurred_at = await occurred_at_from(request, tenant_id)
    provenance = build_provenance(
        request, request.user, tenant_id, command.command_name, occurred_at, command_key
    )
    if happened is not None:
        provenance = replace(provenance, occurred_at=happened)
    version = expected_version(request) if isinstance(expected, IfMatch) else expected
    return await execute(container_of(request), tenant_id, command, provenance, version)
