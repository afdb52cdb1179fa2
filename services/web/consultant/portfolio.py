"""Pages for the consultancy: the portfolio over the client organisations, an organisation's
home, and the preparatory meeting that creates an engagement.

The engagement is prepared through the same application-service call as the API route that records
it (`services/http/engagement_routes.py`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.default_instrument import DEFAULT_INSTRUMENT_ID
from domain.errors import DomainError, NotFound
from domain.organisation import UnitStatus
from projections.documents import OrganisationOut
from projections.queries import names_at
from services.access import (
    CONSULTANCY_STAFF,
    PAGE_TENANT_PREFIX,
    PLAN,
    PORTFOLIO_ROLES,
    READ,
    Policy,
    platform,
)
from services.auth.guards import principal_from
from services.requests.reads import engagement_view, known_tenant, organisation_view, portfolio_of
from services.schemas.engagement import PrepareEngagement
from services.usecases import engagements
from services.usecases.engagements import instrument_for, preparation_of
from services.web.commands import submit
from services.web.consultant.console import Req, app_container, console_url
from services.web.consultant.links import ENGAGEMENT_PAGES, TENANT_PAGES, is_facilitator, pages_open_to
from services.web.forms import Form, FormData, FormInvalid, decode, domain_message, values
from services.web.i18n import ZONE
from services.web.i18n import gettext as _
from services.web.rendering import page

_T = PAGE_TENANT_PREFIX
_E = f"{_T}/e/{{engagement_id:uuid}}"
# Units still in the organisation (not merged, split or retired).
ACTIVE = UnitStatus.ACTIVE.value
# The pages of an engagement and of a client organisation a home page may link to; each link is


# -- The portfolio ------------------------------------------------------------------------------


@get("/portfolio")
async def portfolio_page(request: Req) -> Template:
    """The consultancy's portfolio over the client organisations the signed-in consultant may
    act in: engagements by phase, dates to come, overdue investigations, quiet agreements."""
    principal = principal_from(request)
    if principal.platform_role not in PORTFOLIO_ROLES:
        raise PermissionDeniedException(_("Only consultancy admins and consultants have a portfolio."))
    container = app_container(request)
    today = container.clock().astimezone(ZONE).date()
    shown = await portfolio_of(request, principal, today)
    tenants = [t for t in await container.offloop(container.control.tenants) if principal.can_access(t.id)]
    titles = {e.engagement_id: e.title for e in shown.engagements}
    return page("consultant/portfolio.html", portfolio=shown, tenants=tenants, titles=titles)


# -- A client organisation ----------------------------------------------------------------------


async def _organisation_or_none(request: Req, tenant_id: UUID) -> OrganisationOut | None:
    try:
        return await organisation_view(request, tenant_id)
    except NotFound:  # not established yet: nothing to show but the organisation's name
        return None


class OrganisationPages(Controller):
    path = _T

    @get("/", opt=READ.opt())
    async def home(self, request: Req, tenant_id: FromPath[UUID]) -> Template:
        """A client organisation: its engagements with their phase and dates, its units, and the
        pages each role may open."""
        container = await known_tenant(request, tenant_id)
        tenant = await container.offloop(container.control.tenant, tenant_id)
        principal = principal_from(request)
        organisation = await _organisation_or_none(request, tenant_id)
        refs = organisation.engagements if organisation else []
        engagements = [await engagement_view(request, tenant_id, ref.engagement_id) for ref in refs]
        units = [u for u in organisation.units if u.status == ACTIVE] if organisation else []
        return page(
            "consultant/organisation.html",
            tenant=tenant,
            organisation=organisation,
            engagements=sorted(engagements, key=lambda e: e.theme_day, reverse=True),
            units=sorted(units, key=lambda u: u.name.casefold()),
            names=names_at(organisation, None) if organisation else {},
            engagement_pages=pages_open_to(principal, tenant_id, _E, ENGAGEMENT_PAGES),
            tenant_pages=pages_open_to(principal, tenant_id, _T, TENANT_PAGES),
        )

    @get("/engagements/new", opt=PLAN.opt())
    async def new_engagement(self, request: Req, tenant_id: FromPath[UUID]) -> Template:
        """The preparatory meeting's form."""
        return await _preparation_page(request, tenant_id, {}, {})

    @post("/engagements/new", opt=PLAN.opt(), status_code=303)
    async def prepare(self, request: Req, tenant_id: FromPath[UUID], data: Form) -> Response[Any]:
        """The preparatory meeting: records the engagement, then on to its console (or the
        organisation's home for the planning group)."""
        form = FormData(data)
        shown = values(form, lists=frozenset({"unit_ids"}))
        try:
            command = _preparation_command(shown)
        except FormInvalid as invalid:
            return await _preparation_page(request, tenant_id, shown, invalid.errors, status_code=400)
        container = app_container(request)
        try:
            instrument = await instrument_for(container, command.instrument_id, command.instrument_version)
        except NotFound:
            errors = {"instrument_id": _("Please choose from the list.")}
            return await _preparation_page(request, tenant_id, shown, errors, status_code=400)
        try:
            engagement_id = await submit(
                request,
                tenant_id,
                engagements.PrepareEngagement(
                    tenant_id=tenant_id,
                    preparation=preparation_of(command),
                    unit_ids=tuple(command.unit_ids),
                    instrument=instrument,
                    rating_mode=command.rating_mode,
                    min_group_size=command.min_group_size,
                    rounds=command.rounds,
                ),
                form.key,
            )
        except DomainError as error:
            errors = {"": domain_message(error)}
            return await _preparation_page(request, tenant_id, shown, errors, status_code=409)
        if engagement_id is not None and is_facilitator(principal_from(request), tenant_id):
            return Redirect(console_url(tenant_id, engagement_id), status_code=303)
        return Redirect(f"/t/{tenant_id}", status_code=303)


def _preparation_command(shown: dict[str, Any]) -> PrepareEngagement:
    """The form as the API's command: the planning group one name a line, the units ticked."""
    fields = dict(shown)
    fields["unit_ids"] = shown.get("unit_ids", [])
    members = str(shown.get("planning_group", ""))
    fields["planning_group"] = [name.strip() for name in members.splitlines() if name.strip()]
    try:
        return decode(fields, PrepareEngagement)
    except FormInvalid as invalid:
        if "unit_ids" in invalid.errors:
            raise FormInvalid({"unit_ids": _("Choose at least two units.")}) from None
        raise


async def _preparation_page(
    request: Req, tenant_id: UUID, form: dict[str, Any], errors: dict[str, str], *, status_code: int = 200
) -> Template:
    container = await known_tenant(request, tenant_id)
    tenant = await container.offloop(container.control.tenant, tenant_id)
    organisation = await _organisation_or_none(request, tenant_id)
    units = [u for u in organisation.units if u.status == ACTIVE] if organisation else []
    instruments = await container.offloop(container.control.instruments)
    return page(
        "consultant/new_engagement.html",
        status_code=status_code,
        tenant=tenant,
        units=sorted(units, key=lambda u: u.name.casefold()),
        instruments=[(i.id, i.name) for i in instruments],
        default_instrument=DEFAULT_INSTRUMENT_ID,
        form=form,
        errors=errors,
        chosen_units={str(u) for u in form.get("unit_ids", [])},
    )


PAGES: list[ControllerRouterHandler] = [portfolio_page, OrganisationPages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", "/portfolio"): platform(CONSULTANCY_STAFF),
    ("GET", _T): READ,
    ("GET", f"{_T}/engagements/new"): PLAN,
    ("POST", f"{_T}/engagements/new"): PLAN,
}
