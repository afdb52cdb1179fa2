"""Folds: an aggregate's state carried forward event by event with the domain's own mutators,
plus the trail of when things happened, persisted between batches as one document each."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent

from domain.engagement import Engagement
from domain.organisation import Organisation
from domain.phases import Phase
from projections.anonymity import RESHOWING_EVENTS, publish
from projections.documents import EngagementOut, OrganisationOut, PhaseChange
from projections.render import EngagementTrail, engagement_out, organisation_out


class FoldState(msgspec.Struct):
    """The persisted form of a fold: the aggregate as a snapshot, and the trail."""

    topic: str
    version: int
    snapshot: bytes
    trail: EngagementTrail | None = None


def _plain(mapper: Mapper[UUID]) -> Mapper[UUID]:
    """The mapper without its cipher or compressor. A fold's state lives in the views, beside
    the documents rendered from it in the clear, and dropped with them when the tenant is
    erased: encrypting it would protect nothing and make it differ on every write."""
    if mapper.cipher is None and mapper.compressor is None:
        return mapper
    return type(mapper)(transcoder=mapper.transcoder)


def _dump(aggregate: Any, mapper: Mapper[UUID], trail: EngagementTrail | None) -> bytes:
    snapshot = type(aggregate).Snapshot.take(aggregate)
    stored = _plain(mapper).to_stored_event(snapshot)
    return msgspec.msgpack.encode(FoldState(stored.topic, stored.originator_version, stored.state, trail))


def _load(data: bytes, key_id: UUID, mapper: Mapper[UUID]) -> tuple[Any, EngagementTrail | None]:
    state = msgspec.msgpack.decode(data, type=FoldState)
    snapshot = _plain(mapper).to_domain_event(StoredEvent(key_id, state.version, state.topic, state.snapshot))
    return snapshot.mutate(None), state.trail  # type: ignore[attr-defined]


class EngagementFold:
    def __init__(self, engagement: Engagement | None = None, trail: EngagementTrail | None = None) -> None:
        self.engagement = engagement
        self.trail = trail or EngagementTrail()

    def apply(self, event: Any) -> None:
        self.engagement = event.mutate(self.engagement)
        at = event.provenance.occurred_at
        trail = self.trail
        trail.updated_at = at if trail.updated_at is None else max(trail.updated_at, at)
        match type(event).__name__:
            case "Prepared":
                trail.prepared_at = at
                trail.phase_history = [PhaseChange(Phase.PREPARED, at)]
            case "PhaseAdvanced":
                trail.phase_history = [*trail.phase_history, PhaseChange(event.to_phase, at)]
            case "PhaseMovedBack":
                trail.phase_history = [
                    *trail.phase_history,
                    PhaseChange(event.to_phase, at, stepped_back=True, reason=event.reason),
                ]
            case "DanceCardSent":
                trail.card_sent_at = {**trail.card_sent_at, event.card.card_id: at}
            case "DanceCardAccepted" | "DanceCardDeclined":
                trail.card_answered_at = {**trail.card_answered_at, event.card_id: at}
            case "DialogueHeld":
                trail.dialogue_held_at = {**trail.dialogue_held_at, event.dialogue.dialogue_id: at}
            case "AgreementMade":
                trail.agreement_made_at = {**trail.agreement_made_at, event.agreement_id: at}
            case "ProposalMade":
                trail.proposal_made_at = {**trail.proposal_made_at, event.proposal_id: at}
            case "AgreementAccepted" | "AgreementRejected":
                trail.agreement_decided_in = {
                    **trail.agreement_decided_in,
                    event.agreement_id: event.originator_version,
                }
            case "ProposalDecided":
                taken = trail.proposal_decided_in.get(event.proposal_id, [])
                trail.proposal_decided_in = {
                    **trail.proposal_decided_in,
                    event.proposal_id: [*taken, event.originator_version],
                }
        if type(event).__name__ in RESHOWING_EVENTS:
            # Decided at every state the fold passes through, since each is readable by version.
            trail.published = publish(self.engagement, trail.published)

    def render(self) -> EngagementOut:
        if self.engagement is None:
            raise LookupError("nothing to render before the engagement was prepared")
        return engagement_out(self.engagement, self.trail)

    def dump(self, mapper: Mapper[UUID]) -> bytes:
        return _dump(self.engagement, mapper, self.trail)

    @classmethod
    def load(cls, data: bytes, engagement_id: UUID, mapper: Mapper[UUID]) -> EngagementFold:
        engagement, trail = _load(data, engagement_id, mapper)
        return cls(engagement, trail)


class OrganisationFold:
    def __init__(self, organisation: Organisation | None = None) -> None:
        self.organisation = organisation

    def apply(self, event: Any) -> None:
        self.organisation = event.mutate(self.organisation)

    def render(self) -> OrganisationOut:
        if self.organisation is None:
            raise LookupError("nothing to render before the organisation was established")
        return organisation_out(self.organisation)

    def dump(self, mapper: Mapper[UUID]) -> bytes:
        return _dump(self.organisation, mapper, None)

    @classmethod
    def load(cls, data: bytes, organisation_id: UUID, mapper: Mapper[UUID]) -> OrganisationFold:
        organisation, _ = _load(data, organisation_id, mapper)
        return cls(organisation)
