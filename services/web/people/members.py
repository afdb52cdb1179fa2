"""People on the pages: an organisation's members and invitations for its planning group and
the consultancy (`/t/{tenant}/people`), and every account for the consultancy admin
(`/admin/people`): invite by e-mail, resend, revoke, change or remove a role, deactivate.

The same use cases as the API's (`services.usecases.people`, `services.memberships`); who may
change whose role is the rule of docs/adr/0017 and 0029, said on the page when it refuses.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.errors import DomainError
from domain.roles import Role
from services.access import ADMINISTER, PAGE_TENANT_PREFIX, PLAN, Policy
from services.auth.guards import principal_from
from services.bootstrap import Container
from services.controlplane import PLATFORM_ID
from services.memberships import Memberships
from services.requests.provenance import build_provenance
from services.usecases import people
from services.web.forms import Form, FormData, FormInvalid, decode, refusal, values
from services.web.i18n import gettext as _
from services.web.labels import role_label
from services.web.rendering import page

Req = Request[Any, Any, Any]
_T = PAGE_TENANT_PREFIX
_P = f"{_T}/people"
ADMIN_PAGE = "/admin/people"
# What the planning group offers, and what the consultancy offers besides.
PLANNING_GROUP_OFFERS = (Role.CLIENT_ADMIN, Role.PARTICIPANT)
CONSULTANCY_OFFERS = (Role.CLIENT_ADMIN, Role.PARTICIPANT, Role.AUDITOR, Role.CONSULTANT)


class InviteForm(msgspec.Struct, frozen=True, kw_only=True):
    email: people.Email
    role: Role


class AdminInviteForm(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: UUID
    email: people.Email
    role: Role


class RoleForm(msgspec.Struct, frozen=True, kw_only=True):
    role: Role


def _container(request: Req) -> Container:
    container: Container = request.app.state.container
    return container


def offers_for(role: Role | None) -> list[tuple[str, str]]:
    """The roles someone acting as `role` may offer, as a form's options."""
    offered: tuple[Role, ...] = PLANNING_GROUP_OFFERS
    if role is Role.CONSULTANCY_ADMIN:
        offered = CONSULTANCY_OFFERS
    elif role is Role.CONSULTANT:
        offered = tuple(r for r in CONSULTANCY_OFFERS if r is not Role.CONSULTANT)
    return [(r.value, role_label(r)) for r in offered]


