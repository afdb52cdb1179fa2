"""The middleware every request passes first: its context for logs, its span, its latency.

It runs outside authentication (so refused requests are measured and logged too) and wraps
what it calls in Litestar's exception handling, so an error raised further in reaches it as
the problem response the client gets, status and all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar._asgi.utils import wrap_in_exception_handler
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.middleware.base import DefineMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.trace import Span, SpanKind, StatusCode, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.observability.logs import current_scope, request_fields
from services.observability.metrics import observe_request
from services.observability.tracing import TRACE_ID_STATE, Tracing, trace_id_from

access_log = logging.getLogger("balkort.access")
# Probes answer every few seconds per pod: their lines are kept for debugging only.
PROBE_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
_PROPAGATOR = TraceContextTextMapPropagator()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class ObservedRequests:
    """Binds the request to the logging context, traces it (when tracing is on), counts it."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = wrap_in_exception_handler(app=app)
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        route = scope.get("path_template") or scope["path"]
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        bound = current_scope.set(scope)
        try:
            with self._span(scope, method, route) as span:
                try:
                    await self.app(scope, receive, observed)
                finally:
                    if span is not None:
                        _finish(span, scope, status)
        finally:
            observe_request(method, route, status, started)
            access_log.log(
                logging.DEBUG if route in PROBE_ROUTES else logging.INFO,
                "%s %s %d",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )
            current_scope.reset(bound)

    @contextmanager
    def _span(self, scope: Scope, method: str, route: str) -> Iterator[Span | None]:
        traceparent = _header(scope, b"traceparent")
        state: dict[str, Any] = scope.setdefault("state", {})
        tracer = self.tracing.tracer
        if tracer is None:
            # Not tracing here, but the caller may be: its trace still names what is recorded.
            trace_id = trace_id_from(traceparent)
            if trace_id is not None:
                state[TRACE_ID_STATE] = trace_id
            yield None
            return
        carrier = {"traceparent": traceparent or "", "tracestate": _header(scope, b"tracestate") or ""}
        with tracer.start_as_current_span(
            f"{method} {route}",
            context=_PROPAGATOR.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route, "url.path": scope["path"]},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            state[TRACE_ID_STATE] = format_trace_id(span.get_span_context().trace_id)
            yield span


def _finish(span: Span, scope: Scope, status: int) -> None:
    fields = request_fields(scope)
    span.set_attribute("http.response.status_code", status)
    span.set_attribute("balkort.request_id", fields["request_id"] or "")
    if fields["tenant_id"]:
        span.set_attribute("balkort.tenant_id", fields["tenant_id"])
    if fields["principal"]:
        span.set_attribute("enduser.id", fields["principal"])
    if status >= 500:
        span.set_status(StatusCode.ERROR)


def observe_first(tracing: Tracing) -> Any:
    """`on_app_init` hook, registered last: the observing middleware wraps every other one
    (the edge's checks and authentication included)."""

    def hook(app_config: AppConfig) -> AppConfig:
        app_config.middleware.insert(0, DefineMiddleware(ObservedRequests, tracing=tracing))
        return app_config

    return hook
