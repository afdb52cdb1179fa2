"""The follow-up meeting (opfølgningsmøde) and afterwards: decisions and check-ins."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain.agreements import CheckInStatus
from domain.proposals import ProposalStatus
from domain.provenance import Provenance
from services.application import TenantApplication, derived_id
from services.usecases.bus import Command, handles


class DecideAgreement(Command[int], frozen=True, kw_only=True):
    """Accept or reject an agreement that needs acceptance; recorded as `AcceptAgreement` or
    `RejectAgreement`."""

    engagement_id: UUID
    agreement_id: UUID
    accepted: bool
    rationale: str
    decided_by: str

    @property
    def command_name(self) -> str:
        return "AcceptAgreement" if self.accepted else "RejectAgreement"


class DecideProposal(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    proposal_id: UUID
    outcome: ProposalStatus
    rationale: str
    decided_by: str
    deferred_until: date | None = None
    owner: str | None = None
    due: date | None = None


class CheckInOnAgreement(Command[UUID], frozen=True, kw_only=True):
    engagement_id: UUID
    agreement_id: UUID
    status: CheckInStatus
    note: str
    evidence: str = ""


@handles(DecideAgreement)
def decide_agreement(app: TenantApplication, c: DecideAgreement, p: Provenance, v: int | None) -> int:
    return app.on_engagement(
        c.engagement_id,
        lambda e: e.decide_agreement(c.agreement_id, c.accepted, c.rationale, c.decided_by, p),
        v,
        p,
    )


@handles(DecideProposal)
def decide_proposal(app: TenantApplication, c: DecideProposal, p: Provenance, v: int | None) -> int:
    return app.on_engagement(
        c.engagement_id,
        lambda e: e.decide_proposal(
            c.proposal_id,
            c.outcome,
            c.rationale,
            c.decided_by,
            p,
            deferred_until=c.deferred_until,
            owner=c.owner,
            due=c.due,
        ),
        v,
        p,
    )


@handles(CheckInOnAgreement)
def check_in(app: TenantApplication, c: CheckInOnAgreement, p: Provenance, v: int | None) -> UUID:
    check_in_id = derived_id(p, "check-in")
    app.on_engagement(
        c.engagement_id,
        lambda e: e.check_in(check_in_id, c.agreement_id, c.status, c.note, p, c.evidence),
        v,
        p,
    )
    return check_in_id
