"""The app factory: one Litestar app with the API (`services.http`) and the pages
(`services.web`) mounted side by side, over one container.

It stands above both adapters, which import neither the other: here the API's routes and the
page routers are mounted, the app-wide middleware set (canonical ids, CSRF, rate limits, the
auditor's access log, idempotency), the exception handlers installed (pages get the
page-aware wrapper, which answers a page with a page), and templates, static files, live
updates and the OpenAPI document configured. `balkort serve`, the tests and the benches build
the app here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.htmx import HTMXPlugin

from services.auth.guards import CSRFMiddleware, join_scope_guard, tenant_guard
from services.auth.jwt import build_jwt_auth
from services.bootstrap import Container, build_container
from services.http.app import api_dependencies, api_routes, openapi_config
from services.http.auditor_access import AuditorAccessMiddleware
from services.http.canonical_ids import CanonicalIdsMiddleware, tenant_slugs
from services.http.edge import JSONRequest, edge_first
from services.http.idempotency import IdempotencyMiddleware
from services.http.security_headers import security_headers
from services.live import build_channels_plugin, publisher
from services.observability.metrics import Metrics
from services.observability.requests import observe_first
from services.observability.routes import METRICS_STATE
from services.observability.tracing import build_tracing
from services.requests.problems import PROBLEM_HANDLERS
from services.requests.provenance import echo_request_id
from services.requests.rate_limits import rate_limit_config, rate_limit_stores
from services.settings import Settings
from services.web.errors import page_aware
from services.web.rendering import template_config
from services.web.routes import web_routers

__all__ = ["create_app"]


def follow_everything(container: Container) -> Callable[[], object]:
    return lambda: container.outbox.follow_all(t.id for t in container.control.tenants())


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    """The Balkort app (the API and the pages) over `container` (built from `settings` when not given).

    The app owns the container from here on: its shutdown hook closes it, on the event loop
    that served requests (the Redis client's connections belong to that loop).
    """
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
            if settings.in_process_projection == "all":
                # Where this process projects everything, it sends the outbox's messages too;
                # otherwise `balkort projector` does (docs/adr/0030).
                group.start_soon(the_container.mail.run, follow_everything(the_container))
            try:
                yield
            finally:
                group.cancel_scope.cancel()
        await the_container.close()
        # Off the loop: flushing the last spans is an HTTP request with its own timeout.
        await anyio.to_thread.run_sync(tracing.close)

    return Litestar(
        route_handlers=[*api_routes(), *web_routers()],
        state=State(
            {"container": the_container, "jwt_auth": jwt_auth, METRICS_STATE: Metrics(the_container)}
        ),
        dependencies=api_dependencies(),
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
        # A path the router does not know is looked at for a tenant's slug before it is answered
        # 404 (services/http/canonical_ids.py); observing wraps everything, refusals included.
        on_app_init=[jwt_auth.on_app_init, edge_first, tenant_slugs, observe_first(tracing)],
        request_class=JSONRequest,
        plugins=[channels, HTMXPlugin()],
        template_config=template_config(),
        lifespan=[keep_views_current],
        openapi_config=openapi_config(),
        # Logging is the process's, set up once by the command that runs it (services/cli.py,
        # services/observability/logs.py): lines are formatted where they are logged, so each
        # carries its request's id, tenant and principal.
        logging_config=None,
    )
