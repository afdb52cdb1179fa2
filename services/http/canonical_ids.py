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

A tenant's slug (`soeby-kommune`, as the README and the CLI name tenants) is one more spelling
of its id: the id is derived from the slug (`Tenant.create_id`). The router does not know a
path with a slug where the tenant id goes, so `TenantSlugs` answers there, in place of the 404
of an unknown path: for a caller who may use the tenant, a read is redirected to the path with
the id (308 for the API, 307 for the pages, whose answer depends on who asks) and any other
method is refused with 400 naming the id, as above. Everyone else, and every slug no tenant
has, gets the 404 the path had: a slug tells nobody who is a client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

from litestar import Request, Response
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, ValidationException
from litestar.middleware.authentication import AbstractAuthenticationMiddleware
from litestar.middleware.base import DefineMiddleware
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Receive, Scope, Send

from domain.errors import NotFound
from domain.tenant import SLUG, Tenant
from services.auth.principal import Principal

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


logger = logging.getLogger("balkort.http")
# A tenant's slug where the id goes: under the API's tenants and the pages' `/t/`.
TENANT_BY_SLUG = re.compile(r"^(?P<prefix>/api/v1/tenants/|/t/)(?P<slug>[^/]+)(?P<rest>/.*)?$")
PAGES_PREFIX = "/t/"
ExceptionHandler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


def slug_in(path: str) -> tuple[str, str, str] | None:
    """(prefix, slug, rest) when `path` names a tenant by a slug rather than an id."""
    match = TENANT_BY_SLUG.match(path)
    if match is None:
        return None
    slug = match["slug"]
    try:
        UUID(slug)
    except ValueError:
        return (match["prefix"], slug, match["rest"] or "") if SLUG.match(slug) else None
    return None


async def _principal(request: Request[Any, Any, Any]) -> Principal | None:
    """Who sent the request, as the app's authentication reads it; None when nobody is signed in."""
    define: DefineMiddleware = request.app.state.jwt_auth.middleware
    middleware = cast(AbstractAuthenticationMiddleware, define(request.app))
    try:
        result = await middleware.authenticate_request(request)
    except NotAuthorizedException:
        return None
    return result.user if isinstance(result.user, Principal) else None


async def _tenant_of(request: Request[Any, Any, Any], slug: str) -> UUID | None:
    """The id of the live tenant with this slug, if the caller may use it."""
    principal = await _principal(request)
    tenant_id = Tenant.create_id(slug)
    if principal is None or not principal.can_access(tenant_id):
        return None
    container = request.app.state.container
    try:
        await container.offloop(container.control.tenant, tenant_id)
    except NotFound:
        return None
    return tenant_id


class _SlugAnswer(ASGIResponse):
    """The answer to a path the router did not know: a redirect (or refusal) naming the tenant's
    id for a caller who may use it, and otherwise the answer the path had."""

    def __init__(
        self,
        request: Request[Any, Any, Any],
        found: tuple[str, str, str],
        unknown: ASGIResponse,
        refuse: Callable[[ValidationException], ASGIResponse],
    ) -> None:
        super().__init__(status_code=unknown.status_code)
        self.request, self.found, self.unknown, self.refuse = request, found, unknown, refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix, slug, rest = self.found
        try:
            tenant_id = await _tenant_of(self.request, slug)
        except Exception:  # the stores are away: the path is answered as it was before slugs
            logger.warning("could not look up the tenant of slug %r", slug, exc_info=True)
            tenant_id = None
        if tenant_id is None:
            await self.unknown(scope, receive, send)
            return
        path = f"{prefix}{tenant_id}{rest}"
        if scope.get("method", "GET") not in REDIRECTED_METHODS:
            refusal = ValidationException(
                "The tenant in the path is named by its slug; send the command to its id.",
                extra=[{"key": "tenant_id", "source": "path", "message": f"write it as {tenant_id}"}],
            )
            await self.refuse(refusal)(scope, receive, send)
            return
        location = "/".join(quote(segment, safe=_SEGMENT_SAFE) for segment in path.split("/"))
        query = bytes(scope.get("query_string", b""))
        if query:
            location = f"{location}?{query.decode('latin-1')}"
        await send(
            {
                "type": "http.response.start",
                "status": 307 if prefix == PAGES_PREFIX else 308,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"content-length", b"0"),
                    # Who asks decides the answer: no shared cache may keep it.
                    (b"cache-control", b"private, no-store"),
                    (b"vary", b"Authorization, Cookie"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class _Deferred(Response[None]):
    """A response decided when it is sent: the handler of an exception runs synchronously,
    while finding who asks and whether the tenant exists waits on stores."""

    def __init__(self, make: Callable[..., ASGIResponse]) -> None:
        super().__init__(None)
        self.make = make

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        return self.make(*args, **kwargs)


def _handler_for(handlers: dict[Any, Any], exc: HTTPException) -> ExceptionHandler | None:
    """The handler the app would choose for `exc`: by its status code first, then by its class."""
    chosen = handlers.get(exc.status_code) or next(
        (handlers[c] for c in type(exc).__mro__ if c in handlers), None
    )
    return cast(ExceptionHandler | None, chosen)


def tenant_slugs(app_config: AppConfig) -> AppConfig:
    """`on_app_init` hook: paths the router does not know are looked at for a tenant's slug
    before they are answered 404 (see the module)."""
    handlers = dict(app_config.exception_handlers)
    unknown_path = _handler_for(handlers, NotFoundException())
    refused = _handler_for(handlers, ValidationException())
    if unknown_path is None or refused is None:
        return app_config

    def on_not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        answer = unknown_path(request, exc)
        found = slug_in(str(request.scope.get("path", "")))
        if found is None or request.scope.get("route_handler") is not None:
            return answer

        def make(*args: Any, **kwargs: Any) -> ASGIResponse:
            def refuse(refusal: ValidationException) -> ASGIResponse:
                return refused(request, refusal).to_asgi_response(*args, **kwargs)

            return _SlugAnswer(request, found, answer.to_asgi_response(*args, **kwargs), refuse)

        return _Deferred(make)

    # Where a handler is registered by status code, it is the one the app chooses for a 404.
    handlers[404 if 404 in handlers else NotFoundException] = on_not_found
    app_config.exception_handlers = handlers
    return app_config
