"""Decision lineage: the nodes (ratings, dance cards, dialogues, agreements, proposals,
decisions, check-ins) and the links between them that the events record."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import msgspec

from domain.provenance import Provenance


class NodeKind(str, Enum):
    """What a lineage node is (the first part of its id, `kind:id`)."""

    RATING = "rating"
    DANCE_CARD = "dance_card"
    CARD_ANSWER = "card_answer"
    DIALOGUE = "dialogue"
    AGREEMENT = "agreement"
    PROPOSAL = "proposal"
    AGREEMENT_DECISION = "agreement_decision"
    PROPOSAL_DECISION = "proposal_decision"
    CHECK_IN = "check_in"


class LineageNode(msgspec.Struct, frozen=True):
    node_id: str
    kind: str
    engagement_id: UUID
    label: str
    actor_id: UUID
    actor_role: str
    occurred_at: datetime
    position: int
    parents: list[str]


def _node(
    position: int, event: Any, kind: NodeKind, node_key: object, label: str, *extra_parents: str
) -> LineageNode:
    provenance: Provenance = event.provenance
    parents = [f"{c.kind}:{c.id}" for c in provenance.caused_by]
    parents += [p for p in extra_parents if p not in parents]
    return LineageNode(
        node_id=f"{kind.value}:{node_key}",
        kind=kind.value,
        engagement_id=event.originator_id,
        label=label,
        actor_id=provenance.actor_id,
        actor_role=provenance.actor_role.value,
        occurred_at=provenance.occurred_at,
        position=position,
        parents=parents,
    )


def decision_key(decided: UUID, version: int) -> str:
    """A decision's own id: what it decided and the version of the engagement its event holds.
    Decisions are recorded as events of the engagement, so the pair names exactly one."""
    return f"{decided}:{version}"


def lineage_nodes(position: int, event: Any) -> list[LineageNode]:
    """The lineage nodes an engagement event adds (none for most events)."""
    name = type(event).__qualname__
    if not name.startswith("Engagement."):
        return []
    match name.removeprefix("Engagement."):
        case "RatingSubmitted":
            r = event.rating
            return [_node(position, event, NodeKind.RATING, r.rating_id, f"{r.unit_id}->{r.counterpart_id}")]
        case "DanceCardSent":
            card = event.card
            return [_node(position, event, NodeKind.DANCE_CARD, card.card_id, card.topic)]
        case "DanceCardAccepted" | "DanceCardDeclined":
            answer = "accepted" if name.endswith("Accepted") else "declined"
            return [_node(position, event, NodeKind.CARD_ANSWER, f"{event.card_id}:{answer}", answer)]
        case "DialogueHeld":
            dialogue = event.dialogue
            return [_node(position, event, NodeKind.DIALOGUE, dialogue.dialogue_id, dialogue.notes[:120])]
        case "AgreementMade":
            return [_node(position, event, NodeKind.AGREEMENT, event.agreement_id, event.text[:200])]
        case "ProposalMade":
            return [_node(position, event, NodeKind.PROPOSAL, event.proposal_id, event.text[:200])]
        case "AgreementAccepted" | "AgreementRejected":
            verdict = "accepted" if name.endswith("Accepted") else "rejected"
            key = decision_key(event.agreement_id, event.originator_version)
            return [
                _node(
                    position,
                    event,
                    NodeKind.AGREEMENT_DECISION,
                    key,
                    f"{verdict} by {event.decision.decided_by}",
                )
            ]
        case "ProposalDecided":
            key = decision_key(event.proposal_id, event.originator_version)
            label = f"{event.decision.outcome.value} by {event.decision.decided_by}"
            return [_node(position, event, NodeKind.PROPOSAL_DECISION, key, label)]
        case "AgreementCheckedIn":
            return [
                _node(
                    position,
                    event,
                    NodeKind.CHECK_IN,
                    event.check_in.check_in_id,
                    event.check_in.status.value,
                )
            ]
    return []
