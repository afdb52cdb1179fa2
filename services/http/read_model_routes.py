"""Read-model routes: the theme-day board, the relation matrix, the engagement dashboard, the
longitudinal view of a tenant's relations and agreements over the years, and the
consultancy's portfolio across tenants. Thin: fetch documents, answer with `projections.queries`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, QueryParameter
from litestar.types import ControllerRouterHandler

from projections.queries import (
    EngagementDashboard,
    LongitudinalView,
    Portfolio,
    RelationMatrix,
    ThemeDayBoard,
    engagement_dashboard,
    longitudinal,
    relation_matrix,
    theme_day_board,
)
from services.access import PORTFOLIO_ROLES, READ, READ_AT_TABLE, UnitScope
from services.auth.guards import principal_from
from services.requests.problems import QUERY_ERRORS, problem_responses
from services.requests.reads import (
    AS_OF,
    engagement_view,
    engagements_of,
    organisation_units,
    organisation_view,
    portfolio_of,
)
from services.usecases.personal_codes import people_per_unit

Req = Request[Any, Any, Any]
READ_ERRORS = QUERY_ERRORS
TODAY = "The day to judge dates against (due dates, check-in horizons); today (UTC) by default, or the day of `as_of`."

AsOf = Annotated[datetime | None, QueryParameter(description=AS_OF)]
Today = Annotated[date | None, QueryParameter(description=TODAY)]


def _today(today: date | None, as_of: datetime | None) -> date:
    if today is not None:
        return today
    return (as_of or datetime.now(UTC)).date()


class ReadModelController(Controller):
    path = "/api/v1/tenants/{tenant_id:uuid}"
    tags = ["read models"]

    @get(
        "/engagements/{engagement_id:uuid}/board",
        opt=READ_AT_TABLE.opt(UnitScope.READ),
        responses=READ_ERRORS,
    )
    async def board(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], as_of: AsOf = None
    ) -> ThemeDayBoard:
        """The theme-day board: the phase, each unit's progress (relations mapped and rated,
        cards sent, received, accepted and declined, dialogues, wrap-up; where individuals rate,
        how many have rated and, with personal codes, how many people the codes are for), the
        dialogue schedule by round, and the agreements and proposals so far. Unit names as they
        were at `as_of`."""
        engagement = await engagement_view(request, tenant_id, engagement_id, moment=as_of)
        organisation = await organisation_units(request, tenant_id, moment=as_of)
        people = await people_per_unit(
            request.app.state.container, tenant_id, engagement_id, engagement.unit_ids, as_of
        )
        return theme_day_board(engagement, organisation, as_of, people)

    @get("/engagements/{engagement_id:uuid}/matrix", opt=READ.opt(), responses=READ_ERRORS)
    async def matrix(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], as_of: AsOf = None
    ) -> RelationMatrix:
        """The relation matrix: unit by unit, per dimension and as index, both directions of every
        tie, strength bands, and the network of shown ties. Relations rated by fewer individuals
        than the anonymity threshold show no numbers, and every mean and total is computed from
        the shown cells only (the number of cells left out is given instead)."""
        engagement = await engagement_view(request, tenant_id, engagement_id, moment=as_of)
        organisation = await organisation_units(request, tenant_id, moment=as_of)
        return relation_matrix(engagement, organisation, as_of)

    @get("/engagements/{engagement_id:uuid}/dashboard", opt=READ.opt(), responses=READ_ERRORS)
    async def dashboard(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        as_of: AsOf = None,
        today: Today = None,
    ) -> EngagementDashboard:
        """The engagement dashboard: weakest shown ties, cards per tie by status, agreements by
        status with their latest check-in, proposals by status, investigations past their due
        date and deferred proposals."""
        engagement = await engagement_view(request, tenant_id, engagement_id, moment=as_of)
        organisation = await organisation_units(request, tenant_id, moment=as_of)
        return engagement_dashboard(engagement, organisation, _today(today, as_of), as_of)

    @get("/longitudinal", opt=READ.opt(), responses=READ_ERRORS)
    async def longitudinal(
        self, request: Req, tenant_id: FromPath[UUID], as_of: AsOf = None, today: Today = None
    ) -> LongitudinalView:
        """Relations and agreements across the years: each directed relation's index and
        dimensions in every engagement (followed through renames, mergers and splits, with names
        as they were on each theme day), the agreements made on it and their check-ins; how
        agreements were followed through at 6, 12 and 24 months; and the mean index change of
        relations with and without agreements. Reads every engagement of the tenant."""
        organisation = await organisation_view(request, tenant_id, moment=as_of)
        engagements = await engagements_of(request, tenant_id, as_of, organisation)
        return longitudinal(organisation, engagements, _today(today, as_of))


def _portfolio_guard(request: Req) -> None:
    if principal_from(request).platform_role not in PORTFOLIO_ROLES:
        raise PermissionDeniedException("Only consultancy admins and consultants have a portfolio.")


@get("/api/v1/portfolio", tags=["read models"], responses=problem_responses(400, 401, 403))
async def consultancy_portfolio(request: Req, today: Today = None) -> Portfolio:
    """The consultancy's portfolio across the tenants the caller may act in (all of them for
    consultancy admins): engagements by phase, theme days and follow-up meetings to come,
    investigations past their due date, and agreements in force without a check-in for half a
    year. Consultancy admins and consultants only.

    Cost: it reads the tenant list, then every engagement document of every accessible tenant,
    one at a time — fine for tens of tenants; beyond that it wants a portfolio projection."""
    _portfolio_guard(request)
    return await portfolio_of(request, principal_from(request), _today(today, None))


READ_MODEL_ROUTES: list[ControllerRouterHandler] = [ReadModelController, consultancy_portfolio]
