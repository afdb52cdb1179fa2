"""Personal codes: a join code per person of a unit, where participants rate one by one.

Issued in batches by facilitators (the first for as many people as the unit has, more when
people come later); each answer carries its slips' codes, join links and QR codes, the same
again for a retry of the same request.
Listed as a count of people and of those who have rated, and the slips revoked by number:
never a code, never who rated, never when (docs/adr/0032).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.types import ControllerRouterHandler

from domain.personal_codes import MOST_PEOPLE_PER_BATCH
from services.access import FACILITATE
from services.bootstrap import Container
from services.live import end_streams
from services.requests.problems import problem_responses
from services.requests.provenance import build_provenance
from services.usecases.personal_codes import (
    IssuePersonalCodes,
    PersonalCodesIssued,
    PersonalCodesOut,
    issue_personal_codes,
    personal_codes_of,
    revoke_personal_codes,
)

Req = Request[Any, Any, Any]


class PersonalCodesIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How many people of the unit get a code now (the first batch, or more for those who came later)."""

    people: Annotated[int, msgspec.Meta(ge=1, le=MOST_PEOPLE_PER_BATCH)]


class PersonalCodeController(Controller):
    path = "/api/v1/tenants/{tenant_id:uuid}/engagements/{engagement_id:uuid}/units/{unit_id:uuid}/personal-codes"
    tags = ["join codes"]

    @post("/", opt=FACILITATE.opt(), responses=problem_responses(400, 401, 403, 404, 409))
    async def issue(
        self,
        request: Req,
        container: NamedDependency[Container],
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        data: JSONBody[PersonalCodesIn],
    ) -> Response[PersonalCodesIssued]:
        """Issue a personal code for each of `people` people of the unit: each rates as a
        pseudonymous rater of its own, until the end of the theme day (Danish time). Only where
        participants rate one by one (409 where units rate together). Slips are numbered on from
        earlier batches; the answer is the only place the API shows their codes. A retried request
        (same Idempotency-Key and body) answers the same slips and codes again and records nothing
        new; the same key for another number of people is refused (409)."""
        provenance = build_provenance(request, request.user, tenant_id, "IssuePersonalCodes")
        command = IssuePersonalCodes(engagement_id=engagement_id, unit_id=unit_id, people=data.people)
        issued = await issue_personal_codes(container, tenant_id, command, provenance, str(request.base_url))
        return Response(issued, status_code=201, headers={"Cache-Control": "no-store"})

    @get("/", opt=FACILITATE.opt(), responses=problem_responses(401, 403, 404))
    async def counted(
        self,
        container: NamedDependency[Container],
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
    ) -> PersonalCodesOut:
        """How many people the unit's personal codes are for and how many of them have rated,
        with the slips revoked: counts only, never which code rated or when."""
        return await personal_codes_of(container, tenant_id, engagement_id, unit_id)

    @post("/revoke", opt=FACILITATE.opt(), status_code=200, responses=problem_responses(401, 403, 404))
    async def revoke_all(
        self,
        request: Req,
        container: NamedDependency[Container],
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
    ) -> PersonalCodesOut:
        """Revoke every personal code of the unit still usable: nobody joins with them any more,
        and their tokens are refused on their next request. Ratings given stay."""
        provenance = build_provenance(request, request.user, tenant_id, "RevokePersonalCodes")
        out, revoked = await revoke_personal_codes(
            container, tenant_id, engagement_id, unit_id, None, provenance
        )
        for code_id in revoked:
            await end_streams(request.app, join_code_id=code_id)
        return out

    @post(
        "/{slip:int}/revoke",
        opt=FACILITATE.opt(),
        status_code=200,
        responses=problem_responses(401, 403, 404),
    )
    async def revoke_slip(
        self,
        request: Req,
        container: NamedDependency[Container],
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        slip: FromPath[int],
    ) -> PersonalCodesOut:
        """Revoke the code of one slip, by the number printed on it (a lost slip). Ratings given
        with it stay."""
        provenance = build_provenance(request, request.user, tenant_id, "RevokePersonalCodes")
        out, revoked = await revoke_personal_codes(
            container, tenant_id, engagement_id, unit_id, slip, provenance
        )
        for code_id in revoked:
            await end_streams(request.app, join_code_id=code_id)
        return out


PERSONAL_CODE_ROUTES: list[ControllerRouterHandler] = [PersonalCodeController]
