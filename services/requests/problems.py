"""Errors as RFC 9457 problem details (`application/problem+json`).

Every error the API returns has the same shape: `type`, `title`, `status`, `detail`, plus
`errors` (one entry per offending field) for invalid input and, when a command broke a rule of
the method, `rule` (its kind), `code` (the rule itself, stable: `domain.refusals`), `params`
(its parts, as JSON) and `state` (what stands now). `detail` is the English said from `code`
and `params`; a client acts on those, not on the words.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import msgspec
import psycopg
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import InternalError as StoreInternalError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from eventsourcing.persistence import RecordConflictError
from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from domain.errors import DomainError, Erased, NotFound, NotPermitted
from projections.backends import TenantErased, ViewsNotReady
from services.persistence.keys import KeyUnwrapError
from services.report_pdf import ReportsBusy
from services.requests.field_errors import FieldError, field_errors
from services.tenancy import TenantStoresBusy, UnknownTenant

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:balkort:problem:"
logger = logging.getLogger("balkort.http")


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem detail."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None
    rule: str | None = None
    code: str | None = None
    params: dict[str, str | int | list[str]] | None = None
    state: str | None = None


def problem_type(name: str) -> str:
    return f"{TYPE_PREFIX}{name}"


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    name: str | None = None,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    rule: str | None = None,
    code: str | None = None,
    params: dict[str, str | int | list[str]] | None = None,
    state: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    """A problem-details response; `name` picks the problem type (`about:blank` without one)."""
    problem = Problem(
        type=problem_type(name) if name else "about:blank",
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=errors,
        rule=rule,
        code=code,
        params=params,
        state=state,
    )
    return Response(
        content=msgspec.json.encode(problem), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def problem_bytes(status: int, detail: str, *, name: str | None = None) -> bytes:
    """The encoded body of a problem, for code below Litestar's response layer (ASGI middleware)."""
    return msgspec.json.encode(
        Problem(
            type=problem_type(name) if name else "about:blank",
            title=HTTPStatus(status).phrase,
            status=status,
            detail=detail,
        )
    )


_STATUS_DESCRIPTIONS = {
    400: "The request body or a parameter is invalid; `errors` names each field.",
    401: "Not signed in, or the token is invalid or expired.",
    403: "Signed in, but not allowed to do this here.",
    404: "No such resource.",
    409: (
        "A rule of the method forbids this now (`rule`, `code`, `params`, `state`), "
        "or a concurrent change got there first."
    ),
    410: "The client organisation was erased; nothing of it can be read or changed any more.",
    422: "The Idempotency-Key was used before with a different request body.",
    429: "Too many requests (or wrong join codes); retry after `Retry-After` seconds.",
    503: "A backing service is unavailable; retry after `Retry-After` seconds.",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI declarations of the problem responses a route can return, for `responses=`.

    429 is always among them: every route under the API is rate limited
    (`services/requests/rate_limits.py`)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_STATUS_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in sorted({*statuses, 429})
    }


def on_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    errors = field_errors(exc.extra)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or exc.detail
    return problem_response(400, detail, name="invalid-request", title="Invalid request", errors=errors)


def on_client_error(_: Request[Any, Any, Any], exc: ClientException) -> Response[bytes]:
    if exc.status_code == 400:
        # A body that is not JSON at all has no field to blame; the body itself is the field.
        return problem_response(
            400,
            exc.detail,
            name="invalid-request",
            title="Invalid request",
            errors=[FieldError(field="body", message=exc.detail)],
        )
    return on_http_error(_, exc)


def on_domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    # An erased client organisation is gone for good, for every process at once: 410.
    status = 410 if isinstance(exc, Erased) else 404 if isinstance(exc, NotFound) else 409
    if isinstance(exc, NotPermitted):
        # The rule of who may change whose role (docs/adr/0017): the caller's role forbids it.
        status = 403
    params = {key: list(value) if isinstance(value, tuple) else value for key, value in exc.params.items()}
    return problem_response(
        status,
        exc.message,
        name=exc.rule.replace("_", "-"),
        rule=exc.rule,
        code=exc.code,
        params=params,
        state=exc.state,
    )


def on_conflict(_: Request[Any, Any, Any], exc: RecordConflictError) -> Response[bytes]:
    return problem_response(
        409,
        "Someone else changed this at the same time; reload and try again.",
        name="concurrent-modification",
        title="Concurrent modification",
        rule="concurrent_modification",
    )


class CredentialsRefused(NotAuthorizedException):
    """401 for a sign-in (password or join code) that did not match: its detail says what the
    person typing should do, instead of asking them to sign in."""


