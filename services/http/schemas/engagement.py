from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from domain.agreements import CheckInStatus
from domain.phases import Phase
from domain.proposals import ProposalStatus
from domain.ratings import RatingMode
from services.http.schemas import Name, RequiredText, Round, Text


class PreparationIn(msgspec.Struct, forbid_unknown_fields=True):
    """What the preparatory meeting settled."""

    title: Name
    theme_day: date
    focus: Text = ""
    target_group: Text = ""
    work_process: Text = ""
    planning_group: Annotated[list[Name], msgspec.Meta(max_length=50)] = []
    follow_up_meeting: date | None = None


class PrepareEngagement(PreparationIn, forbid_unknown_fields=True):
    unit_ids: Annotated[list[UUID], msgspec.Meta(min_length=2, max_length=500)] = []
    rounds: Round = 3
    rating_mode: RatingMode = RatingMode.UNIT
    min_group_size: Annotated[int, msgspec.Meta(ge=1, le=50)] = 3


class EngagementCreated(msgspec.Struct):
    engagement_id: UUID


class ChangePhase(msgspec.Struct, forbid_unknown_fields=True):
    expected_phase: Phase


class StepBack(msgspec.Struct, forbid_unknown_fields=True):
    expected_phase: Phase
    reason: RequiredText


class SetRounds(msgspec.Struct, forbid_unknown_fields=True):
    rounds: Round


class MapRelations(msgspec.Struct, forbid_unknown_fields=True):
    counterpart_ids: Annotated[list[UUID], msgspec.Meta(max_length=500)]


Score = Annotated[int, msgspec.Meta(ge=0, le=100)]


class SubmitRating(msgspec.Struct, forbid_unknown_fields=True):
    unit_id: UUID
    counterpart_id: UUID
    scores: Annotated[dict[str, Score], msgspec.Meta(min_length=1, max_length=50)]


class RatingCreated(msgspec.Struct):
    rating_id: UUID


class SendCard(msgspec.Struct, forbid_unknown_fields=True):
    from_unit: UUID
    to_unit: UUID
    topic: Name
    reason: Text = ""
    hoped_outcome: Text = ""
    motivating_rating_id: UUID | None = None


class CardCreated(msgspec.Struct):
    card_id: UUID


class AnswerCard(msgspec.Struct, forbid_unknown_fields=True):
    unit_id: UUID


class DeclineCard(msgspec.Struct, forbid_unknown_fields=True):
    unit_id: UUID
    reason: RequiredText


class MoveDialogue(msgspec.Struct, forbid_unknown_fields=True):
    round: Round | None


class AgreementIn(msgspec.Struct, forbid_unknown_fields=True):
    text: RequiredText
    needs_acceptance: bool = False


class ProposalIn(msgspec.Struct, forbid_unknown_fields=True):
    text: RequiredText


class HoldDialogue(msgspec.Struct, forbid_unknown_fields=True):
    card_id: UUID
    notes: Text = ""
    participants: Annotated[list[Name], msgspec.Meta(max_length=100)] = []
    agreements: Annotated[list[AgreementIn], msgspec.Meta(max_length=50)] = []
    proposals: Annotated[list[ProposalIn], msgspec.Meta(max_length=50)] = []


class AddOutcomes(msgspec.Struct, forbid_unknown_fields=True):
    agreements: Annotated[list[AgreementIn], msgspec.Meta(max_length=50)] = []
    proposals: Annotated[list[ProposalIn], msgspec.Meta(max_length=50)] = []


class DialogueCreated(msgspec.Struct):
    dialogue_id: UUID
    agreement_ids: list[UUID]
    proposal_ids: list[UUID]


class OutcomesCreated(msgspec.Struct):
    agreement_ids: list[UUID]
    proposal_ids: list[UUID]


class WrapUpIn(msgspec.Struct, forbid_unknown_fields=True):
    summary: RequiredText
    inputs: Annotated[list[RequiredText], msgspec.Meta(max_length=100)] = []


class ClosingPlenaryIn(msgspec.Struct, forbid_unknown_fields=True):
    notes: Text = ""


class DecideAgreement(msgspec.Struct, forbid_unknown_fields=True):
    accepted: bool
    decided_by: Name
    rationale: Text = ""


class DecideProposal(msgspec.Struct, forbid_unknown_fields=True):
    """approved, rejected, deferred (to `deferred_until`, or the next meeting when absent) or
    under_investigation (needs `owner` and `due`)."""

    outcome: ProposalStatus
    decided_by: Name
    rationale: Text = ""
    deferred_until: date | None = None
    owner: Name | None = None
    due: date | None = None


class CheckInIn(msgspec.Struct, forbid_unknown_fields=True):
    status: CheckInStatus
    note: Text = ""


class CheckInCreated(msgspec.Struct):
    check_in_id: UUID


# -- the engagement as it stands ------------------------------------------------------------


class RelationOut(msgspec.Struct):
    unit_id: UUID
    counterpart_id: UUID
    raters: int
    suppressed: bool
    means: dict[str, str]
    index: str | None
    band: str | None


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


class DialogueOut(msgspec.Struct):
    dialogue_id: UUID
    card_id: UUID
    units: list[UUID]
    round: int | None
    notes: str
    participants: list[str]


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


class AgreementOut(msgspec.Struct):
    agreement_id: UUID
    dialogue_id: UUID
    units: list[UUID]
    text: str
    needs_acceptance: bool
    status: str
    decision: AgreementDecisionOut | None
    check_ins: list[CheckInOut]


class ProposalDecisionOut(msgspec.Struct):
    outcome: str
    rationale: str
    decided_by: str
    deferred_until: date | None
    owner: str | None
    due: date | None
    at: datetime


class ProposalOut(msgspec.Struct):
    proposal_id: UUID
    dialogue_id: UUID
    units: list[UUID]
    text: str
    status: str
    decisions: list[ProposalDecisionOut]


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


class Recorded(msgspec.Struct):
    """The command was recorded; the aggregate is now at `version`."""

    version: int
