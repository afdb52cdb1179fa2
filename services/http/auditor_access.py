"""Auditors are read-only, and every access an auditor makes is itself recorded.

`AuditorAccessMiddleware` sits inside authentication (the principal is resolved) and after
routing (the request is for a known route). For every request under
`/api/v1/tenants/{tenant_id}` (the API) or `/t/{tenant_id}` (the pages) by a principal whose
role in that tenant is auditor, it records an `AuditorAccessed` event in the tenant's access
log for the month (domain/access_log.py): method, path, query string and the status of the
response, whatever the status, with the auditor as actor and `auditor` as role. The event lands in the tenant's audit trail like
every other event (`GET .../audit?event_type=AuditorAccessed`).

Fail closed. An auditor's access that cannot be recorded is not served:

- The handler runs, but the start of its response (status and headers) is held back until
  the access, with that status, is recorded. Only then does the response go out, unchanged.
  If recording fails, the auditor gets a 503 (`access-not-recorded`, with `Retry-After`)
  instead, not a byte of what the handler produced, and the failure is logged as an error.
  Holding back only the start, not the body, keeps streamed answers (exports, live updates)
  streaming.
- Running the handler before recording is safe because an auditor's request that reaches a
  handler only reads: an unsafe method (POST, PUT, PATCH, DELETE) by an auditor is refused
  here with 403, before any handler or idempotency key sees it, whatever the route declares,
  and the refusal is recorded like any other access (or answered with 503 if it cannot be).
- A request whose handler fails before it starts a response is recorded with the status the
  error will be answered with (500 unless the error names one).

The tenant is the one the router resolved (the `tenant_id` path parameter as parsed), never a
reading of the path's text: the router accepts an id however it is spelt, so the record follows
the router. An auditor's request under a tenant route (`/api/v1/tenants/...`, `/t/...`) whose
tenant cannot be established that way is refused with 403, not served unrecorded.

Not recorded: requests refused before they get here (401 without a valid token, a CSRF
refusal of a cookie-authenticated unsafe request, 404 for a path that names no route), and
requests in tenants where the principal is not an auditor (there the principal has no access
to record, and the tenant guard refuses them).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from domain.provenance import Provenance
from domain.roles import Role
from services.access import TENANT_PATH_STARTS
from services.auth.guards import UNSAFE_METHODS
from services.auth.principal import Principal
from services.bootstrap import Container
from services.requests.problems import PROBLEM_JSON, problem_bytes
from services.requests.provenance import build_provenance

COMMAND_NAME = "RecordAuditorAccess"
# Where a tenant's API routes and its pages live; every route under them names its tenant.
TENANT_PREFIXES = TENANT_PATH_STARTS
RETRY_AFTER_SECONDS = 5
logger = logging.getLogger("balkort.auditor_access")


class TenantUnknown(Exception):
    """An auditor's request under a tenant route whose tenant the router did not establish."""


def audited_tenant(scope: Scope) -> UUID | None:
    """The tenant whose auditor makes this request, or None when it is not an auditor's
    request in a tenant.

    Raises `TenantUnknown` when the request is under a tenant route, the principal is an
    auditor somewhere, and the router parsed no tenant id: such a request cannot be recorded
    in the right tenant, so it must not be served.
    """
    if scope["type"] != ScopeType.HTTP:
        return None
    principal = scope.get("user")
    if not isinstance(principal, Principal) or not str(scope.get("path", "")).startswith(TENANT_PREFIXES):
        return None
    # Typed as text, but the router has converted each parameter by the route's converter.
    params: dict[str, Any] = scope.get("path_params") or {}
    tenant_id: object = params.get("tenant_id")
    if not isinstance(tenant_id, UUID):
        if Role.AUDITOR in principal.memberships.values():
            raise TenantUnknown
        return None
    return tenant_id if principal.role_in(tenant_id) is Role.AUDITOR else None


class _Access:
    """One auditor's request in one tenant, and how to record it."""

    def __init__(self, scope: Scope, receive: Receive, tenant_id: UUID) -> None:
        request: Request[Any, Any, Any] = Request(scope, receive)
        self.container: Container = request.app.state.container
        self.principal: Principal = scope["user"]
        self.tenant_id = tenant_id
        self.method = request.method
        self.path = str(scope["path"])
        self.query = bytes(scope.get("query_string", b"")).decode("latin-1")
        # When the access happened: now, as the request arrives.
        self.provenance: Provenance = build_provenance(request, self.principal, tenant_id, COMMAND_NAME)

    async def record(self, status: int) -> bool:
        """Records the access with the status it is answered with; False (and logged) when it
        could not be recorded."""
        try:
            await self.container.offloop(
                self.container.tenants.call,
                self.tenant_id,
                lambda app: app.record_auditor_access(
                    self.tenant_id, self.method, self.path, self.query, status, self.provenance
                ),
            )
        except Exception:
            logger.error(
                "an auditor's access could not be recorded and is refused: tenant %s, user %s, %s %s -> %s",
                self.tenant_id,
                self.principal.user_id,
                self.method,
                self.path,
                status,
                exc_info=True,
            )
            return False
        self.container.projections.notify(self.tenant_id)
        return True


async def _refuse(send: Send) -> None:
    body = problem_bytes(
        503,
        "This access by an auditor could not be recorded, so it is not served; retry shortly.",
        name="access-not-recorded",
    )
    await send(
        {
            "type": "http.response.start",
            "status": HTTPStatus.SERVICE_UNAVAILABLE,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class AuditorAccessMiddleware:
    """Records every access an auditor makes in a tenant, and serves none it cannot record."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            tenant_id = audited_tenant(scope)
        except TenantUnknown:
            raise PermissionDeniedException(
                "Auditors are served only where the organisation in the path is known."
            ) from None
        if tenant_id is None:
            await self.app(scope, receive, send)
            return
        access = _Access(scope, receive, tenant_id)
        if access.method in UNSAFE_METHODS:
            if not await access.record(HTTPStatus.FORBIDDEN):
                await _refuse(send)
                return
            raise PermissionDeniedException("Auditors are read-only.")

        started = False
        refused = False

        async def send_once_recorded(message: Message) -> None:
            nonlocal started, refused
            if refused:
                return  # the auditor got the 503; nothing of the refused answer follows it
            if message["type"] == "http.response.start" and not started:
                started = True
                if not await access.record(int(message["status"])):
                    refused = True
                    await _refuse(send)
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_once_recorded)
        except Exception as error:
            if not started:
                started = True
                status = error.status_code if isinstance(error, HTTPException) else 500
                await access.record(status)
            raise
