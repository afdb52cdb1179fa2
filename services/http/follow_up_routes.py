"""The follow-up meeting (opfølgningsmøde) and the years after: decisions and check-ins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from projections.documents import (
    AgreementOut,
    ProposalOut,
)
from services.access import PLAN, READ
from services.requests.commands import run
from services.requests.problems import COMMAND_ERRORS, QUERY_ERRORS
from services.requests.reads import AS_OF, engagement_view
from services.schemas.engagement import (
    CheckInCreated,
    CheckInIn,
    DecideAgreement,
    DecideProposal,
    Recorded,
)
from services.usecases import follow_up

Req = Request[Any, Any, Any]
WRITE_ERRORS = COMMAND_ERRORS
AsOf = Annotated[datetime | None, QueryParameter(description=AS_OF)]


class FollowUpController(Controller):
    path = "/api/v1/tenants/{tenant_id:uuid}/engagements/{engagement_id:uuid}"
    tags = ["follow-up"]

    @get("/agreements", opt=READ.opt(), responses=QUERY_ERRORS)
    async def agreements(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], as_of: AsOf = None
    ) -> list[AgreementOut]:
        """Agreements with their acceptance decision and every check-in; as they stood at
        `as_of` if given."""
        return (await engagement_view(request, tenant_id, engagement_id, moment=as_of)).agreements

    @get("/proposals", opt=READ.opt(), responses=QUERY_ERRORS)
    async def proposals(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], as_of: AsOf = None
    ) -> list[ProposalOut]:
        """Proposals with every decision taken on them, oldest first; as they stood at
        `as_of` if given."""
        return (await engagement_view(request, tenant_id, engagement_id, moment=as_of)).proposals

    @post(
        "/agreements/{agreement_id:uuid}/decision",
        opt=PLAN.opt(),
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def decide_agreement(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        agreement_id: FromPath[UUID],
        data: JSONBody[DecideAgreement],
    ) -> Recorded:
        """Accept or reject an agreement that needs management acceptance, with a rationale."""
        version = await run(
            request,
            tenant_id,
            follow_up.DecideAgreement.given(data, engagement_id=engagement_id, agreement_id=agreement_id),
        )
        return Recorded(version)

    @post(
        "/proposals/{proposal_id:uuid}/decision",
        opt=PLAN.opt(),
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def decide_proposal(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        proposal_id: FromPath[UUID],
        data: JSONBody[DecideProposal],
    ) -> Recorded:
        """Approve, reject, defer or send a proposal for investigation. A deferred or
        investigated proposal is decided again at a later meeting, as a new decision."""
        version = await run(
            request,
            tenant_id,
            follow_up.DecideProposal.given(data, engagement_id=engagement_id, proposal_id=proposal_id),
        )
        return Recorded(version)

    @post("/agreements/{agreement_id:uuid}/check-ins", opt=PLAN.opt(), responses=WRITE_ERRORS)
    async def check_in(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        agreement_id: FromPath[UUID],
        data: JSONBody[CheckInIn],
    ) -> CheckInCreated:
        """Record how an agreement is doing: implemented, in progress, lapsed or abandoned, with a
        note and the evidence for it."""
        check_in_id = await run(
            request,
            tenant_id,
            follow_up.CheckInOnAgreement.given(data, engagement_id=engagement_id, agreement_id=agreement_id),
        )
        return CheckInCreated(check_in_id)
