"""What the questions share: the figures' precision, the follow-through keys, whether a
relation is shown (and how a hidden one is labelled), the latest check-in of an agreement and
decision on a proposal, and investigations past their due date."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from domain.agreements import AgreementStatus, CheckInStatus
from domain.proposals import ProposalStatus
from domain.ratings import RatingMode
from projections.documents import (
    AgreementOut,
    CheckInOut,
    EngagementOut,
    ProposalDecisionOut,
    ProposalOut,
    RelationOut,
)

BELOW_THRESHOLD = "below threshold"


NOT_RATED = "not rated"

EARLIEST = datetime.min.replace(tzinfo=UTC)
TWO_PLACES = Decimal("0.01")
NO_CHECK_IN = "no_check_in"
FOLLOW_THROUGH_KEYS = (*(s.value for s in CheckInStatus), NO_CHECK_IN)
IN_EFFECT = frozenset({AgreementStatus.IN_FORCE.value, AgreementStatus.ACCEPTED.value})


def mean(values: Iterable[Decimal]) -> str | None:
    numbers = list(values)
    if not numbers:
        return None
    return str((sum(numbers, Decimal(0)) / len(numbers)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP))


def is_shown(view: RelationOut) -> bool:
    return not view.suppressed and view.index is not None


def hidden_label_of(engagement: EngagementOut) -> str:
    return BELOW_THRESHOLD if engagement.rating_mode is RatingMode.INDIVIDUAL else NOT_RATED


def latest_check_in(agreement: AgreementOut, until: datetime | None = None) -> CheckInOut | None:
    dated = [c for c in agreement.check_ins if until is None or c.at <= until]
    return max(dated, key=lambda c: c.at) if dated else None


def latest_decision_of(proposal: ProposalOut) -> ProposalDecisionOut | None:
    return max(proposal.decisions, key=lambda d: d.at) if proposal.decisions else None


def past_due(proposals: list[ProposalOut], today: date) -> list[tuple[ProposalOut, str | None, date]]:
    """Proposals under investigation whose due date has passed: (proposal, owner, due)."""
    overdue = []
    for proposal in proposals:
        decision = latest_decision_of(proposal)
        if proposal.status != ProposalStatus.UNDER_INVESTIGATION.value or decision is None:
            continue
        if decision.due is not None and decision.due < today:
            overdue.append((proposal, decision.owner, decision.due))
    return overdue
