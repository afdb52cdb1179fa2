"""The client organisation's units over the years: added, renamed, merged, split, retired."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from projections.documents import (
    OrganisationOut,
)
from services.access import PLAN, READ
from services.requests.commands import run
from services.requests.problems import COMMAND_ERRORS, QUERY_ERRORS, problem_responses
from services.requests.reads import AS_OF, organisation_view
from services.schemas.organisation import (
    AddUnit,
    EstablishOrganisation,
    MergeUnits,
    RenameUnit,
    SplitUnit,
    UnitCreated,
    UnitsCreated,
)
from services.usecases import organisation as units

Req = Request[Any, Any, Any]
WRITE_ERRORS = COMMAND_ERRORS


class OrganisationController(Controller):
    path = "/api/v1/tenants/{tenant_id:uuid}/organisation"
    tags = ["organisation"]

    @put("/", opt=PLAN.opt(), status_code=200, responses=problem_responses(400, 401, 403, 404, 409))
    async def establish(
        self, request: Req, tenant_id: FromPath[UUID], data: JSONBody[EstablishOrganisation]
    ) -> OrganisationOut:
        """Establish the record of the client organisation (once per tenant)."""
        await run(request, tenant_id, units.EstablishOrganisation(tenant_id=tenant_id, name=data.name))
        return await organisation_view(request, tenant_id)

    @get("/", opt=READ.opt(), responses=QUERY_ERRORS)
    async def show(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        as_of: Annotated[datetime | None, QueryParameter(description=AS_OF)] = None,
    ) -> OrganisationOut:
        """The organisation's units with their whole history (names over time, mergers, splits),
        and its engagements; as it stood at `as_of` if given."""
        return await organisation_view(request, tenant_id, moment=as_of)

    @post("/units", opt=PLAN.opt(), responses=WRITE_ERRORS)
    async def add_unit(self, request: Req, tenant_id: FromPath[UUID], data: JSONBody[AddUnit]) -> UnitCreated:
        """Add a unit (enhed) to the organisation."""
        unit_id = await run(request, tenant_id, units.AddUnit(tenant_id=tenant_id, name=data.name))
        return UnitCreated(unit_id)

    @post("/units/{unit_id:uuid}/rename", opt=PLAN.opt(), status_code=200, responses=WRITE_ERRORS)
    async def rename_unit(
        self, request: Req, tenant_id: FromPath[UUID], unit_id: FromPath[UUID], data: JSONBody[RenameUnit]
    ) -> OrganisationOut:
        """Rename a unit. Its earlier names stay in its history."""
        await run(request, tenant_id, units.RenameUnit(tenant_id=tenant_id, unit_id=unit_id, name=data.name))
        return await organisation_view(request, tenant_id)

    @post("/mergers", opt=PLAN.opt(), responses=WRITE_ERRORS)
    async def merge_units(
        self, request: Req, tenant_id: FromPath[UUID], data: JSONBody[MergeUnits]
    ) -> UnitCreated:
        """Merge two or more units into a new one; the old units end and point to it."""
        unit_id = await run(
            request,
            tenant_id,
            units.MergeUnits(tenant_id=tenant_id, unit_ids=tuple(data.unit_ids), name=data.name),
        )
        return UnitCreated(unit_id)

    @post("/units/{unit_id:uuid}/split", opt=PLAN.opt(), responses=WRITE_ERRORS)
    async def split_unit(
        self, request: Req, tenant_id: FromPath[UUID], unit_id: FromPath[UUID], data: JSONBody[SplitUnit]
    ) -> UnitsCreated:
        """Split a unit into two or more new units; the old unit ends and points to them."""
        unit_ids = await run(
            request, tenant_id, units.SplitUnit(tenant_id=tenant_id, unit_id=unit_id, names=tuple(data.names))
        )
        return UnitsCreated(list(unit_ids))

    @post("/units/{unit_id:uuid}/retire", opt=PLAN.opt(), status_code=200, responses=WRITE_ERRORS)
    async def retire_unit(
        self, request: Req, tenant_id: FromPath[UUID], unit_id: FromPath[UUID]
    ) -> OrganisationOut:
        """Retire a unit that no longer exists. Its history stays readable."""
        await run(request, tenant_id, units.RetireUnit(tenant_id=tenant_id, unit_id=unit_id))
        return await organisation_view(request, tenant_id)
