"""Erasing a participant's name from an engagement (the right to erasure), for the planning
group and its consultants: the API's erasure (`POST .../participants/redactions`) on a page.

The name is typed twice, the second time to confirm; wherever it stood in the engagement's
dialogues it then reads "(slettet)". What stays says nothing about the person: the ratings are
recorded under pseudonyms already, and the scores stay as they were (docs/adr/0010)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.errors import DomainError
from projections.documents import EngagementOut
from services.access import PAGE_TENANT_PREFIX, PLAN, Policy
from services.requests.commands import Req
from services.requests.reads import engagement_view, known_tenant
from services.usecases import theme_day as day
from services.web.commands import submit
from services.web.forms import Form, FormData, domain_message, values
from services.web.i18n import gettext as _
from services.web.rendering import page

ERASURE = f"{PAGE_TENANT_PREFIX}/e/{{engagement_id:uuid}}/participants/erasure"
LONGEST_NAME = 200


async def _page(
    request: Req,
    tenant_id: UUID,
    engagement: EngagementOut,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    places: int | None = None,
    status_code: int = 200,
) -> Template:
    container = await known_tenant(request, tenant_id)
    tenant = await container.offloop(container.control.tenant, tenant_id)
    return page(
        "organisation/participant_erasure.html",
        status_code=status_code,
        tenant=tenant,
        engagement=engagement,
        form=form,
        errors=errors,
        places=places,
    )


class ParticipantErasurePages(Controller):
    path = ERASURE

    @get("/", opt=PLAN.opt())
    async def erasure(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> Template:
        """What erasing a participant's name removes and keeps, and the form to do it."""
        engagement = await engagement_view(request, tenant_id, engagement_id)
        return await _page(request, tenant_id, engagement, {}, {})

    @post("/", opt=PLAN.opt(), status_code=200)
    async def erase(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """Erases the name once it is typed the same twice; says in how many places it stood."""
        form = FormData(data)
        shown = values(form)
        engagement = await engagement_view(request, tenant_id, engagement_id)
        name = " ".join(str(shown.get("name", "")).split())
        confirmed = " ".join(str(shown.get("confirm_name", "")).split())
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = _("Please fill this in.")
        elif len(name) > LONGEST_NAME:
            errors["name"] = _("This is too long.")
        elif confirmed.casefold() != name.casefold():
            errors["confirm_name"] = _("Type the same name again to confirm.")
        if errors:
            return await _page(request, tenant_id, engagement, shown, errors, status_code=400)
        try:
            places = await submit(
                request, tenant_id, day.RedactParticipant(engagement_id=engagement_id, name=name), form.key
            )
        except DomainError as error:
            return await _page(
                request, tenant_id, engagement, shown, {"name": domain_message(error)}, status_code=409
            )
        return await _page(request, tenant_id, engagement, {}, {}, places=places or 0)


PAGES: list[ControllerRouterHandler] = [ParticipantErasurePages]
POLICY: dict[tuple[str, str], Policy] = {("GET", ERASURE): PLAN, ("POST", ERASURE): PLAN}
