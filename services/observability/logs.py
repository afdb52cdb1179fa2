"""Structured logs: one JSON object a line in production, readable lines at a console.

Every line logged while a request is served carries its request id, tenant and principal:
the request middleware puts the request's scope into a context variable, and a processor
reads it when a line is written (so a line logged after authentication names who asked).
Library logs (stdlib `logging`: uvicorn, psycopg, Litestar, ours) go through the same
processors via structlog's `ProcessorFormatter`, so they are JSON too.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import IO, Any

import structlog
from litestar.types import Scope
from structlog.types import EventDict, Processor

from services.observability.request_ids import request_id_of
from services.observability.tracing import TRACE_ID_STATE
from services.settings import Settings

# The request being served in this context (set by services/observability/requests.py).
current_scope: ContextVar[Scope | None] = ContextVar("balkort_request_scope", default=None)

# Libraries whose chatter is not news at INFO.
QUIET_LOGGERS = {
    # WeasyPrint logs each page of a PDF and warns about the site sheet's screen-only rules;
    # what it cannot fetch is an error, and still shown.
    "weasyprint": logging.ERROR,
    # Our own access line replaces uvicorn's (it knows the request id, tenant and principal).
    "uvicorn.access": logging.WARNING,
}


def request_fields(scope: Scope) -> dict[str, str | None]:
    """The request id, tenant and principal of `scope` as log fields (None when not known)."""
    state: dict[str, Any] = scope.get("state", {})
    tenant = scope.get("path_params", {}).get("tenant_id")
    user = scope.get("user")
    principal = getattr(user, "user_id", None)
    return {
        "request_id": request_id_of(scope),
        "tenant_id": str(tenant) if tenant is not None else None,
        "principal": str(principal) if principal is not None else None,
        "trace_id": state.get(TRACE_ID_STATE),
    }


def add_request_context(logger: Any, method: str, event: EventDict) -> EventDict:
    """structlog processor: the current request's fields, unless the line names them itself."""
    scope = current_scope.get()
    if scope is not None:
        for key, value in request_fields(scope).items():
            event.setdefault(key, value)
    return event


def drop_color_message(logger: Any, method: str, event: EventDict) -> EventDict:
    """structlog processor: uvicorn passes its message again with terminal colours as `extra`."""
    event.pop("color_message", None)
    return event


def _processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        add_request_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        # Fields a stdlib call passes as `extra=` (the access line's method, route, status, …).
        structlog.stdlib.ExtraAdder(),
        drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
    ]


class _BalkortHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs (recognised, so a second call replaces it).
    It formats in the logging thread, where the request's context variables are visible."""


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Route structlog and stdlib logging through one formatter: JSON (`settings.log_as_json`)
    or a console renderer, to `stream` (stderr by default). Replaces what an earlier call
    installed and leaves other handlers alone (a test runner's capture, say)."""
    shared = _processors()
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if settings.log_as_json:
        final.append(structlog.processors.dict_tracebacks)
    final.append(renderer)
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    handler = _BalkortHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _BalkortHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    # uvicorn installs handlers of its own; its lines go through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return handler


def unconfigure_logging(handler: logging.Handler) -> None:
    """Removes a handler `configure_logging` installed."""
    logging.getLogger().removeHandler(handler)
