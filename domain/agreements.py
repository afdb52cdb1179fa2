from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from uuid import UUID

from domain.errors import InvariantViolated
from domain.text import required_text


class AgreementStatus(str, Enum):
    IN_FORCE = "in_force"  # made by the two units themselves, needs nobody's acceptance
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class CheckInStatus(str, Enum):
    IMPLEMENTED = "implemented"
    IN_PROGRESS = "in_progress"
    LAPSED = "lapsed"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class AgreementDecision:
    accepted: bool
    rationale: str
    decided_by: str
    at: datetime


@dataclass(frozen=True)
class CheckIn:
    check_in_id: UUID
    status: CheckInStatus
    note: str
    at: datetime
    # What shows it: minutes, a link, a document's name (check-ins before this field had none).
    evidence: str = ""


@dataclass(frozen=True)
class Agreement:
    """An agreement (aftale) two units made in a dialogue, followed up for years by check-ins."""

    agreement_id: UUID
    dialogue_id: UUID
    units: tuple[UUID, UUID]
    text: str
    needs_acceptance: bool
    status: AgreementStatus
    decision: AgreementDecision | None
    check_ins: tuple[CheckIn, ...]

    def check_decidable(self) -> None:
        if not self.needs_acceptance:
            raise InvariantViolated("agreement_needs_no_acceptance", state=self.status.value)
        if self.status is not AgreementStatus.AWAITING_ACCEPTANCE:
            raise InvariantViolated("agreement_decided", state=self.status.value, status=self.status.value)

    def check_followable(self) -> None:
        if self.status not in (AgreementStatus.IN_FORCE, AgreementStatus.ACCEPTED):
            raise InvariantViolated(
                "agreement_not_in_force", state=self.status.value, status=self.status.value
            )


def agreement_decision(accepted: bool, rationale: str, decided_by: str, at: datetime) -> AgreementDecision:
    """A decision names who made it; its rationale may be left empty."""
    return AgreementDecision(accepted, rationale.strip(), required_text(decided_by, "decided_by_empty"), at)
