"""Which instrument version each of a client organisation's engagements pins, for the planning
group and its consultants: an engagement is prepared with one version and keeps it, so the
ratings of one engagement are always on one wording and scale."""

from __future__ import annotations

from uuid import UUID

from litestar import get
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.errors import NotFound
from services.access import PAGE_TENANT_PREFIX, PLAN, Policy
from services.requests.commands import Req
from services.requests.reads import engagement_view, known_tenant, organisation_view
from services.web.rendering import page

PINS = f"{PAGE_TENANT_PREFIX}/instruments"


@get(PINS, opt=PLAN.opt())
async def pinned_instruments(request: Req, tenant_id: FromPath[UUID]) -> Template:
    """The instruments the organisation's engagements use, by instrument and version."""
    container = await known_tenant(request, tenant_id)
    tenant = await container.offloop(container.control.tenant, tenant_id)
    try:
        refs = (await organisation_view(request, tenant_id)).engagements
    except NotFound:  # not established yet: no engagements
        refs = []
    engagements = [await engagement_view(request, tenant_id, ref.engagement_id) for ref in refs]
    engagements.sort(key=lambda e: (e.instrument.name.casefold(), e.instrument.version, e.theme_day))
    return page("organisation/instruments.html", tenant=tenant, engagements=engagements)


PAGES: list[ControllerRouterHandler] = [pinned_instruments]
POLICY: dict[tuple[str, str], Policy] = {("GET", PINS): PLAN}
