"""Commands given from a page's form: the same commands the API gives, handed to the same front
door. The form's own key names the command, as an Idempotency-Key would, so a form sent twice
(a double click, a reload after a timeout) names the same command and records nothing new."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

from litestar import Request

from domain.errors import AlreadyExists
from services.requests.commands import IF_MATCH, IfMatch, run
from services.usecases.bus import Command

R = TypeVar("R")
FORM_KEY_FIELD = "_key"


def new_form_key() -> str:
    """A key for one rendering of a form (a hidden field `_key`)."""
    return uuid.uuid4().hex


async def submit(
    request: Request[Any, Any, Any],
    tenant_id: uuid.UUID,
    command: Command[R],
    form_key: str | None,
    *,
    expected_version: int | IfMatch | None = IF_MATCH,
    happened: datetime | None = None,
) -> R | None:
    """Run one command from a form; None when this very form was already recorded (the domain
    refuses the repeated ids the key derives). `expected_version` is the version the form was
    shown at, when it names one; `happened` when the thing recorded happened, if earlier."""
    key = form_key[:64] if form_key else None
    try:
        return await run(request, tenant_id, command, key, expected=expected_version, happened=happened)
    except AlreadyExists:
        if form_key:
            return None
        raise
