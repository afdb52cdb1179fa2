"""The follow-up meeting: the planning group walks through each agreement that needs management
acceptance and each proposal that needs a decision, and records the decision.

Decisions go through the same application-service calls as the API routes in
`services/http/follow_up_routes.py`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.errors import DomainError, InvariantViolated, NotFound
from domain.phases import Phase
from domain.proposals import ProposalStatus
from services.access import PAGE_TENANT_PREFIX, PLAN, PLANNERS, Policy
from services.auth.guards import principal_from
from services.errors import ConcurrentModification
from services.schemas.engagement import DecideAgreement, DecideProposal
from services.usecases import follow_up
from services.usecases.bus import Command
from services.web.commands import submit
from services.web.forms import Form, FormData, FormInvalid, decode, domain_message, refusal, values
from services.web.i18n import gettext as _
from services.web.rendering import page
from services.web.report.agenda import Agenda, AgendaItem, load_agenda

Req = Request[Any, Any, Any]
_T = PAGE_TENANT_PREFIX
_E = f"{_T}/e/{{engagement_id:uuid}}"
# The fields of a proposal's decision that belong to one outcome only.
OUTCOME_FIELDS = {
    ProposalStatus.DEFERRED.value: ("deferred_until",),
    ProposalStatus.UNDER_INVESTIGATION.value: ("owner", "due"),
}
ALL_OUTCOME_FIELDS = ("deferred_until", "owner", "due")
# A decision's form carries the engagement's version it was shown at, and is recorded only on
# that version: a form sent twice (a double click) cannot record a deferral twice.
VERSION_FIELD = "version"


def can_plan(request: Req, tenant_id: UUID) -> bool:
    return principal_from(request).role_in(tenant_id) in PLANNERS


def _missing(name: str) -> str:
    """What to say at a field left empty: a group of choices asks for a choice."""
    if name in ("accepted", "outcome"):
        return _("Choose a decision.")
    if name == "status":
        return _("Choose how the agreement is doing.")
    return _("Please fill this in.")


def require(given: Mapping[str, Any], *names: str) -> None:
    """Fields the command cannot do without, named at the field rather than for the form."""
    missing = {name: _missing(name) for name in names if name not in given}
    if missing:
        raise FormInvalid(missing)


def engagement_base(tenant_id: UUID, engagement_id: UUID) -> str:
    return f"/t/{tenant_id}/e/{engagement_id}"


def _meeting(
    tenant_id: UUID,
    agenda: Agenda,
    item_id: UUID | None,
    *,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, Any] | None = None,
    status_code: int = 200,
    recorded: bool = False,
) -> Template:
    item = agenda.find(item_id) if item_id is not None else agenda.first()
    if item_id is not None and item is None:
        raise NotFound("not_on_agenda")
    before, after = agenda.neighbours(item) if item else (None, None)
    form = form or {}
    return page(
        "follow_up/meeting.html",
        status_code=status_code,
        tenant_id=tenant_id,
        base=engagement_base(tenant_id, agenda.engagement.engagement_id),
        agenda=agenda,
        engagement=agenda.engagement,
        item=item,
        before=before,
        after=after,
        errors=errors or {},
        form=form,
        decided_by=form.get("decided_by", agenda.last_decided_by),
        recorded=recorded,
        deciding_now=agenda.engagement.phase in (Phase.FOLLOW_UP_MEETING, Phase.FOLLOW_THROUGH),
    )


def _onwards(tenant_id: UUID, agenda: Agenda, item_id: UUID) -> Redirect:
    """On to the next item nobody has decided on yet (or back to this one when all are decided)."""
    following = agenda.next_undecided(item_id)
    target = following.item_id if following else item_id
    base = engagement_base(tenant_id, agenda.engagement.engagement_id)
    return Redirect(f"{base}/follow-up?item={target}&recorded=1", status_code=303)


def _version(given: dict[str, Any]) -> int | None:
    """The engagement's version the form was shown at (taken out of the command's fields)."""
    raw = str(given.pop(VERSION_FIELD, ""))
    return int(raw) if raw.isascii() and raw.isdigit() else None


async def _overtaken(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    item_id: UUID,
    given: Mapping[str, Any],
    is_this_decision: Callable[[AgendaItem], bool],
) -> Response[Any]:
    """The engagement moved on since the form was shown. When what moved it is this very
    decision (the form sent twice), that is success; otherwise the item is shown as it is now."""
    agenda = await load_agenda(request, tenant_id, engagement_id)
    item = agenda.find(item_id)
    if item is not None and is_this_decision(item):
        return _onwards(tenant_id, agenda, item_id)
    errors = {
        "": _("Something changed since this page was loaded. Check the item and record the decision again.")
    }
    return _meeting(tenant_id, agenda, item_id, errors=errors, form=given, status_code=409)


def _is_agreement_decision(decision: DecideAgreement) -> Callable[[AgendaItem], bool]:
    def matches(item: AgendaItem) -> bool:
        taken = item.agreement.decision if item.agreement else None
        return taken is not None and (taken.accepted, taken.decided_by, taken.rationale) == (
            decision.accepted,
            decision.decided_by.strip(),
            decision.rationale.strip(),
        )

    return matches


def _is_proposal_decision(decision: DecideProposal) -> Callable[[AgendaItem], bool]:
    def matches(item: AgendaItem) -> bool:
        decisions = item.proposal.decisions if item.proposal else []
        taken = max(decisions, key=lambda d: d.at) if decisions else None
        if taken is None:
            return False
        recorded = (
            taken.outcome,
            taken.decided_by,
            taken.rationale,
            taken.deferred_until,
            taken.owner,
            taken.due,
        )
        owner = decision.owner.strip() if decision.owner else None
        sent = (
            decision.outcome.value,
            decision.decided_by.strip(),
            decision.rationale.strip(),
            decision.deferred_until,
            owner,
            decision.due,
        )
        return recorded == sent

    return matches


def _proposal_errors(error: DomainError, command: Mapping[str, Any]) -> dict[str, str]:
    """A refused decision's message at the field it concerns (a date before the decision at
    that date); an investigation without owner or due date names each field left empty."""
    empty: dict[str, str] = {}
    if isinstance(error, InvariantViolated) and command.get("outcome") == "under_investigation":
        if "owner" not in command:
            empty["owner"] = _("Name who will look into it.")
        if "due" not in command:
            empty["due"] = _("Give the date the answer is due.")
    if empty:
        return {"": domain_message(error), **empty}
    return _refused(error)


@dataclass(frozen=True)
class Decision:
    """A decision on an agenda item as its form gives it: the command that records it, and how
    to know an item that already carries it (the form sent twice)."""

    command: Command[int]
    expected_version: int | None
    is_this_decision: Callable[[AgendaItem], bool]


def _refused(error: DomainError) -> dict[str, str]:
    """A refused decision's message, at the field it concerns when there is one."""
    errors, _status = refusal(error)
    return errors


