"""Routes for engagements: the preparatory meeting, phases, and what each phase records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ControllerRouterHandler

from projections.documents import (
    EngagementOut,
    EngagementSummary,
)
from services.access import FACILITATE, PLAN, READ, READ_AT_TABLE, UnitScope
from services.bootstrap import Container
from services.http.audit_routes import AuditController
from services.http.chain_routes import ChainController
from services.http.follow_up_routes import FollowUpController
from services.http.live_routes import follow_engagement
from services.http.organisation_routes import OrganisationController
from services.http.read_model_routes import READ_MODEL_ROUTES
from services.http.theme_day_routes import ThemeDayController
from services.requests.commands import run
from services.requests.problems import COMMAND_ERRORS, QUERY_ERRORS
from services.requests.reads import AS_OF, engagement_view, organisation_view
from services.schemas.engagement import (
    ChangePhase,
    EngagementCreated,
    PreparationIn,
    PrepareEngagement,
    Recorded,
    SetRounds,
    StepBack,
)
from services.usecases import engagements
from services.usecases.engagements import instrument_for, preparation_of

Req = Request[Any, Any, Any]
WRITE_ERRORS = COMMAND_ERRORS


class EngagementController(Controller):
    path = "/api/v1/tenants/{tenant_id:uuid}/engagements"
    tags = ["engagements"]

    @post("/", opt=PLAN.opt(), responses=WRITE_ERRORS)
    async def prepare(
        self, request: Req, tenant_id: FromPath[UUID], data: JSONBody[PrepareEngagement]
    ) -> EngagementCreated:
        """The preparatory meeting: focus, target group, work process, participating units,
        planning group and the theme day's date. Pins the instrument version used: the given
        one (the latest when no version is named), else the built-in instrument."""
        container: Container = request.app.state.container
        instrument = await instrument_for(container, data.instrument_id, data.instrument_version)
        engagement_id = await run(
            request,
            tenant_id,
            engagements.PrepareEngagement(
                tenant_id=tenant_id,
                preparation=preparation_of(data),
                unit_ids=tuple(data.unit_ids),
                instrument=instrument,
                rating_mode=data.rating_mode,
                min_group_size=data.min_group_size,
                rounds=data.rounds,
            ),
        )
        return EngagementCreated(engagement_id)

    @get("/", opt=READ.opt(), responses=QUERY_ERRORS)
    async def list_engagements(self, request: Req, tenant_id: FromPath[UUID]) -> list[EngagementSummary]:
        """The organisation's engagements, oldest first."""
        organisation = await organisation_view(request, tenant_id)
        return [EngagementSummary(e.engagement_id, e.title) for e in organisation.engagements]

    @get(
        "/{engagement_id:uuid}",
        opt=READ_AT_TABLE.opt(UnitScope.READ),
        responses=QUERY_ERRORS,
    )
    async def show(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        version: Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1)] = None,
        as_of: Annotated[datetime | None, QueryParameter(description=AS_OF)] = None,
    ) -> Response[EngagementOut]:
        """The engagement as it stands (or as it stood at `as_of`, or at `version`): phase,
        ratings shown only above the anonymity threshold, cards, schedule, dialogues,
        agreements, proposals, and when each happened. The `ETag` is the version; send it
        back as `If-Match` to make a command conditional."""
        shown = await engagement_view(request, tenant_id, engagement_id, moment=as_of, version=version)
        return Response(shown, headers={"ETag": f'"{shown.version}"'})

    @put("/{engagement_id:uuid}/preparation", opt=PLAN.opt(), responses=WRITE_ERRORS)
    async def revise_preparation(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        data: JSONBody[PreparationIn],
    ) -> Recorded:
        """Revise what the preparatory meeting settled, until the theme day starts mapping."""
        version = await run(
            request,
            tenant_id,
            engagements.RevisePreparation(engagement_id=engagement_id, preparation=preparation_of(data)),
        )
        return Recorded(version)

    @post(
        "/{engagement_id:uuid}/phase/advance",
        opt=FACILITATE.opt(),
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def advance(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        data: JSONBody[ChangePhase],
    ) -> Recorded:
        """Move the engagement to its next phase. `expected_phase` must name the current one."""
        version = await run(
            request,
            tenant_id,
            engagements.AdvancePhase(engagement_id=engagement_id, expected_phase=data.expected_phase),
        )
        return Recorded(version)

    @post(
        "/{engagement_id:uuid}/phase/back",
        opt=FACILITATE.opt(),
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def step_back(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: JSONBody[StepBack]
    ) -> Recorded:
        """Step back one phase, with a reason. Recorded as an event; nothing is edited."""
        version = await run(
            request,
            tenant_id,
            engagements.MovePhaseBack(
                engagement_id=engagement_id, expected_phase=data.expected_phase, reason=data.reason
            ),
        )
        return Recorded(version)

    @put("/{engagement_id:uuid}/rounds", opt=FACILITATE.opt(), responses=WRITE_ERRORS)
    async def set_rounds(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        data: JSONBody[SetRounds],
    ) -> Recorded:
        """Set the number of dialogue rounds on the theme day."""
        version = await run(
            request, tenant_id, engagements.SetRounds(engagement_id=engagement_id, rounds=data.rounds)
        )
        return Recorded(version)


ENGAGEMENT_ROUTES: list[ControllerRouterHandler] = [
    OrganisationController,
    EngagementController,
    ThemeDayController,
    FollowUpController,
    *READ_MODEL_ROUTES,
    follow_engagement,
    AuditController,
    ChainController,
]
