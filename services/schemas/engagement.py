from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec

from domain.agreements import CheckInStatus
from domain.phases import Phase
from domain.proposals import ProposalStatus
from domain.ratings import RatingMode
from services.schemas import Name, RequiredText, Round, Text
from services.text import name_rule


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
    instrument_id: UUID | None = None
    instrument_version: Annotated[int, msgspec.Meta(ge=1)] | None = None


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
DimensionKey = Annotated[str, name_rule(max_length=200, description="A dimension's key.")]


class SubmitRating(msgspec.Struct, forbid_unknown_fields=True):
    unit_id: UUID
    counterpart_id: UUID
    scores: Annotated[dict[DimensionKey, Score], msgspec.Meta(min_length=1, max_length=50)]


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


class RedactParticipant(msgspec.Struct, forbid_unknown_fields=True):
    """A person whose name is to be erased from the engagement's dialogues (any case)."""

    name: Name


class ParticipantRedacted(msgspec.Struct):
    """How many places in the dialogues' participant lists now read "(slettet)"."""

    places: int


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
    # What shows it: minutes of a meeting, a link, the name of a document.
    evidence: Text = ""


class CheckInCreated(msgspec.Struct):
    check_in_id: UUID


class Recorded(msgspec.Struct):
    """The command was recorded; the aggregate is now at `version`."""

    version: int
