"""The shapes of the read models: what queries return, stored as documents by the projector."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from domain.phases import Phase
from domain.ratings import RatingMode


class UnitNameOut(msgspec.Struct):
    name: str
    since: datetime


class UnitOut(msgspec.Struct):
    unit_id: UUID
    name: str
    status: str
    names: list[UnitNameOut]
    ended_at: datetime | None
    predecessors: list[UUID]
    successors: list[UUID]


class EngagementRef(msgspec.Struct):
    engagement_id: UUID
    title: str


class OrganisationUnits(msgspec.Struct):
    """The organisation without its list of engagements: what a page about one engagement needs
    (unit names over time). Decoding a stored organisation document into it skips the list, which
    grows with every engagement ever held, without allocating it (docs/benchmarks.md, P4)."""

    name: str
    version: int
    units: list[UnitOut]


class OrganisationOut(OrganisationUnits):
    """The organisation's read model: its units and every engagement it has held."""

    engagements: list[EngagementRef]


class RelationOut(msgspec.Struct, frozen=True):
    unit_id: UUID
    counterpart_id: UUID
    raters: int | None  # None when suppressed: a count below the threshold is itself telling
    suppressed: bool
    means: dict[str, str]
    index: str | None
    band: str | None
    band_da: str | None = None


class CardOut(msgspec.Struct):
    card_id: UUID
    from_unit: UUID
    to_unit: UUID
    topic: str
    reason: str
    hoped_outcome: str
    motivating_rating_id: UUID | None
    status: str
    response_note: str
    round: int | None
    pinned: bool
    sent_at: datetime | None = None
    answered_at: datetime | None = None


class DialogueOut(msgspec.Struct):
    dialogue_id: UUID
    card_id: UUID
    units: list[UUID]
    round: int | None
    notes: str
    participants: list[str]
    held_at: datetime | None = None


class AgreementDecisionOut(msgspec.Struct):
    accepted: bool
    rationale: str
    decided_by: str
    at: datetime


class CheckInOut(msgspec.Struct):
    check_in_id: UUID
    status: str
    note: str
    at: datetime
    evidence: str = ""


class AgreementOut(msgspec.Struct):
    agreement_id: UUID
    dialogue_id: UUID
    units: list[UUID]
    text: str
    needs_acceptance: bool
    status: str
    decision: AgreementDecisionOut | None
    check_ins: list[CheckInOut]
    made_at: datetime | None = None
    # The decision's own id, which is also its node's in the lineage
    # (`lineage/agreement_decision/{decision_id}`); None until the agreement is decided.
    decision_id: str | None = None


class ProposalDecisionOut(msgspec.Struct):
    outcome: str
    rationale: str
    decided_by: str
    deferred_until: date | None
    owner: str | None
    due: date | None
    at: datetime
    # The decision's own id, which is also its node's in the lineage
    # (`lineage/proposal_decision/{decision_id}`): a proposal deferred and decided again has two.
    decision_id: str = ""


class ProposalOut(msgspec.Struct):
    proposal_id: UUID
    dialogue_id: UUID
    units: list[UUID]
    text: str
    status: str
    decisions: list[ProposalDecisionOut]
    made_at: datetime | None = None


class WrapUpOut(msgspec.Struct):
    unit_id: UUID
    summary: str
    inputs: list[str]


class PlenaryOut(msgspec.Struct):
    notes: str
    reported_agreements: list[UUID]
    listed_proposals: list[UUID]


class DimensionOut(msgspec.Struct):
    key: str
    name_da: str
    name_en: str
    question_da: str
    question_en: str


class InstrumentOut(msgspec.Struct):
    instrument_id: UUID
    version: int
    name: str
    scale_min: int
    scale_max: int
    dimensions: list[DimensionOut]


class EngagementSummary(msgspec.Struct):
    engagement_id: UUID
    title: str


class PhaseChange(msgspec.Struct):
    phase: Phase
    at: datetime
    stepped_back: bool = False
    reason: str = ""


class UnitProgress(msgspec.Struct):
    """How far one unit has come on the theme day."""

    unit_id: UUID
    relations_mapped: int
    relations_rated: int
    cards_sent: int
    cards_received: int
    cards_accepted: int
    cards_declined: int
    dialogues: int
    wrapped_up: bool
    # Individuals who have rated at least one of the unit's relations: a count, never who.
    raters: int = 0


class EngagementOut(msgspec.Struct):
    engagement_id: UUID
    version: int
    phase: Phase
    title: str
    focus: str
    target_group: str
    work_process: str
    planning_group: list[str]
    theme_day: date
    follow_up_meeting: date | None
    unit_ids: list[UUID]
    instrument: InstrumentOut
    rating_mode: RatingMode
    min_group_size: int
    rounds: int
    relations: dict[str, list[UUID]]
    relation_views: list[RelationOut]
    cards: list[CardOut]
    dialogues: list[DialogueOut]
    agreements: list[AgreementOut]
    proposals: list[ProposalOut]
    wrap_ups: list[WrapUpOut]
    plenary: PlenaryOut | None
    phase_history: list[PhaseChange] = []
    unit_progress: list[UnitProgress] = []
    prepared_at: datetime | None = None
    updated_at: datetime | None = None
