"""A client organisation exported whole or erased for good, by the consultancy admin.

The export is exactly what `balkort tenants export` writes, as one zip archive to download. The
erasure is what `balkort tenants erase` does (crypto-shredding: the organisation's key deleted,
its event store and read models dropped, an erasure record left on the platform), after the
organisation's slug is typed again to confirm, as the command asks for it."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from services.access import ADMINISTER, ROLES_OPT, Policy
from services.auth.guards import platform_guard
from services.requests.commands import Req, container_of
from services.requests.provenance import build_provenance
from services.usecases import tenants as lifecycle
from services.web.admin.organisations import ONE, ORGANISATIONS
from services.web.forms import Form, FormData
from services.web.i18n import gettext as _
from services.web.rendering import page


async def _erase_page(
    request: Req, tenant_id: UUID, typed: str, errors: dict[str, str], *, status_code: int = 200
) -> Template:
    container = container_of(request)
    tenant = await container.offloop(container.control.tenant, tenant_id)
    return page("admin/erase.html", status_code=status_code, tenant=tenant, typed=typed, errors=errors)


class OrganisationLifecyclePages(Controller):
    path = ORGANISATIONS
    guards = [platform_guard]  # noqa: RUF012 - Litestar reads the class attribute
    # The path names an organisation: the tenant guard lets in only its admins, which
    # consultancy admins are in every organisation.
    opt = {ROLES_OPT: ADMINISTER.roles}  # noqa: RUF012

    @get("/{tenant_id:uuid}/export.zip")
    async def export(self, request: Req, tenant_id: FromPath[UUID]) -> Response[bytes]:
        """The organisation's whole export (events, hash chain, read models, manifest) as a zip."""
        container = container_of(request)
        tenant = await container.offloop(container.control.tenant, tenant_id)
        _manifest, archive = await container.offloop(lifecycle.export_archive, container, tenant.slug)
        return Response(
            archive,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{tenant.slug}-export.zip"',
                "Cache-Control": "no-store",
            },
        )

    @get("/{tenant_id:uuid}/erase")
    async def confirm_erasure(self, request: Req, tenant_id: FromPath[UUID]) -> Template:
        """What erasing the organisation loses and keeps, and the slug to type to confirm it."""
        return await _erase_page(request, tenant_id, "", {})

    @post("/{tenant_id:uuid}/erase", status_code=200)
    async def erase(self, request: Req, tenant_id: FromPath[UUID], data: Form) -> Template:
        """Erases the organisation for good once its slug is typed again."""
        container = container_of(request)
        tenant = await container.offloop(container.control.tenant, tenant_id)
        typed = str(FormData(data).get("confirm") or "").strip()
        if typed != tenant.slug:
            errors = {"confirm": _("Type the organisation's slug exactly as shown to erase it.")}
            return await _erase_page(request, tenant_id, typed, errors, status_code=400)
        provenance = build_provenance(request, request.user, tenant_id, "EraseTenant")
        await container.offloop(lifecycle.erase_tenant, container, tenant.slug, provenance)
        return page("admin/erased.html", tenant=tenant)


PAGES: list[ControllerRouterHandler] = [OrganisationLifecyclePages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{ONE}/export.zip"): ADMINISTER,
    ("GET", f"{ONE}/erase"): ADMINISTER,
    ("POST", f"{ONE}/erase"): ADMINISTER,
}
