"""The API's part of the app: its routes, the dependencies its handlers take, its OpenAPI
document. The app factory (`services/asgi.py`) mounts it beside the pages.

Route modules declare handlers and export a list of them; `api_routes` gathers the lists.
Handlers receive what they need by dependency injection: `container`, `principal` (a
Principal) and `provenance_for(tenant_id, command_name, occurred_at=None)`; the request too,
for `services.requests.commands.run`, which hands a use case's command to the front door.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from domain.provenance import Provenance
from services.auth.guards import principal_from
from services.auth.principal import Principal
from services.bootstrap import Container
from services.http.api_reference import ApiReference
from services.http.openapi import ContractDocument
from services.observability.routes import OPERATOR_ROUTES
from services.requests.provenance import ProvenanceFor, build_provenance

__all__ = ["ProvenanceFor", "api_dependencies", "api_routes", "openapi_config"]

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


def api_routes() -> list[ControllerRouterHandler]:
    """Every route of the API, the operator's routes included."""
    from services.http.account_routes import ACCOUNT_ROUTES
    from services.http.admin_routes import ADMIN_ROUTES
    from services.http.auth_routes import AUTH_ROUTES
    from services.http.engagement_routes import ENGAGEMENT_ROUTES
    from services.http.instrument_routes import INSTRUMENT_ROUTES
    from services.http.join_code_routes import JOIN_CODE_ROUTES
    from services.http.member_routes import MEMBER_ROUTES
    from services.http.notification_routes import NOTIFICATION_ROUTES
    from services.http.people_routes import PEOPLE_ROUTES
    from services.http.personal_code_routes import PERSONAL_CODE_ROUTES

    return [
        *OPERATOR_ROUTES,
        *AUTH_ROUTES,
        *ACCOUNT_ROUTES,
        *ADMIN_ROUTES,
        *MEMBER_ROUTES,
        *PEOPLE_ROUTES,
        *NOTIFICATION_ROUTES,
        *INSTRUMENT_ROUTES,
        *ENGAGEMENT_ROUTES,
        *JOIN_CODE_ROUTES,
        *PERSONAL_CODE_ROUTES,
    ]


def api_dependencies() -> dict[str, Provide]:
    """What handlers may ask for by name: the container, the principal, `provenance_for`."""
    return {
        "container": Provide(provide_container, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
        "provenance_for": Provide(provide_provenance_for, sync_to_thread=False),
    }


def openapi_config() -> OpenAPIConfig:
    """The API's OpenAPI document and its browsable reference at `/schema`."""
    return OpenAPIConfig(
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
    )
