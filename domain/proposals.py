from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from uuid import UUID

from domain.errors import InvariantViolated
from domain.text import required_text


class ProposalStatus(str, Enum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    DEFERRED = "deferred"
    UNDER_INVESTIGATION = "under_investigation"


# Deferred and investigated proposals come back to a later meeting; the others are settled.
REVISITABLE = (ProposalStatus.OPEN, ProposalStatus.DEFERRED, ProposalStatus.UNDER_INVESTIGATION)


@dataclass(frozen=True)
class ProposalDecision:
    outcome: ProposalStatus
    rationale: str
    decided_by: str
    deferred_until: date | None
    owner: str | None
    due: date | None
    at: datetime


@dataclass(frozen=True)
class Proposal:
    """A proposal (forslag) from a dialogue that needs a management decision or investigation."""

    proposal_id: UUID
    dialogue_id: UUID
    units: tuple[UUID, UUID]
    text: str
    status: ProposalStatus
    decisions: tuple[ProposalDecision, ...]

    def check_decidable(self) -> None:
        if self.status not in REVISITABLE:
            raise InvariantViolated("proposal_decided", state=self.status.value, status=self.status.value)


def proposal_decision(
    outcome: ProposalStatus,
    rationale: str,
    decided_by: str,
    at: datetime,
    deferred_until: date | None,
    owner: str | None,
    due: date | None,
) -> ProposalDecision:
    """A decision on a proposal, refused when its outcome and the details given do not fit."""
    if outcome is ProposalStatus.OPEN:
        raise InvariantViolated("decision_outcome_invalid")
    if outcome is ProposalStatus.UNDER_INVESTIGATION and (not owner or not owner.strip() or due is None):
        raise InvariantViolated("investigation_incomplete")
    if outcome is not ProposalStatus.UNDER_INVESTIGATION and (owner or due):
        raise InvariantViolated("owner_without_investigation")
    if outcome is not ProposalStatus.DEFERRED and deferred_until is not None:
        raise InvariantViolated("deferral_date_without_deferral")
    # The day of the decision in UTC, which is at most a day off the meeting's own day.
    decided_on = at.date()
    if due is not None and due < decided_on:
        raise InvariantViolated("due_before_decision")
    if deferred_until is not None and deferred_until < decided_on:
        raise InvariantViolated("deferred_before_decision")
    return ProposalDecision(
        outcome,
        rationale.strip(),
        required_text(decided_by, "decided_by_empty"),
        deferred_until,
        owner.strip() if owner else None,
        due,
        at,
    )