def on_not_authorized(_: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[bytes]:
    detail = exc.detail if isinstance(exc, CredentialsRefused) else "Sign in first, or sign in again."
    return problem_response(401, detail, headers={"WWW-Authenticate": 'Bearer realm="balkort"'})


def on_permission_denied(_: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[bytes]:
    return problem_response(403, exc.detail if exc.detail != "Forbidden" else "Not allowed here.")


def on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    headers = dict(exc.headers) if exc.headers else None
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if exc.detail and exc.detail != phrase else None
    if exc.status_code >= 500:
        logger.error("HTTP %s: %s", exc.status_code, exc.detail)
        detail = None
    return problem_response(exc.status_code, detail, headers=headers)


def on_too_many(_: Request[Any, Any, Any], exc: TooManyRequestsException) -> Response[bytes]:
    headers = dict(exc.headers) if exc.headers else {}
    if "Retry-After" not in headers:
        # The rate-limit middleware says when its window resets; clients look for Retry-After.
        reset = next((v for k, v in headers.items() if k.lower() == "ratelimit-reset"), "1")
        headers["Retry-After"] = str(max(1, int(reset))) if reset.isdigit() else "1"
    detail = exc.detail if exc.detail and exc.detail != "Too Many Requests" else "Slow down."
    return problem_response(429, detail, name="rate-limited", title="Too many requests", headers=headers)


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "Something went wrong on our side; it has been logged.")


def on_unknown_tenant(_: Request[Any, Any, Any], exc: UnknownTenant) -> Response[bytes]:
    # Only principals who may act in every tenant get this far (the guard answers 403 to the
    # rest), so saying the tenant does not exist reveals nothing.
    return problem_response(404, "No such client organisation.", name="not-found", rule="not_found")


def on_erased_views(request: Request[Any, Any, Any], exc: TenantErased) -> Response[bytes]:
    # The views say no more than that the tenant in the path was erased.
    tenant = str(request.path_params.get("tenant_id", ""))
    return on_domain_error(request, Erased("tenant_erased", tenant=tenant))


def on_busy(_: Request[Any, Any, Any], exc: TenantStoresBusy) -> Response[bytes]:
    return problem_response(
        503, "Every tenant store is busy; try again shortly.", headers={"Retry-After": "2"}
    )


def on_views_not_ready(_: Request[Any, Any, Any], exc: ViewsNotReady) -> Response[bytes]:
    # A new tenant's first events, or views rebuilt from nothing: an empty answer would be wrong.
    return problem_response(
        503,
        "This client organisation's overviews are still being built; retry shortly.",
        name="not-ready",
        headers={"Retry-After": str(exc.retry_after)},
    )


def on_reports_busy(_: Request[Any, Any, Any], exc: ReportsBusy) -> Response[bytes]:
    # A refusal by design, not a failure: answered at once and not logged as an error.
    status, name = (429, "report-still-rendering") if exc.mine else (503, "reports-busy")
    return problem_response(
        status,
        "Your report is still being rendered; retry shortly."
        if exc.mine
        else "Every report renderer is busy; retry shortly.",
        name=name,
        headers={"Retry-After": str(exc.retry_after)},
    )


# The database is away (restarting, failing over, unreachable) or every connection is taken:
# eventsourcing wraps psycopg's errors (a pool timeout is an OperationalError too) in its own.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    StoreOperationalError,
    StoreInterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
DATABASE_RETRY_AFTER_SECONDS = 2


def _asyncpg_unavailable() -> tuple[type[Exception], ...]:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - installed with the PostgreSQL extra
        return ()
    return (
        asyncpg.exceptions.PostgresConnectionError,
        asyncpg.exceptions.CannotConnectNowError,
        asyncpg.exceptions.InterfaceError,
        asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.TooManyConnectionsError,
    )


DATABASE_UNAVAILABLE += (*_asyncpg_unavailable(), ConnectionError)

# A Citus worker lost in the middle of a transaction (stopped, unreachable) is reported by the
# coordinator as an internal error (XX000) rather than a connection failure: its own messages
# carry no error code, and a worker's shutdown notice is passed on without its code. For the
# tenants on that worker the database is away all the same.
CITUS_WORKER_LOST = (
    "failure on connection marked as essential",
    "could not commit transaction for shard",
    "terminating connection due to administrator command",
)


def _internal_errors() -> tuple[type[Exception], ...]:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - installed with the PostgreSQL extra
        return (StoreInternalError, psycopg.InternalError)
    return (StoreInternalError, psycopg.InternalError, asyncpg.exceptions.InternalServerError)


DATABASE_INTERNAL_ERRORS = _internal_errors()


def _citus_worker_lost(exc: Exception) -> bool:
    return isinstance(exc, DATABASE_INTERNAL_ERRORS) and str(exc).startswith(CITUS_WORKER_LOST)


def on_database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        503,
        "The database cannot be reached right now; retry shortly.",
        name="database-unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    # asyncpg lets a refused or reset connection through as the OS's own error; Citus a lost
    # worker as an internal error.
    if isinstance(exc, DATABASE_UNAVAILABLE) or _citus_worker_lost(exc):
        return on_database_unavailable(request, exc)
    return _on_unexpected(request, exc)


def on_key_unavailable(request: Request[Any, Any, Any], exc: KeyUnwrapError) -> Response[bytes]:
    # A process started with another master key than the one the tenant's key was wrapped
    # under: an operational fault to fix, not the client's; say so without details.
    logger.error("tenant key unavailable on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        503, "This client organisation's data cannot be opened right now.", headers={"Retry-After": "30"}
    )


PROBLEM_HANDLERS: ExceptionHandlersMap = {
    KeyUnwrapError: on_key_unavailable,
    ValidationException: on_validation,
    UnknownTenant: on_unknown_tenant,
    TenantErased: on_erased_views,
    TenantStoresBusy: on_busy,
    ViewsNotReady: on_views_not_ready,
    ReportsBusy: on_reports_busy,
    TooManyRequestsException: on_too_many,
    ClientException: on_client_error,
    NotAuthorizedException: on_not_authorized,
    PermissionDeniedException: on_permission_denied,
    HTTPException: on_http_error,
    DomainError: on_domain_error,
    RecordConflictError: on_conflict,
    **dict.fromkeys(DATABASE_UNAVAILABLE, on_database_unavailable),
    Exception: on_unexpected,
}


# What the tenant routes can answer besides success. 422: an Idempotency-Key reused with
# another body; 503: the database (or, for keyed commands, Redis) is away for a moment.
COMMAND_ERRORS = problem_responses(400, 401, 403, 404, 409, 410, 422, 503)
QUERY_ERRORS = problem_responses(400, 401, 403, 404, 410, 503)
