"""The Litestar app: authentication, guards, CSRF, problem details, idempotency, OpenAPI, routes.

Route modules declare handlers and export a list of them; `create_app` registers the list.
Handlers receive what they need by dependency injection:

    @post("/api/v1/tenants/{tenant_id:uuid}/units", opt={"roles": {Role.CONSULTANT}})
    async def add_unit(
        tenant_id: UUID, data: NewUnit, container: Container, provenance_for: ProvenanceFor
    ) -> UnitCreated:
        provenance = provenance_for(tenant_id, "AddUnit")
        ...

`principal` (a Principal) is injectable too, as is the request for `build_provenance`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import anyio
from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.plugins.htmx import HTMXPlugin

from domain.provenance import Provenance
from services.auth.guards import CSRFMiddleware, join_scope_guard, principal_from, tenant_guard
from services.auth.jwt import build_jwt_auth
from services.auth.principal import Principal
from services.bootstrap import Container, build_container
from services.http.api_reference import ApiReference
from services.http.auditor_access import AuditorAccessMiddleware
from services.http.canonical_ids import CanonicalIdsMiddleware
from services.http.edge import JSONRequest, edge_first
from services.http.idempotency import IdempotencyMiddleware
from services.http.openapi import ContractDocument
from services.http.problems import PROBLEM_HANDLERS
from services.http.provenance import ProvenanceFor, build_provenance, echo_request_id, request_id_of
from services.http.rate_limits import rate_limit_config, rate_limit_stores
from services.http.security_headers import security_headers
from services.live import build_channels_plugin, publisher
from services.observability.metrics import Metrics
from services.observability.requests import observe_first
from services.observability.routes import METRICS_STATE, OPERATOR_ROUTES
from services.observability.tracing import build_tracing
from services.settings import Settings

__all__ = ["Container", "ProvenanceFor", "build_provenance", "create_app", "request_id_of"]

API_VERSION = "0.1.0"


def provide_container(request: Request[Any, Any, Any]) -> Container:
    container: Container = request.app.state.container
    return container


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return principal_from(request)


def provide_provenance_for(request: Request[Any, Any, Any]) -> ProvenanceFor:
    principal = principal_from(request)

    def provenance_for(tenant_id: UUID, command_name: str, occurred_at: datetime | None = None) -> Provenance:
        return build_provenance(request, principal, tenant_id, command_name, occurred_at)

    return provenance_for


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    """The Balkort HTTP app over `container` (built from `settings` when not given).

    The app owns the container from here on: its shutdown hook closes it, on the event loop
    that served requests (the Redis client's connections belong to that loop).
    """
    # Imported here: route modules import this module for `build_provenance`.
    from services.http.admin_routes import ADMIN_ROUTES
    from services.http.auth_routes import AUTH_ROUTES
    from services.http.engagement_routes import ENGAGEMENT_ROUTES
    from services.http.instrument_routes import INSTRUMENT_ROUTES
    from services.http.join_code_routes import JOIN_CODE_ROUTES
    from services.http.member_routes import MEMBER_ROUTES
    from services.web.errors import page_aware
    from services.web.rendering import template_config
    from services.web.routes import web_routers

    settings = settings or (container.settings if container is not None else Settings.from_environ())
    the_container = container if container is not None else build_container(settings)
    jwt_auth = build_jwt_auth(settings)
    # Live updates: what the projector changes is announced on the channels (SSE listens).
    channels = build_channels_plugin(settings)
    the_container.projections.on_caught_up = publisher(channels)
    # Traces go to the configured collector (none: no tracing); docs/adr/0023.
    tracing = build_tracing(settings)

    @asynccontextmanager
    async def keep_views_current(app: Litestar) -> AsyncIterator[None]:
        # The projector runs inside every API process: commands of this process wake it at
        # once; a slow poll picks up what other processes wrote.
        async with anyio.create_task_group() as group:
            await the_container.projections.start(group)
            try:
                yield
            finally:
                group.cancel_scope.cancel()
        await the_container.close()
        # Off the loop: flushing the last spans is an HTTP request with its own timeout.
        await anyio.to_thread.run_sync(tracing.close)

    return Litestar(
        route_handlers=[
            *OPERATOR_ROUTES,
            *AUTH_ROUTES,
            *ADMIN_ROUTES,
            *MEMBER_ROUTES,
            *INSTRUMENT_ROUTES,
            *ENGAGEMENT_ROUTES,
            *JOIN_CODE_ROUTES,
            *web_routers(),
        ],
        state=State(
            {"container": the_container, "jwt_auth": jwt_auth, METRICS_STATE: Metrics(the_container)}
        ),
        dependencies={
            "container": Provide(provide_container, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "provenance_for": Provide(provide_provenance_for, sync_to_thread=False),
        },
        guards=[tenant_guard, join_scope_guard],
        stores=rate_limit_stores(settings, the_container.redis),
        middleware=[
            # First after routing: one spelling of every id in a path (docs/adr/0014).
            CanonicalIdsMiddleware,
            CSRFMiddleware,
            # Inside authentication, so a signed-in caller is counted as who it is, per tenant.
            rate_limit_config(settings).middleware,
            AuditorAccessMiddleware,
            DefineMiddleware(
                IdempotencyMiddleware,
                keys=the_container.idempotency,
                ttl_seconds=settings.idempotency_ttl_seconds,
            ),
        ],
        exception_handlers=page_aware(PROBLEM_HANDLERS),
        before_send=[echo_request_id, security_headers(settings)],
        # The edge's checks (header size, JSON bodies) run before authentication reads a header.
        # Observing comes last, so it wraps both: refused requests are logged and counted too.
        on_app_init=[jwt_auth.on_app_init, edge_first, observe_first(tracing)],
        request_class=JSONRequest,
        plugins=[channels, HTMXPlugin()],
        template_config=template_config(),
        lifespan=[keep_views_current],
        openapi_config=OpenAPIConfig(
            title="Balkort",
            version=API_VERSION,
            path="/schema",
            description=(
                "Balkortmetoden as a service: every step of a collaboration engagement kept as events.\n\n"
                "Commands accept an `Idempotency-Key` header (a retry returns the first answer and records "
                "nothing new) and an `X-Occurred-At` header (ISO 8601 with a time zone) for actions recorded "
                "after they happened, e.g. a theme day's paper notes typed in a week later. Errors are "
                "problem details (RFC 9457)."
            ),
            use_handler_docstrings=True,
            # The browsable reference's script comes from the app too (services/web/static/vendor).
            render_plugins=[ApiReference(), ContractDocument()],
        ),
        # Logging is the process's, set up once by the command that runs it (services/cli.py,
        # services/observability/logs.py): lines are formatted where they are logged, so each
        # carries its request's id, tenant and principal.
        logging_config=None,
    )
