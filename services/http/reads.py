"""Queries answered from the read models (never by replaying aggregates), and time travel."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from domain.errors import NotFound
from domain.organisation import Organisation
from projections.documents import EngagementOut, OrganisationOut
from projections.projector import ENGAGEMENT, ORGANISATION, Batch
from projections.time_travel import as_of, at_version
from services.bootstrap import Container

D = TypeVar("D")

AS_OF = (
    "Show it as it stood at this moment (ISO 8601 with a time zone), computed from the events "
    "that had happened by then."
)


def _check_zone(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValidationException(
            "as_of needs a time zone",
            extra=[{"key": "as_of", "source": "query", "message": "add a time zone, e.g. Z"}],
        )


def _container(request: Request[Any, Any, Any]) -> Container:
    container: Container = request.app.state.container
    return container


async def known_tenant(request: Request[Any, Any, Any], tenant_id: UUID) -> Container:
    """The container, once the tenant is known to exist (only principals who may act in every
    tenant reach here for a tenant that does not)."""
    container = _container(request)
    if not await container.offloop(container.tenants.exists, tenant_id):
        raise NotFound("no such client organisation")
    return container


async def _document(
    request: Request[Any, Any, Any], tenant_id: UUID, key: str, missing: str, shape: type[D]
) -> D:
    container = await known_tenant(request, tenant_id)
    await container.projections.settle(tenant_id)
    body = await container.views.document(tenant_id, key)
    if body is None:
        raise NotFound(missing)
    return msgspec.json.decode(body, type=shape)


async def _travel(request: Request[Any, Any, Any], tenant_id: UUID, compute: Any) -> Batch:
    container = await known_tenant(request, tenant_id)
    source = container.views.source_for(tenant_id)
    # The tenant's mapper may need its key read first: off the event loop too.
    batch: Batch = await container.offloop(lambda: compute(source, container.projections.mappers(tenant_id)))
    return batch


def _from_batch(batch: Batch, key: str, missing: str, shape: type[D]) -> D:
    for document in batch.documents:
        if document.key == key:
            return msgspec.json.decode(document.body, type=shape)
    raise NotFound(missing)


async def engagement_view(
    request: Request[Any, Any, Any],
    tenant_id: UUID,
    engagement_id: UUID,
    *,
    moment: datetime | None = None,
    version: int | None = None,
) -> EngagementOut:
    """The engagement's read model: now, as it stood at `moment`, or at `version`."""
    key = f"{ENGAGEMENT}:{engagement_id}"
    missing = f"no engagement {engagement_id}"
    if moment is not None:
        _check_zone(moment)
        batch = await _travel(request, tenant_id, lambda source, mapper: as_of(source, mapper, moment))
        return _from_batch(batch, key, f"{missing} at {moment.isoformat()}", EngagementOut)
    if version is not None:
        batch = await _travel(
            request, tenant_id, lambda source, mapper: at_version(source, mapper, engagement_id, version)
        )
        return _from_batch(batch, key, missing, EngagementOut)
    return await _document(request, tenant_id, key, missing, EngagementOut)


async def organisation_view(
    request: Request[Any, Any, Any], tenant_id: UUID, *, moment: datetime | None = None
) -> OrganisationOut:
    """The organisation's units and their history: now, or as it stood at `moment`."""
    key = f"{ORGANISATION}:{Organisation.id_for(tenant_id)}"
    missing = "the organisation has not been established yet"
    if moment is not None:
        _check_zone(moment)
        batch = await _travel(request, tenant_id, lambda source, mapper: as_of(source, mapper, moment))
        return _from_batch(batch, key, missing, OrganisationOut)
    return await _document(request, tenant_id, key, missing, OrganisationOut)
