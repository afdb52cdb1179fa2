"""One spelling of every id in a path (docs/adr/0014).

The router's UUID converter reads an id however it is written: 32 hex digits without hyphens,
`{...}` in braces, upper case, `urn:uuid:...`. Left at that, one tenant (or engagement, unit,
card, ...) has many addresses, and everything keyed by the path — caches, rate limits,
idempotency scopes, logs, the auditor's access log — sees several things where there is one.

`CanonicalIdsMiddleware` runs after routing, with the path parameters as the router parsed
them. When an id in the path is not written in its canonical form (lower-case, hyphenated,
`str(UUID)`), the request goes no further:

- GET and HEAD are redirected (308) to the same path and query with every id canonical, so a
  bookmark or a hand-typed address still lands;
- every other method is refused with 400 naming the path parameter and its canonical form: a
  command is sent to the address it was given, and a redirected command would pass every
  check twice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar.enums import ScopeType
from litestar.exceptions import ValidationException
from litestar.types import ASGIApp, Receive, Scope, Send

REDIRECTED_METHODS = frozenset({"GET", "HEAD"})
# Characters a path segment may carry unescaped (RFC 3986 pchar, less the unreserved set quote keeps).
_SEGMENT_SAFE = "!$&'()*+,;=:@"


def _ids_in(scope: Scope) -> dict[UUID, str]:
    params: dict[str, Any] = scope.get("path_params") or {}
    return {value: name for name, value in params.items() if isinstance(value, UUID)}


def misspelt_ids(scope: Scope) -> tuple[str, list[tuple[str, str]]]:
    """The path with every id in it canonical, and each path parameter that was not (its name
    and canonical form); an empty list when the path is canonical already."""
    ids = _ids_in(scope)
    path = str(scope.get("path", ""))
    if not ids:
        return path, []
    segments = path.split("/")
    misspelt: list[tuple[str, str]] = []
    for i, segment in enumerate(segments):
        try:
            value = UUID(segment)
        except ValueError:
            continue
        if value in ids and segment != str(value):
            segments[i] = str(value)
            misspelt.append((ids[value], str(value)))
    return "/".join(segments), misspelt


class CanonicalIdsMiddleware:
    """Redirects a read, and refuses anything else, whose path spells an id other than canonically."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        canonical, misspelt = misspelt_ids(scope)
        if not misspelt:
            await self.app(scope, receive, send)
            return
        if scope.get("method", "GET") not in REDIRECTED_METHODS:
            raise ValidationException(
                "An id in the path is not written in its canonical form.",
                extra=[
                    {"key": name, "source": "path", "message": f"write it as {value}"}
                    for name, value in misspelt
                ],
            )
        location = "/".join(quote(segment, safe=_SEGMENT_SAFE) for segment in canonical.split("/"))
        query = bytes(scope.get("query_string", b""))
        if query:
            location = f"{location}?{query.decode('latin-1')}"
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b"", "more_body": False})
