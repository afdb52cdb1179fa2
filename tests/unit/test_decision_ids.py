"""Every decision has an id of its own, the id of its node in the lineage: an agreement's one
decision, and each of a proposal's decisions in turn (deferred, then decided again)."""

from __future__ import annotations

from datetime import timedelta

from domain.proposals import ProposalStatus
from projections.folds import EngagementFold
from projections.lineage import NodeKind, lineage_nodes
from tests.unit.factories import agreement, engagement_with_outcomes, later, proposal


def test_each_decision_carries_the_id_of_its_node_in_the_lineage() -> None:
    kept, dropped = agreement(needs_acceptance=True), agreement(needs_acceptance=True)
    put_off = proposal()
    engagement, _, _ = engagement_with_outcomes((kept, dropped), (put_off,))
    engagement.decide_agreement(kept.agreement_id, True, "", "Direktør", later(60))
    engagement.decide_agreement(dropped.agreement_id, False, "for dyrt", "Direktør", later(60))
    meeting = later(60)
    engagement.decide_proposal(
        put_off.proposal_id,
        ProposalStatus.DEFERRED,
        "næste møde",
        "Direktør",
        meeting,
        deferred_until=meeting.occurred_at.date() + timedelta(days=60),
    )
    engagement.decide_proposal(put_off.proposal_id, ProposalStatus.APPROVED, "", "Direktør", later(200))
    events = engagement.collect_events()
    fold = EngagementFold()
    nodes: dict[NodeKind, list[str]] = {}
    for position, event in enumerate(events, start=1):
        fold.apply(event)
        for node in lineage_nodes(position, event):
            nodes.setdefault(node.kind, []).append(node.node_id.partition(":")[2])

    shown = fold.render()
    decided = {a.agreement_id: a.decision_id for a in shown.agreements}
    assert [decided[kept.agreement_id], decided[dropped.agreement_id]] == nodes[NodeKind.AGREEMENT_DECISION]
    (twice,) = shown.proposals
    assert [d.outcome for d in twice.decisions] == ["deferred", "approved"]
    assert [d.decision_id for d in twice.decisions] == nodes[NodeKind.PROPOSAL_DECISION]
    assert len(set(nodes[NodeKind.PROPOSAL_DECISION])) == 2


def test_an_undecided_agreement_has_no_decision_id() -> None:
    open_one = agreement(needs_acceptance=True)
    engagement, _, _ = engagement_with_outcomes((open_one,))
    fold = EngagementFold()
    for event in engagement.collect_events():
        fold.apply(event)
    (shown,) = fold.render().agreements
    assert shown.decision is None
    assert shown.decision_id is None
