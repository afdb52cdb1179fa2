"""The client organisations, for the consultancy admin: every organisation with its assigned
consultants, onboarding a new one, and assigning or unassigning its consultants.

Onboarding is what `balkort tenants create` and `POST /api/v1/tenants` do (its own event store,
then its record on the platform), followed by the start of its record of units, so its units can
be added at once. Assigning a consultant is a grant of the consultant's role in the organisation
as `POST .../members` makes it (`services.memberships`): recorded in the organisation's own
audit trail, then applied on the platform."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.errors import AlreadyExists, DomainError, NotFound
from domain.roles import Role
from domain.tenant import SLUG
from services.access import ADMINISTER, ROLES_OPT, Policy
from services.auth.guards import platform_guard
from services.bootstrap import Container
from services.controlplane import ControlPlane
from services.memberships import Memberships
from services.requests.commands import Req, container_of
from services.requests.provenance import build_provenance
from services.staff import assigned_consultants, consultants
from services.text import name_rule
from services.usecases import organisation as units
from services.usecases import tenants as lifecycle
from services.web.commands import submit
from services.web.forms import Form, FormData, FormInvalid, decode, domain_message, values
from services.web.i18n import gettext as _
from services.web.rendering import page

ORGANISATIONS = "/admin/organisations"
ONE = f"{ORGANISATIONS}/{{tenant_id:uuid}}"


class NewOrganisation(msgspec.Struct, frozen=True, kw_only=True):
    """A client organisation to onboard; the slug is its short, permanent, URL-safe name."""

    name: Annotated[str, name_rule(min_length=1, max_length=200)]
    slug: Annotated[str, msgspec.Meta(pattern=SLUG.pattern + r"(?!\n)", max_length=63)]


def organisation_url(tenant_id: UUID) -> str:
    return f"{ORGANISATIONS}/{tenant_id}"


def _new_organisation(shown: dict[str, Any]) -> NewOrganisation:
    try:
        return decode(shown, NewOrganisation)
    except FormInvalid as invalid:
        if "slug" in invalid.errors and "slug" in shown:
            raise FormInvalid(
                {"slug": _("Lower-case letters, digits and hyphens only, e.g. soeby-kommune.")}
            ) from None
        raise


async def _list_page(
    request: Req, form: dict[str, Any], errors: dict[str, str], *, status_code: int = 200
) -> Template:
    container = container_of(request)
    tenants = await container.offloop(container.control.tenants)
    assigned = await container.offloop(assigned_consultants, container.control)
    return page(
        "admin/organisations.html",
        status_code=status_code,
        tenants=tenants,
        assigned=assigned,
        form=form,
        errors=errors,
    )


async def _one_page(
    request: Req, tenant_id: UUID, errors: dict[str, str], *, status_code: int = 200
) -> Template:
    container = container_of(request)
    tenant = await container.offloop(container.control.tenant, tenant_id)
    staff = await container.offloop(consultants, container.control)
    assigned = [u for u in staff if u.memberships.get(tenant_id) is Role.CONSULTANT]
    others = [u for u in staff if tenant_id not in u.memberships]
    return page(
        "admin/organisation.html",
        status_code=status_code,
        tenant=tenant,
        assigned=assigned,
        others=others,
        errors=errors,
    )


def _memberships(container: Container) -> Memberships:
    return Memberships(container.control, container.tenants)


class OrganisationAdminPages(Controller):
    path = ORGANISATIONS
    guards = [platform_guard]  # noqa: RUF012 - Litestar reads the class attribute
    # The path names an organisation: the tenant guard lets in only its admins, which
    # consultancy admins are in every organisation.
    opt = {ROLES_OPT: ADMINISTER.roles}  # noqa: RUF012

    @get("/")
    async def organisations(self, request: Req) -> Template:
        """Every client organisation with its assigned consultants, and the form to onboard one."""
        return await _list_page(request, {}, {})

    @post("/", status_code=303)
    async def onboard(self, request: Req, data: Form) -> Response[Any]:
        """Onboards a client organisation and starts its record of units; on to its page."""
        form = FormData(data)
        shown = values(form)
        try:
            wanted = _new_organisation(shown)
        except FormInvalid as invalid:
            return await _list_page(request, shown, invalid.errors, status_code=400)
        container = container_of(request)
        tenant_id = ControlPlane.tenant_id_for(wanted.slug)
        name = " ".join(wanted.name.split())
        provenance = build_provenance(request, request.user, tenant_id, "OnboardTenant")
        try:
            await container.offloop(lifecycle.onboard_tenant, container, name, wanted.slug, provenance)
        except AlreadyExists:
            errors = {"slug": _("This slug is taken, or belonged to an organisation that was erased.")}
            return await _list_page(request, shown, errors, status_code=409)
        await submit(
            request, tenant_id, units.EstablishOrganisation(tenant_id=tenant_id, name=name), form.key
        )
        return Redirect(organisation_url(tenant_id), status_code=303)

    @get("/{tenant_id:uuid}")
    async def organisation(self, request: Req, tenant_id: FromPath[UUID]) -> Template:
        """One client organisation: its consultants, assigning another, export and erasure."""
        return await _one_page(request, tenant_id, {})

    @post("/{tenant_id:uuid}/consultants", status_code=303)
    async def assign(self, request: Req, tenant_id: FromPath[UUID], data: Form) -> Response[Any]:
        """Assigns a consultant to the organisation: the consultant's role there, granted."""
        container = container_of(request)
        chosen = str(FormData(data).get("user_id") or "")
        staff = await container.offloop(consultants, container.control)
        user = next((u for u in staff if str(u.id) == chosen), None)
        if user is None:
            errors = {"user_id": _("Please choose from the list.")}
            return await _one_page(request, tenant_id, errors, status_code=400)
        provenance = build_provenance(request, request.user, tenant_id, "GrantMembership")
        try:
            await container.offloop(
                _memberships(container).grant, tenant_id, user.id, Role.CONSULTANT, provenance
            )
        except DomainError as error:
            return await _one_page(request, tenant_id, {"user_id": domain_message(error)}, status_code=409)
        container.projections.notify(tenant_id)
        return Redirect(organisation_url(tenant_id), status_code=303)

    @post("/{tenant_id:uuid}/consultants/{user_id:uuid}/unassign", status_code=303)
    async def unassign(self, request: Req, tenant_id: FromPath[UUID], user_id: FromPath[UUID]) -> Redirect:
        """Unassigns a consultant: the consultant's role in the organisation taken away."""
        container = container_of(request)
        user = await container.offloop(container.control.find_user, user_id)
        if user is None or user.memberships.get(tenant_id) is not Role.CONSULTANT:
            raise NotFound("no_role_held", user=str(user_id))
        provenance = build_provenance(request, request.user, tenant_id, "RemoveMembership")
        await container.offloop(_memberships(container).remove, tenant_id, user_id, provenance)
        container.projections.notify(tenant_id)
        return Redirect(organisation_url(tenant_id), status_code=303)


PAGES: list[ControllerRouterHandler] = [OrganisationAdminPages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", ORGANISATIONS): ADMINISTER,
    ("POST", ORGANISATIONS): ADMINISTER,
    ("GET", ONE): ADMINISTER,
    ("POST", f"{ONE}/consultants"): ADMINISTER,
    ("POST", f"{ONE}/consultants/{{user_id:uuid}}/unassign"): ADMINISTER,
}
