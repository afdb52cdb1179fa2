from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from uuid import UUID

from domain.errors import InvariantViolated


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
