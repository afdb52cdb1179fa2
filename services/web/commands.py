"""Commands given from a page's form: the same application service calls as the API's, with
the form's own key as the idempotency key, so a form sent twice (a double click, a reload
after a timeout) names the same command and records nothing new."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Request

from domain.errors import AlreadyExists
from domain.provenance import Provenance
from services.application import TenantApplication
from services.http.commands import execute
from services.http.idempotency import HEADER as IDEMPOTENCY_HEADER

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
    if form_key:
        headers = [(k, v) for k, v in request.scope["headers"] if k.lower() != IDEMPOTENCY_HEADER]
        headers.append((IDEMPOTENCY_HEADER, form_key[:64].encode("latin-1", "replace")))
        request.scope["headers"] = headers
    try:
        return await execute(request, tenant_id, command_name, action)
    except AlreadyExists:
        if form_key:
            return None
        raise
