"""Agreements after the theme day: every agreement with its status and latest check-in, and
an agreement's check-ins, for years afterwards, with the form for a new one.

Check-ins go through the same application-service call as the API route in
`services/http/follow_up_routes.py`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.agreements import AgreementStatus
from domain.errors import DomainError, NotFound
from projections.queries import engagement_dashboard
from services.access import PAGE_TENANT_PREFIX, PLAN, READ, Policy
from services.requests.reads import engagement_view, organisation_view
from services.schemas.engagement import CheckInIn
from services.usecases import follow_up
from services.web.commands import submit
from services.web.follow_up.meeting import Req, can_plan, engagement_base, require
from services.web.forms import Form, FormData, FormInvalid, decode, refusal, values
from services.web.i18n import ZONE
from services.web.i18n import gettext as _
from services.web.rendering import page

_T = PAGE_TENANT_PREFIX
_E = f"{_T}/e/{{engagement_id:uuid}}"
FOLLOWED = frozenset({AgreementStatus.IN_FORCE.value, AgreementStatus.ACCEPTED.value})


class CheckInPages(Controller):
    path = _E

    @get("/agreements", opt=READ.opt())
    async def agreements(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> Template:
        """Every agreement of the engagement with its status and its latest check-in."""
        engagement = await engagement_view(request, tenant_id, engagement_id)
        organisation = await organisation_view(request, tenant_id)
        today = datetime.now(ZONE).date()
        dashboard = engagement_dashboard(engagement, organisation, today)
        return page(
            "follow_up/agreements.html",
            tenant_id=tenant_id,
            base=engagement_base(tenant_id, engagement_id),
            engagement=engagement,
            agreements=dashboard.agreements,
            can_plan=can_plan(request, tenant_id),
            followed=FOLLOWED,
        )

    @get("/agreements/{agreement_id:uuid}/check-ins", opt=PLAN.opt())
    async def check_ins(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        agreement_id: FromPath[UUID],
        recorded: FromQuery[bool] = False,
    ) -> Template:
        """An agreement's check-ins, and the form for a new one."""
        return await _check_in_page(request, tenant_id, engagement_id, agreement_id, recorded=recorded)

    @post("/agreements/{agreement_id:uuid}/check-ins", opt=PLAN.opt(), status_code=303)
    async def check_in(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        agreement_id: FromPath[UUID],
        data: Form,
    ) -> Response[Any]:
        form = FormData(data)
        given = values(form)
        try:
            require(given, "status")
            happened = _check_in_moment(given.get("checked_on"))
            entry = decode({k: v for k, v in given.items() if k != "checked_on"}, CheckInIn)
            await submit(
                request,
                tenant_id,
                follow_up.CheckInOnAgreement.given(
                    entry, engagement_id=engagement_id, agreement_id=agreement_id
                ),
                form.key,
                happened=happened,
            )
        except (FormInvalid, DomainError) as error:
            errors, status_code = refusal(error)
            return await _check_in_page(
                request,
                tenant_id,
                engagement_id,
                agreement_id,
                errors=errors,
                form=given,
                status_code=status_code,
            )
        target = f"{engagement_base(tenant_id, engagement_id)}/agreements/{agreement_id}/check-ins?recorded=1"
        return Redirect(target, status_code=303)


async def _check_in_page(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    agreement_id: UUID,
    *,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, Any] | None = None,
    status_code: int = 200,
    recorded: bool = False,
) -> Template:
    engagement = await engagement_view(request, tenant_id, engagement_id)
    organisation = await organisation_view(request, tenant_id)
    agreement = next((a for a in engagement.agreements if a.agreement_id == agreement_id), None)
    if agreement is None:
        raise NotFound("no_agreement", agreement=str(agreement_id))
    names = {u.unit_id: u.name for u in organisation.units}
    return page(
        "follow_up/check_ins.html",
        status_code=status_code,
        tenant_id=tenant_id,
        base=engagement_base(tenant_id, engagement_id),
        engagement=engagement,
        agreement=agreement,
        units=[names.get(u, str(u)) for u in agreement.units],
        check_ins=sorted(agreement.check_ins, key=lambda c: c.at, reverse=True),
        followed=agreement.status in FOLLOWED,
        today=datetime.now(ZONE).date(),
        errors=errors or {},
        form=form or {},
        recorded=recorded,
    )


def _check_in_moment(given: Any) -> datetime | None:
    """When the check-in happened: the day given (at noon, Danish time), or now for today."""
    if not given:
        return None
    try:
        day = date.fromisoformat(str(given))
    except ValueError:
        raise FormInvalid({"checked_on": _("Please enter a date.")}) from None
    today = datetime.now(ZONE).date()
    if day > today:
        raise FormInvalid({"checked_on": _("The date cannot lie in the future.")})
    return None if day == today else datetime.combine(day, time(12), tzinfo=ZONE)


PAGES: list[ControllerRouterHandler] = [CheckInPages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{_E}/agreements"): READ,
    ("GET", f"{_E}/agreements/{{agreement_id:uuid}}/check-ins"): PLAN,
    ("POST", f"{_E}/agreements/{{agreement_id:uuid}}/check-ins"): PLAN,
}