async def members_page(
    request: Req,
    tenant_id: UUID,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Template:
    container = _container(request)
    principal = principal_from(request)
    shown = await people.members_of(container, tenant_id)
    tenant = await container.offloop(container.control.tenant, tenant_id)
    acting = principal.role_in(tenant_id)
    return page(
        "people/members.html",
        status_code=status_code,
        tenant=tenant,
        members=shown.members,
        invitations=shown.invitations,
        offers=offers_for(acting),
        me=principal.user_id,
        errors=errors or {},
        form=form or {},
        notice=notice,
    )


class MemberPages(Controller):
    """An organisation's people, for its planning group and the consultancy."""

    path = _P

    @get("/", opt=PLAN.opt())
    async def members(
        self, request: Req, tenant_id: FromPath[UUID], sent: FromQuery[str | None] = None
    ) -> Template:
        """Who holds which role here, the invitations waiting, and a form to invite by e-mail."""
        notice = _("The invitation is on its way.") if sent else None
        return await members_page(request, tenant_id, notice=notice)

    @post("/invitations", opt=PLAN.opt(), status_code=303)
    async def invite(self, request: Req, tenant_id: FromPath[UUID], data: Form) -> Response[Any]:
        """Invite an address to a role here: a one-time link goes to it."""
        posted = FormData(data)
        form = values(posted)
        try:
            entry = decode(form, InviteForm)
            provenance = build_provenance(
                request, request.user, tenant_id, "InviteByEmail", command_key=posted.key
            )
            command = people.InviteByEmail(tenant_id=tenant_id, email=entry.email, role=entry.role)
            await people.invite_by_email(_container(request), command, provenance)
        except (FormInvalid, DomainError) as error:
            errors, status = refusal(error)
            return await members_page(request, tenant_id, errors=errors, form=form, status_code=status)
        return Redirect(f"/t/{tenant_id}/people?sent=1", status_code=303)

    @post("/invitations/{invitee_id:uuid}/resend", opt=PLAN.opt(), status_code=303)
    async def resend(
        self, request: Req, tenant_id: FromPath[UUID], invitee_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """A new link for an invitation waiting here; the earlier one stops working (the same
        form sent twice sends one)."""
        key = FormData(data).key
        provenance = build_provenance(request, request.user, tenant_id, "ResendInvitation", command_key=key)
        command = people.ResendInvitation(tenant_id=tenant_id, invitee_id=invitee_id)
        return await self._act(
            request, tenant_id, people.resend_invitation(_container(request), command, provenance)
        )

    @post("/invitations/{invitee_id:uuid}/revoke", opt=PLAN.opt(), status_code=303)
    async def revoke(
        self, request: Req, tenant_id: FromPath[UUID], invitee_id: FromPath[UUID]
    ) -> Response[Any]:
        """Withdraw an invitation waiting here; its links stop working."""
        provenance = build_provenance(request, request.user, tenant_id, "RevokeInvitation")
        command = people.RevokeInvitation(tenant_id=tenant_id, invitee_id=invitee_id)
        return await self._act(
            request, tenant_id, people.revoke_invitation(_container(request), command, provenance)
        )

    @post("/{user_id:uuid}/role", opt=PLAN.opt(), status_code=303)
    async def change(
        self, request: Req, tenant_id: FromPath[UUID], user_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """Change the role a member holds here."""
        form = values(FormData(data))
        try:
            role = decode(form, RoleForm).role
        except FormInvalid as invalid:
            return await members_page(request, tenant_id, errors=invalid.errors, status_code=400)
        provenance = build_provenance(request, request.user, tenant_id, "ChangeRole")
        container = _container(request)
        work = container.offloop(
            Memberships(container.control, container.tenants).change, tenant_id, user_id, role, provenance
        )
        return await self._act(request, tenant_id, work)

    @post("/{user_id:uuid}/remove", opt=PLAN.opt(), status_code=303)
    async def remove(self, request: Req, tenant_id: FromPath[UUID], user_id: FromPath[UUID]) -> Response[Any]:
        """Take away the role a member holds here; their history stays."""
        provenance = build_provenance(request, request.user, tenant_id, "RemoveMembership")
        container = _container(request)
        work = container.offloop(
            Memberships(container.control, container.tenants).remove, tenant_id, user_id, provenance
        )
        return await self._act(request, tenant_id, work)

    @staticmethod
    async def _act(request: Req, tenant_id: UUID, work: Any) -> Response[Any]:
        try:
            await work
        except DomainError as error:
            errors, status = refusal(error)
            return await members_page(request, tenant_id, errors=errors, status_code=status)
        _container(request).projections.notify(tenant_id)
        return Redirect(f"/t/{tenant_id}/people", status_code=303)


# -- The consultancy admin: every account --------------------------------------------------------


def _admin_only(request: Req) -> None:
    if not principal_from(request).is_consultancy_admin:
        raise PermissionDeniedException(_("Only the consultancy's administrators may do this."))


async def admin_page(
    request: Req,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Template:
    container = _container(request)
    tenants = await container.offloop(container.control.tenants)
    return page(
        "people/admin.html",
        status_code=status_code,
        accounts=await people.everyone(container),
        tenant_options=[(str(t.id), t.name) for t in tenants],
        names={t.id: t.name for t in tenants},
        offers=offers_for(Role.CONSULTANCY_ADMIN),
        me=principal_from(request).user_id,
        errors=errors or {},
        form=form or {},
        notice=notice,
    )


@get(ADMIN_PAGE)
async def accounts(request: Req, sent: FromQuery[str | None] = None) -> Template:
    """Every account: its roles in each organisation, whether it can sign in; invite anyone to
    any organisation (consultants included)."""
    _admin_only(request)
    return await admin_page(request, notice=_("The invitation is on its way.") if sent else None)


@post(f"{ADMIN_PAGE}/invitations", status_code=303)
async def admin_invite(request: Req, data: Form) -> Response[Any]:
    """Invite an address to a role in any organisation."""
    _admin_only(request)
    posted = FormData(data)
    form = values(posted)
    try:
        entry = decode(form, AdminInviteForm)
        provenance = build_provenance(
            request, request.user, entry.tenant_id, "InviteByEmail", command_key=posted.key
        )
        command = people.InviteByEmail(tenant_id=entry.tenant_id, email=entry.email, role=entry.role)
        await people.invite_by_email(_container(request), command, provenance)
    except (FormInvalid, DomainError) as error:
        errors, status = refusal(error)
        return await admin_page(request, errors=errors, form=form, status_code=status)
    return Redirect(f"{ADMIN_PAGE}?sent=1", status_code=303)


@post(f"{ADMIN_PAGE}/{{user_id:uuid}}/deactivate", status_code=303)
async def admin_deactivate(request: Req, user_id: FromPath[UUID]) -> Response[Any]:
    """Deactivate an account: it cannot sign in, and its tokens stop working."""
    _admin_only(request)
    provenance = build_provenance(request, request.user, PLATFORM_ID, "DeactivateAccount")
    try:
        await people.deactivate_account(
            _container(request), people.DeactivateAccount(user_id=user_id), provenance
        )
    except DomainError as error:
        errors, status = refusal(error)
        return await admin_page(request, errors=errors, status_code=status)
    return Redirect(ADMIN_PAGE, status_code=303)


PAGES: list[ControllerRouterHandler] = [MemberPages, accounts, admin_invite, admin_deactivate]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", _P): PLAN,
    ("POST", f"{_P}/invitations"): PLAN,
    ("POST", f"{_P}/invitations/{{invitee_id:uuid}}/resend"): PLAN,
    ("POST", f"{_P}/invitations/{{invitee_id:uuid}}/revoke"): PLAN,
    ("POST", f"{_P}/{{user_id:uuid}}/role"): PLAN,
    ("POST", f"{_P}/{{user_id:uuid}}/remove"): PLAN,
    ("GET", ADMIN_PAGE): ADMINISTER,
    ("POST", f"{ADMIN_PAGE}/invitations"): ADMINISTER,
    ("POST", f"{ADMIN_PAGE}/{{user_id:uuid}}/deactivate"): ADMINISTER,
}
