"""The use cases' reads (`services.usecases.reads`) as a request asks them: the container from
the app, and a moment from the query checked for its time zone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.exceptions import ValidationException

from projections.documents import EngagementOut, OrganisationOut, OrganisationUnits
from projections.queries import Portfolio
from services.auth.principal import Principal
from services.bootstrap import Container
from services.requests.commands import container_of
from services.usecases import reads

Req = Request[Any, Any, Any]

AS_OF = (
    "Show it as it stood at this moment (ISO 8601 with a time zone), computed from the events "
    "that had happened by then."
)


def _check_zone(moment: datetime | None) -> None:
    if moment is not None and moment.tzinfo is None:
        raise ValidationException(
            "as_of needs a time zone",
            extra=[{"key": "as_of", "source": "query", "message": "add a time zone, e.g. Z"}],
        )


async def known_tenant(request: Req, tenant_id: UUID) -> Container:
    return await reads.known_tenant(container_of(request), tenant_id)


async def engagement_view(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    *,
    moment: datetime | None = None,
    version: int | None = None,
) -> EngagementOut:
    _check_zone(moment)
    return await reads.engagement_view(
        container_of(request), tenant_id, engagement_id, moment=moment, version=version
    )


async def organisation_view(
    request: Req, tenant_id: UUID, *, moment: datetime | None = None
) -> OrganisationOut:
    _check_zone(moment)
    return await reads.organisation_view(container_of(request), tenant_id, moment=moment)


async def organisation_units(
    request: Req, tenant_id: UUID, *, moment: datetime | None = None
) -> OrganisationUnits:
    _check_zone(moment)
    return await reads.organisation_units(container_of(request), tenant_id, moment=moment)


async def engagements_of(
    request: Req,
    tenant_id: UUID,
    moment: datetime | None = None,
    organisation: OrganisationOut | None = None,
) -> list[EngagementOut]:
    _check_zone(moment)
    return await reads.engagements_of(container_of(request), tenant_id, moment, organisation)


async def portfolio_of(request: Req, principal: Principal, today: date) -> Portfolio:
    return await reads.portfolio_of(container_of(request), principal, today)
