"""Reads answered from the read models (never by replaying aggregates), and time travel: an
engagement or the organisation now, as it stood at a moment, or at a version; every engagement
of a tenant; the consultancy's portfolio."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

import anyio
import msgspec

from domain.errors import NotFound
from domain.organisation import Organisation
from projections.backends import ViewsNotReady
from projections.documents import EngagementOut, OrganisationOut, OrganisationUnits
from projections.projector import ENGAGEMENT, ORGANISATION
from projections.queries import Portfolio, TenantReadModels, portfolio
from projections.time_travel import documents_at
from services.auth.principal import Principal
from services.bootstrap import Container

D = TypeVar("D")

# At most this many time-travel folds at once per process (each reads a tenant's history).
TIME_TRAVEL_AT_ONCE = 2
_gate: list[anyio.Semaphore] = []


def _time_travel_gate() -> anyio.Semaphore:
    if not _gate:
        _gate.append(anyio.Semaphore(TIME_TRAVEL_AT_ONCE))
    return _gate[0]


def _happened_by(moment: datetime) -> Callable[[Any], bool]:
    return lambda event: event.provenance.occurred_at <= moment


async def known_tenant(container: Container, tenant_id: UUID) -> Container:
    """The container, once the tenant is known to exist (only principals who may act in every
    tenant reach here for a tenant that does not)."""
    if not await container.offloop(container.tenants.exists, tenant_id):
        raise NotFound("no_such_client_organisation")
    return container


async def _document(container: Container, tenant_id: UUID, key: str, missing: NotFound, shape: type[D]) -> D:
    await known_tenant(container, tenant_id)
    await container.projections.settle(tenant_id)
    body = await container.views.document(tenant_id, key)
    if body is None:
        raise missing
    return msgspec.json.decode(body, type=shape)


async def _travel(
    container: Container,
    tenant_id: UUID,
    key: str,
    keep: Callable[[Any], bool],
    missing: NotFound,
    shape: type[D],
) -> D:
    """One document as it stood: folded off the event loop, on the time-travel gate so that a
    few long histories cannot take the threads commands run on."""
    await known_tenant(container, tenant_id)
    async with _time_travel_gate():
        # The tenant's mapper may need its key read first: the source is made off the loop too.
        documents = await container.offloop(
            lambda: documents_at(container.views.source_for(tenant_id), keep, {key})
        )
    found = documents.get(key)
    if not isinstance(found, shape):
        raise missing
    return found


async def engagement_view(
    container: Container,
    tenant_id: UUID,
    engagement_id: UUID,
    *,
    moment: datetime | None = None,
    version: int | None = None,
) -> EngagementOut:
    """The engagement's read model: now, as it stood at `moment` (with a time zone), or at
    `version`."""
    key = f"{ENGAGEMENT}:{engagement_id}"
    missing = NotFound("no_engagement", engagement=str(engagement_id))
    if moment is not None:
        return await _travel(
            container,
            tenant_id,
            key,
            _happened_by(moment),
            NotFound("no_engagement_at", engagement=str(engagement_id), moment=moment.isoformat()),
            EngagementOut,
        )
    if version is not None:
        return await _travel(
            container,
            tenant_id,
            key,
            lambda event: event.originator_version <= version or event.originator_id != engagement_id,
            missing,
            EngagementOut,
        )
    return await _document(container, tenant_id, key, missing, EngagementOut)


async def organisation_view(
    container: Container, tenant_id: UUID, *, moment: datetime | None = None
) -> OrganisationOut:
    """The organisation's units and their history, and every engagement it has held: now, or
    as it stood at `moment`."""
    return await _organisation(container, tenant_id, moment, OrganisationOut)


async def organisation_units(
    container: Container, tenant_id: UUID, *, moment: datetime | None = None
) -> OrganisationUnits:
    """The organisation's units and their history without its engagements, for what concerns
    one engagement: its cost stays the size of the organisation however many engagements it
    has held (as it stood at `moment`: the whole organisation, folded)."""
    return await _organisation(container, tenant_id, moment, OrganisationUnits)


async def _organisation(container: Container, tenant_id: UUID, moment: datetime | None, shape: type[D]) -> D:
    key = f"{ORGANISATION}:{Organisation.id_for(tenant_id)}"
    missing = NotFound("organisation_not_established")
    if moment is not None:
        return await _travel(container, tenant_id, key, _happened_by(moment), missing, shape)
    return await _document(container, tenant_id, key, missing, shape)


async def engagements_of(
    container: Container,
    tenant_id: UUID,
    moment: datetime | None = None,
    organisation: OrganisationOut | None = None,
) -> list[EngagementOut]:
    """Every engagement of the tenant, now or as they stood at `moment`; `organisation` is the
    organisation as of the same moment, when the caller has read it already."""
    if organisation is None:
        organisation = await organisation_view(container, tenant_id, moment=moment)
    return [
        await engagement_view(container, tenant_id, ref.engagement_id, moment=moment)
        for ref in organisation.engagements
    ]


async def portfolio_of(container: Container, principal: Principal, today: date) -> Portfolio:
    """The consultancy's portfolio over the tenants `principal` may act in.

    Cost: it reads the tenant list, then every engagement document of every accessible tenant,
    one at a time; fine for tens of tenants, beyond that it wants a portfolio projection."""
    tenants = await container.offloop(container.control.tenants)
    items = []
    still_building = []
    for tenant in tenants:
        if not principal.can_access(tenant.id):
            continue
        try:
            engagements = await engagements_of(container, tenant.id)
        except NotFound:  # an organisation not established yet has nothing to show
            continue
        except ViewsNotReady:
            # One organisation's overviews being rebuilt must not take the whole portfolio down.
            still_building.append(tenant.id)
            continue
        items.append(TenantReadModels(tenant.id, tenant.name, engagements))
    return portfolio(items, today, still_building)
