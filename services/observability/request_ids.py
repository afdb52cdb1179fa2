"""The id of a request, in the logs and on its response: the client's `X-Request-ID` when it is
sane, else a fresh one, kept in the request's state so every line and the response agree."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from litestar.types import Scope

_REQUEST_ID_STATE = "balkort_request_id"
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


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
