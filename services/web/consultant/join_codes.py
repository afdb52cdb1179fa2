"""Join codes for the units' tables: issuing one (shown once, on a printable sheet), revoking
one, and printing a sheet of new codes for the units chosen.

The API issues and revokes them the same way (`services/http/join_code_routes.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler
from markupsafe import Markup

from domain.errors import DomainError, NotFound
from projections.documents import EngagementOut
from projections.queries import names_at
from services.access import FACILITATE, PAGE_TENANT_PREFIX, Policy
from services.bootstrap import Container
from services.live import end_streams
from services.requests.provenance import build_provenance
from services.usecases.join_codes import JoinCodeIssued, issue_join_code, qr_code_svg, revoke_join_code
from services.web.consultant.console import (
    Req,
    app_container,
    console_page,
    console_url,
    read_engagement,
    valid_through,
)
from services.web.forms import Form, FormData, domain_message
from services.web.i18n import gettext as _
from services.web.rendering import page

_T = PAGE_TENANT_PREFIX
_E = f"{_T}/e/{{engagement_id:uuid}}"

# Addresses a phone at a table cannot reach.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


@dataclass(frozen=True)
class Sheet:
    """One table card of the printed sheet."""

    name: str
    issued: JoinCodeIssued
    join_page: str
    qr: Markup

    @property
    def valid_through(self) -> date:
        return valid_through(self.issued.expires_at)


async def _sheet(
    request: Req, tenant_id: UUID, engagement: EngagementOut, names: dict[UUID, str], unit_ids: list[UUID]
) -> Template:
    """Issues a join code for each of `unit_ids` and shows them on the printable sheet.

    The plain code exists only while this answer is made: the store keeps its digest alone, so
    the sheet is the POST's own answer (200, not cached) and never a page to come back to. A
    resubmitted form issues new codes; the earlier ones are listed on the console to revoke."""
    container = app_container(request)
    cards = []
    for unit_id in sorted(unit_ids, key=lambda u: names.get(u, str(u)).casefold()):
        provenance = build_provenance(request, request.user, tenant_id, "IssueJoinCode")
        issued = await issue_join_code(
            container, tenant_id, engagement.engagement_id, unit_id, provenance, str(request.base_url)
        )
        name = names.get(unit_id, str(unit_id))
        # segno escapes the title and draws the rest from the join link: markup of our own making.
        qr = Markup(qr_code_svg(issued.join_url, title=_("QR code to join as %(unit)s", unit=name), scale=6))  # noqa: S704
        cards.append(Sheet(name, issued, issued.join_url.split("#", 1)[0], qr))
    host = (request.url.hostname or "").lower()
    unreachable = app_container(request).settings.public_url is None and host in LOCAL_HOSTS
    return page(
        "consultant/join_code_sheet.html",
        engagement=engagement,
        tenant_id=tenant_id,
        cards=cards,
        unreachable=unreachable,
    )


class JoinCodePages(Controller):
    path = _E

    @post("/console/units/{unit_id:uuid}/join-codes", opt=FACILITATE.opt(), status_code=200)
    async def issue_code(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], unit_id: FromPath[UUID]
    ) -> Response[Any]:
        """A new join code for one unit's table, shown on the printable sheet this once."""
        engagement, organisation = await read_engagement(request, tenant_id, engagement_id)
        try:
            return await _sheet(request, tenant_id, engagement, names_at(organisation, None), [unit_id])
        except DomainError as error:
            errors = {"": domain_message(error)}
            return await console_page(request, tenant_id, engagement_id, errors=errors, status_code=409)

    @post(
        "/console/units/{unit_id:uuid}/join-codes/{code_id:uuid}/revoke",
        opt=FACILITATE.opt(),
        status_code=303,
    )
    async def revoke_code(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        code_id: FromPath[UUID],
    ) -> Redirect:
        """Revoke a join code: nobody joins with it any more, and its tokens stop working."""
        container = app_container(request)
        code = await container.offloop(container.control.join_code, code_id)
        if (code.tenant_id, code.engagement_id, code.unit_id) != (tenant_id, engagement_id, unit_id):
            raise NotFound("no_join_code", code=str(code_id))
        provenance = build_provenance(request, request.user, tenant_id, "RevokeJoinCode")
        await revoke_join_code(container, code_id, provenance)
        await end_streams(request.app, join_code_id=code_id)
        return Redirect(console_url(tenant_id, engagement_id, "join-codes"), status_code=303)

    @get("/join-codes/print", opt=FACILITATE.opt())
    async def codes_to_print(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> Template:
        """Choose the units to print join codes for (new codes are issued: the old ones are not kept)."""
        return await _print_choice(request, tenant_id, engagement_id, {}, None)

    @post("/join-codes/print", opt=FACILITATE.opt(), status_code=200)
    async def print_codes(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """Issue a join code for each chosen unit and show the sheet to print."""
        form = FormData(data)
        engagement, organisation = await read_engagement(request, tenant_id, engagement_id)
        chosen = [u for u in engagement.unit_ids if str(u) in {str(v) for v in form.getall("unit_ids")}]
        if not chosen:
            errors = {"unit_ids": _("Choose at least one unit.")}
            return await _print_choice(request, tenant_id, engagement_id, errors, set(), status_code=400)
        container = app_container(request)
        try:
            if form.get("revoke_earlier"):
                await _revoke_usable(request, container, tenant_id, engagement_id, chosen)
            return await _sheet(request, tenant_id, engagement, names_at(organisation, None), chosen)
        except DomainError as error:
            errors = {"": domain_message(error)}
            picked = {str(u) for u in chosen}
            return await _print_choice(request, tenant_id, engagement_id, errors, picked, status_code=409)


async def _revoke_usable(
    request: Req, container: Container, tenant_id: UUID, engagement_id: UUID, unit_ids: list[UUID]
) -> None:
    """Revoke the codes still usable for `unit_ids` (printing afresh replaces a lost sheet)."""
    provenance = build_provenance(request, request.user, tenant_id, "RevokeJoinCode")

    def revoke() -> None:
        control = container.control
        now = container.clock()
        for unit_id in unit_ids:
            for code in control.join_codes(tenant_id, engagement_id, unit_id):
                if code.usable_at(now):
                    control.revoke_join_code(code.id, provenance)

    await container.offloop(revoke)


async def _print_choice(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    errors: dict[str, str],
    chosen: set[str] | None,
    *,
    status_code: int = 200,
) -> Template:
    engagement, organisation = await read_engagement(request, tenant_id, engagement_id)
    names = names_at(organisation, None)
    units = sorted(((u, names.get(u, str(u))) for u in engagement.unit_ids), key=lambda u: u[1].casefold())
    return page(
        "consultant/join_codes_print.html",
        status_code=status_code,
        tenant_id=tenant_id,
        organisation=organisation,
        engagement=engagement,
        units=units,
        chosen={str(u) for u, _name in units} if chosen is None else chosen,
        errors=errors,
    )


PAGES: list[ControllerRouterHandler] = [JoinCodePages]
POLICY: dict[tuple[str, str], Policy] = {
    ("POST", f"{_E}/console/units/{{unit_id:uuid}}/join-codes"): FACILITATE,
    ("POST", f"{_E}/console/units/{{unit_id:uuid}}/join-codes/{{code_id:uuid}}/revoke"): FACILITATE,
    ("GET", f"{_E}/join-codes/print"): FACILITATE,
    ("POST", f"{_E}/join-codes/print"): FACILITATE,
}
