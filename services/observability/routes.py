"""The operator's routes: liveness, readiness and the Prometheus scrape."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException

from services.bootstrap import Container
from services.observability.health import Readiness, readiness
from services.observability.metrics import CONTENT_TYPE, Metrics

METRICS_STATE = "metrics"


@get("/healthz", exclude_from_auth=True, include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """Liveness: the process's event loop answers. Asks no dependency: restarting a process
    does not bring a database back (readiness says whether it can serve)."""
    return {"status": "ok"}


@get("/readyz", exclude_from_auth=True, include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[Readiness]:
    """Readiness: 200 when PostgreSQL and Redis answer in time and this process's writes reach
    their read models within the bound; 503 otherwise. The body names each check's state."""
    verdict = await readiness(_container(request))
    return Response(verdict, status_code=200 if verdict.ready else 503)


def _container(request: Request[Any, Any, Any]) -> Container:
    container: Container = request.app.state.container
    return container


def _bearer(request: Request[Any, Any, Any]) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@get("/metrics", exclude_from_auth=True, include_in_schema=False, sync_to_thread=False)
def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus exposition, for the bearer of BALKORT_METRICS_TOKEN only (none set: nobody)."""
    expected = _container(request).settings.metrics_token
    given = _bearer(request)
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise NotAuthorizedException(
            "Metrics need the metrics token as a bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    exposed: Metrics = request.app.state[METRICS_STATE]
    return Response(exposed.exposition(), media_type=CONTENT_TYPE)


OPERATOR_ROUTES = [healthz, readyz, metrics]