async def _record_decision(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    item_id: UUID,
    form: FormData,
    given: dict[str, Any],
    decision: Callable[[], Decision],
    *,
    refused: Callable[[DomainError], dict[str, str]] = _refused,
) -> Response[Any]:
    """Records the decision the form makes (`decision` raises `FormInvalid` when it makes none)
    and goes on to the next undecided item; else the item again, saying why not."""
    try:
        taken = decision()
        await submit(request, tenant_id, taken.command, form.key, expected_version=taken.expected_version)
    except FormInvalid as invalid:
        errors, status_code = invalid.errors, 400
    except ConcurrentModification:
        return await _overtaken(request, tenant_id, engagement_id, item_id, given, taken.is_this_decision)
    except DomainError as error:
        errors, status_code = refused(error), 409
    else:
        return _onwards(tenant_id, await load_agenda(request, tenant_id, engagement_id), item_id)
    agenda = await load_agenda(request, tenant_id, engagement_id)
    return _meeting(tenant_id, agenda, item_id, errors=errors, form=given, status_code=status_code)


class FollowUpPages(Controller):
    path = _E

    @get("/follow-up", opt=PLAN.opt())
    async def meeting(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        item: FromQuery[UUID | None] = None,
        recorded: FromQuery[bool] = False,
    ) -> Template:
        """The follow-up meeting: the agenda, one item at a time, with where it came from and
        the form for its decision."""
        agenda = await load_agenda(request, tenant_id, engagement_id)
        return _meeting(tenant_id, agenda, item, recorded=recorded)

    @post("/follow-up/agreements/{agreement_id:uuid}", opt=PLAN.opt(), status_code=303)
    async def decide_agreement(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        agreement_id: FromPath[UUID],
        data: Form,
    ) -> Response[Any]:
        form = FormData(data)
        given = values(form)
        version = _version(given)

        def decision() -> Decision:
            require(given, "accepted", "decided_by")
            decided = decode(given, DecideAgreement)
            return Decision(
                follow_up.DecideAgreement.given(
                    decided, engagement_id=engagement_id, agreement_id=agreement_id
                ),
                version,
                _is_agreement_decision(decided),
            )

        return await _record_decision(request, tenant_id, engagement_id, agreement_id, form, given, decision)

    @post("/follow-up/proposals/{proposal_id:uuid}", opt=PLAN.opt(), status_code=303)
    async def decide_proposal(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        proposal_id: FromPath[UUID],
        data: Form,
    ) -> Response[Any]:
        form = FormData(data)
        given = values(form)
        version = _version(given)
        # One form holds the fields of every outcome; only the chosen outcome's are sent on.
        own = OUTCOME_FIELDS.get(str(given.get("outcome", "")), ())
        command = {k: v for k, v in given.items() if k not in ALL_OUTCOME_FIELDS or k in own}

        def decision() -> Decision:
            require(command, "outcome", "decided_by")
            decided = decode(command, DecideProposal)
            return Decision(
                follow_up.DecideProposal.given(decided, engagement_id=engagement_id, proposal_id=proposal_id),
                version,
                _is_proposal_decision(decided),
            )

        return await _record_decision(
            request,
            tenant_id,
            engagement_id,
            proposal_id,
            form,
            given,
            decision,
            refused=lambda error: _proposal_errors(error, command),
        )


PAGES: list[ControllerRouterHandler] = [FollowUpPages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{_E}/follow-up"): PLAN,
    ("POST", f"{_E}/follow-up/agreements/{{agreement_id:uuid}}"): PLAN,
    ("POST", f"{_E}/follow-up/proposals/{{proposal_id:uuid}}"): PLAN,
}
