"""Commands given from a page's form: the same application service calls as the API's. The
form's own key names the command, as an Idempotency-Key would, so a form sent twice (a double
click, a reload after a timeout) names the same command and records nothing new."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Request

from domain.errors import AlreadyExists
from domain.provenance import Provenance
from services.application import TenantApplication
from services.http.commands import execute

T = TypeVar("T")
FORM_KEY_FIELD = "_key"


def new_form_key() -> str:
    """A key for one rendering of a form (a hidden field `_key`)."""
    return uuid.uuid4().hex


async def submit(
    request: Request[Any, Any, Any],
    tenant_id: uuid.UUID,
    command_name: str,
    action: Callable[[TenantApplication, Provenance, int | None], T],
    form_key: str | None,
) -> T | None:
    """Run one command from a form; None when this very form was already recorded (the domain
    refuses the repeated ids the key derives)."""
    key = form_key[:64] if form_key else None
    try:
        return await execute(request, tenant_id, command_name, action, key)
    except AlreadyExists:
        if form_key:
            return None
        raise
