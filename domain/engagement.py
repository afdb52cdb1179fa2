from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from domain.agreements import (
    Agreement,
    AgreementDecision,
    AgreementStatus,
    CheckIn,
    CheckInStatus,
    agreement_decision,
)
from domain.cards import CardStatus, DanceCard, sent_card
from domain.commands import RemembersCommands
from domain.dialogues import ClosingPlenary, Dialogue, WrapUp, participant_places
from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.instrument import InstrumentVersion
from domain.outcomes import AgreementDraft, ProposalDraft, check_new_outcomes
from domain.phases import Phase, require_phase
from domain.preparation import Preparation, check_preparation, check_rounds, check_setup
from domain.proposals import Proposal, ProposalDecision, ProposalStatus, proposal_decision
from domain.provenance import Cause, Provenance
from domain.ratings import Rating, RatingMode, RelationView, check_rating_mode, relation_view
from domain.scheduling import DialogueRequest, check_round_free, propose_schedule
from domain.text import required_text

# What an erased participant's name reads as, wherever it stood.
REDACTED = "(slettet)"


class Engagement(RemembersCommands):
    """An engagement (forløb): one run of the method for a set of units, from the preparatory
    meeting through the theme day and the follow-up meeting to years of check-ins."""

    preparation: Preparation
    unit_ids: tuple[UUID, ...]
    instrument: InstrumentVersion
    rating_mode: RatingMode
    min_group_size: int
    rounds: int
    phase: Phase
    relations: dict[UUID, tuple[UUID, ...]]
    ratings: dict[str, Rating]
    cards: dict[UUID, DanceCard]
    dialogues: dict[UUID, Dialogue]
    agreements: dict[UUID, Agreement]
    proposals: dict[UUID, Proposal]
    wrap_ups: dict[UUID, WrapUp]
    plenary: ClosingPlenary | None

    @event("Prepared")
    def __init__(
        self,
        id: UUID,
        preparation: Preparation,
        unit_ids: tuple[UUID, ...],
        instrument: InstrumentVersion,
        rating_mode: RatingMode,
        min_group_size: int,
        rounds: int,
        provenance: Provenance,
    ) -> None:
        self.preparation = preparation
        self.unit_ids = unit_ids
        self.instrument = instrument
        self.rating_mode = rating_mode
        self.min_group_size = min_group_size
        self.rounds = rounds
        self.phase = Phase.PREPARED
        self.relations = {}
        self.ratings = {}
        self.cards = {}
        self.dialogues = {}
        self.agreements = {}
        self.proposals = {}
        self.wrap_ups = {}
        self.plenary = None

    @classmethod
    def prepare(
        cls,
        engagement_id: UUID,
        preparation: Preparation,
        unit_ids: tuple[UUID, ...],
        instrument: InstrumentVersion,
        rating_mode: RatingMode,
        min_group_size: int,
        rounds: int,
        provenance: Provenance,
    ) -> Engagement:
        check_setup(preparation, unit_ids, min_group_size, rounds, rating_mode)
        return cls(
            engagement_id, preparation, unit_ids, instrument, rating_mode, min_group_size, rounds, provenance
        )

    # -- phases ---------------------------------------------------------------------------

    def revise_preparation(self, preparation: Preparation, provenance: Provenance) -> None:
        require_phase(self.phase, "revise_preparation", Phase.PREPARED, Phase.THEME_DAY_OPEN)
        check_preparation(preparation)
        self._preparation_revised(preparation, provenance)

    @event("PreparationRevised")
    def _preparation_revised(self, preparation: Preparation, provenance: Provenance) -> None:
        self.preparation = preparation

    def advance(self, expected_phase: Phase, provenance: Provenance) -> Phase:
        """Move to the next phase. `expected_phase` guards against two facilitators clicking at once."""
        self._check_expected(expected_phase)
        following = self.phase.following
        if following is None:
            raise InvariantViolated("engagement_closed", state=self.phase.value)
        if self.phase is Phase.CLOSING_PLENARY and not self._plenary_is_current():
            raise InvariantViolated("plenary_not_current")
        self._phase_advanced(self.phase, following, provenance)
        return following

    @event("PhaseAdvanced")
    def _phase_advanced(self, from_phase: Phase, to_phase: Phase, provenance: Provenance) -> None:
        self.phase = to_phase

    def move_back(self, expected_phase: Phase, reason: str, provenance: Provenance) -> Phase:
        """Step back one phase (mistakes happen on the day); recorded, never an edit."""
        self._check_expected(expected_phase)
        preceding = self.phase.preceding
        if preceding is None:
            raise InvariantViolated("first_phase", state=self.phase.value)
        self._phase_moved_back(
            self.phase, preceding, required_text(reason, "step_back_reason_empty"), provenance
        )
        return preceding

    @event("PhaseMovedBack")
    def _phase_moved_back(
        self, from_phase: Phase, to_phase: Phase, reason: str, provenance: Provenance
    ) -> None:
        self.phase = to_phase

    def _plenary_is_current(self) -> bool:
        return (
            self.plenary is not None
            and set(self.plenary.reported_agreements) == set(self.agreements)
            and set(self.plenary.listed_proposals) == set(self.proposals)
        )

    def _check_expected(self, expected_phase: Phase) -> None:
        if expected_phase is not self.phase:
            raise InvariantViolated(
                "phase_moved_on",
                state=self.phase.value,
                current=self.phase.value,
                expected=expected_phase.value,
            )

    # -- mapping and rating ----------------------------------------------------------------

    def _check_unit(self, unit_id: UUID) -> None:
        if unit_id not in self.unit_ids:
            raise NotFound("unit_not_taking_part", unit=str(unit_id))

    def map_relations(self, unit_id: UUID, counterpart_ids: tuple[UUID, ...], provenance: Provenance) -> None:
        require_phase(self.phase, "map_relations", Phase.MAPPING)
        self._check_unit(unit_id)
        for counterpart_id in counterpart_ids:
            self._check_unit(counterpart_id)
        if unit_id in counterpart_ids:
            raise InvariantViolated("relation_to_itself")
        if len(set(counterpart_ids)) != len(counterpart_ids):
            raise InvariantViolated("relation_mapped_twice")
        self._relations_mapped(unit_id, counterpart_ids, provenance)

    @event("RelationsMapped")
    def _relations_mapped(
        self, unit_id: UUID, counterpart_ids: tuple[UUID, ...], provenance: Provenance
    ) -> None:
        self.relations[unit_id] = counterpart_ids
        # Ratings of a relation no longer mapped no longer count.
        for slot, rating in list(self.ratings.items()):
            if rating.unit_id == unit_id and rating.counterpart_id not in counterpart_ids:
                del self.ratings[slot]

    def submit_rating(
        self,
        rating_id: UUID,
        unit_id: UUID,
        counterpart_id: UUID,
        scores: Mapping[str, int],
        rater: UUID | None,
        provenance: Provenance,
    ) -> None:
        """Rate a mapped relation. A new rating from the same rater (or unit) replaces the old one."""
        require_phase(self.phase, "rate_relations", Phase.MAPPING)
        self._check_unit(unit_id)
        if counterpart_id not in self.relations.get(unit_id, ()):
            raise InvariantViolated("relation_not_mapped")
        check_rating_mode(self.rating_mode, rater)
        self.instrument.check_scores(scores)
        if any(r.rating_id == rating_id for r in self.ratings.values()):
            raise AlreadyExists("rating_submitted", rating=str(rating_id))
        self._rating_submitted(Rating(rating_id, unit_id, counterpart_id, dict(scores), rater), provenance)

    @event("RatingSubmitted")
    def _rating_submitted(self, rating: Rating, provenance: Provenance) -> None:
        self.ratings[rating.slot] = rating

    def rating(self, rating_id: UUID) -> Rating:
        for rating in self.ratings.values():
            if rating.rating_id == rating_id:
                return rating
        raise NotFound("no_current_rating", rating=str(rating_id))

    def relation(self, unit_id: UUID, counterpart_id: UUID) -> RelationView:
        found = [
            r for r in self.ratings.values() if r.unit_id == unit_id and r.counterpart_id == counterpart_id
        ]
        return relation_view(
            unit_id, counterpart_id, found, self.instrument.dimension_keys, self.min_group_size
        )

    # -- dance cards -------------------------------------------------------------------------

    def card(self, card_id: UUID) -> DanceCard:
        try:
            return self.cards[card_id]
        except KeyError:
            raise NotFound("no_card", card=str(card_id)) from None

    def send_card(
        self,
        card_id: UUID,
        from_unit: UUID,
        to_unit: UUID,
        topic: str,
        reason: str,
        hoped_outcome: str,
        motivating_rating_id: UUID | None,
        provenance: Provenance,
    ) -> None:
        require_phase(self.phase, "send_cards", Phase.DANCE_CARDS)
        self._check_unit(from_unit)
        self._check_unit(to_unit)
        if from_unit == to_unit:
            raise InvariantViolated("card_to_itself")
        if card_id in self.cards:
            raise AlreadyExists("card_sent", card=str(card_id))
        if motivating_rating_id is not None:
            rating = self.rating(motivating_rating_id)
            if {rating.unit_id, rating.counterpart_id} != {from_unit, to_unit}:
                raise InvariantViolated("motivating_rating_elsewhere")
            provenance = provenance.because_of(Cause("rating", motivating_rating_id))
        card = sent_card(card_id, from_unit, to_unit, topic, reason, hoped_outcome, motivating_rating_id)
        self._card_sent(card, provenance)

    @event("DanceCardSent")
    def _card_sent(self, card: DanceCard, provenance: Provenance) -> None:
        self.cards[card.card_id] = card

    def accept_card(self, card_id: UUID, by_unit: UUID, provenance: Provenance) -> None:
        require_phase(self.phase, "answer_cards", Phase.DANCE_CARDS)
        self.card(card_id).check_answerable_by(by_unit)
        self._card_accepted(card_id, provenance.because_of(Cause("dance_card", card_id)))

    @event("DanceCardAccepted")
    def _card_accepted(self, card_id: UUID, provenance: Provenance) -> None:
        self.cards[card_id] = replace(self.cards[card_id], status=CardStatus.ACCEPTED)

    def decline_card(self, card_id: UUID, by_unit: UUID, reason: str, provenance: Provenance) -> None:
        require_phase(self.phase, "answer_cards", Phase.DANCE_CARDS)
        self.card(card_id).check_answerable_by(by_unit)
        reason = required_text(reason, "decline_reason_empty")
        self._card_declined(card_id, reason, provenance.because_of(Cause("dance_card", card_id)))

    @event("DanceCardDeclined")
    def _card_declined(self, card_id: UUID, reason: str, provenance: Provenance) -> None:
        self.cards[card_id] = replace(self.cards[card_id], status=CardStatus.DECLINED, response_note=reason)

    def withdraw_card(self, card_id: UUID, by_unit: UUID, provenance: Provenance) -> None:
        require_phase(self.phase, "withdraw_cards", Phase.DANCE_CARDS, Phase.DIALOGUES)
        card = self.card(card_id)
        card.check_withdrawable_by(by_unit)
        if any(d.card_id == card_id for d in self.dialogues.values()):
            raise InvariantViolated("card_dialogue_held")
        self._card_withdrawn(card_id, provenance.because_of(Cause("dance_card", card_id)))

    @event("DanceCardWithdrawn")
    def _card_withdrawn(self, card_id: UUID, provenance: Provenance) -> None:
        self.cards[card_id] = replace(
            self.cards[card_id], status=CardStatus.WITHDRAWN, round=None, pinned=False
        )

    # -- dialogue rounds -----------------------------------------------------------------------

    def set_rounds(self, rounds: int, provenance: Provenance) -> None:
        require_phase(
            self.phase,
            "set_rounds",
            Phase.PREPARED,
            Phase.THEME_DAY_OPEN,
            Phase.MAPPING,
            Phase.DANCE_CARDS,
            Phase.DIALOGUES,
        )
        check_rounds(rounds)
        held = {d.card_id for d in self.dialogues.values()}
        beyond = [
            c for c in self.cards.values() if c.round is not None and c.round > rounds and c.card_id in held
        ]
        if beyond:
            raise InvariantViolated("rounds_used")
        self._rounds_set(rounds, provenance)

    @event("RoundsSet")
    def _rounds_set(self, rounds: int, provenance: Provenance) -> None:
        self.rounds = rounds
        for card in self.cards.values():
            if card.round is not None and card.round > rounds:
                self.cards[card.card_id] = replace(card, round=None, pinned=False)

    def _accepted_cards(self) -> list[DanceCard]:
        return [c for c in self.cards.values() if c.status is CardStatus.ACCEPTED]

    def schedule_dialogues(self, provenance: Provenance) -> dict[UUID, int]:
        """Propose a schedule of the accepted cards not yet held; pinned dialogues keep their
        round, and held dialogues keep theirs (they are history) while still occupying it."""
        require_phase(self.phase, "schedule_dialogues", Phase.DANCE_CARDS, Phase.DIALOGUES)
        held = {d.card_id for d in self.dialogues.values()}
        occupying = [c for c in self._accepted_cards() if c.card_id not in held or c.round is not None]
        pinned = {
            c.card_id: c.round for c in occupying if c.round is not None and (c.pinned or c.card_id in held)
        }
        requests = [DialogueRequest(c.card_id, c.units) for c in occupying]
        schedule = propose_schedule(requests, self.rounds, pinned)
        self._dialogues_scheduled(schedule, provenance)
        return schedule

    @event("DialoguesScheduled")
    def _dialogues_scheduled(self, schedule: dict[UUID, int], provenance: Provenance) -> None:
        held = {d.card_id for d in self.dialogues.values()}
        for card in self._accepted_cards():
            if card.card_id not in held:
                self.cards[card.card_id] = replace(card, round=schedule.get(card.card_id))

    def move_dialogue(self, card_id: UUID, round: int | None, provenance: Provenance) -> None:
        """Place one dialogue in a round (and pin it there), or take it off the schedule (None)."""
        require_phase(self.phase, "move_dialogues", Phase.DANCE_CARDS, Phase.DIALOGUES)
        card = self.card(card_id)
        if card.status is not CardStatus.ACCEPTED:
            raise InvariantViolated("card_not_accepted_for_round", status=card.status.value)
        if any(d.card_id == card_id for d in self.dialogues.values()):
            raise InvariantViolated("dialogue_round_history")
        if round is not None:
            check_round_free(card, round, self.rounds, self._accepted_cards())
        self._dialogue_moved(card_id, round, provenance.because_of(Cause("dance_card", card_id)))

    @event("DialogueMoved")
    def _dialogue_moved(self, card_id: UUID, round: int | None, provenance: Provenance) -> None:
        self.cards[card_id] = replace(self.cards[card_id], round=round, pinned=round is not None)

    # -- dialogues, agreements, proposals ---------------------------------------------------

    def hold_dialogue(
        self,
        dialogue_id: UUID,
        card_id: UUID,
        notes: str,
        participants: tuple[str, ...],
        agreements: tuple[AgreementDraft, ...],
        proposals: tuple[ProposalDraft, ...],
        provenance: Provenance,
    ) -> None:
        """Record a dialogue with what it produced: agreements and proposals."""
        require_phase(self.phase, "record_dialogues", Phase.DIALOGUES, Phase.WRAP_UP)
        card = self.card(card_id)
        if card.status is not CardStatus.ACCEPTED:
            raise InvariantViolated(
                "card_not_accepted_for_dialogue", state=card.status.value, status=card.status.value
            )
        if dialogue_id in self.dialogues or any(d.card_id == card_id for d in self.dialogues.values()):
            raise AlreadyExists("dialogue_recorded")
        dialogue = Dialogue(
            dialogue_id,
            card_id,
            card.units,
            card.round,
            notes.strip(),
            tuple(p.strip() for p in participants),
        )
        check_new_outcomes(agreements, proposals, self.agreements.keys() | self.proposals.keys())
        self._dialogue_held(dialogue, provenance.because_of(Cause("dance_card", card_id)))
        self._record_outcomes(dialogue, agreements, proposals, provenance)

    def redact_participant(self, name: str, provenance: Provenance) -> int:
        """Erase a person's name from the dialogues' participant lists (the right to erasure):
        each place it appears (any case) reads REDACTED from now on; returns how many places.
        The event names the places (dialogue and position), never the name itself. Ratings
        are untouched: individual raters are pseudonyms already."""
        places = participant_places(self.dialogues.values(), name)
        if places:
            self._participant_redacted(places, provenance)
        return len(places)

    @event("ParticipantRedacted")
    def _participant_redacted(self, places: tuple[tuple[UUID, int], ...], provenance: Provenance) -> None:
        for dialogue_id, index in places:
            dialogue = self.dialogues[dialogue_id]
            names = list(dialogue.participants)
            names[index] = REDACTED
            self.dialogues[dialogue_id] = replace(dialogue, participants=tuple(names))

    def add_outcomes(
        self,
        dialogue_id: UUID,
        agreements: tuple[AgreementDraft, ...],
        proposals: tuple[ProposalDraft, ...],
        provenance: Provenance,
    ) -> None:
        """Add agreements or proposals to a dialogue already recorded (paper notes typed in later)."""
        require_phase(self.phase, "add_outcomes", Phase.DIALOGUES, Phase.WRAP_UP)
        dialogue = self.dialogue(dialogue_id)
        if not agreements and not proposals:
            raise InvariantViolated("no_outcomes")
        check_new_outcomes(agreements, proposals, self.agreements.keys() | self.proposals.keys())
        self._record_outcomes(dialogue, agreements, proposals, provenance)

    def dialogue(self, dialogue_id: UUID) -> Dialogue:
        try:
            return self.dialogues[dialogue_id]
        except KeyError:
            raise NotFound("no_dialogue", dialogue=str(dialogue_id)) from None

    def _record_outcomes(
        self,
        dialogue: Dialogue,
        agreements: tuple[AgreementDraft, ...],
        proposals: tuple[ProposalDraft, ...],
        provenance: Provenance,
    ) -> None:
        cause = provenance.because_of(Cause("dialogue", dialogue.dialogue_id))
        for draft in agreements:
            self._agreement_made(
                draft.agreement_id, dialogue.dialogue_id, draft.text.strip(), draft.needs_acceptance, cause
            )
        for proposal in proposals:
            self._proposal_made(proposal.proposal_id, dialogue.dialogue_id, proposal.text.strip(), cause)

    @event("DialogueHeld")
    def _dialogue_held(self, dialogue: Dialogue, provenance: Provenance) -> None:
        self.dialogues[dialogue.dialogue_id] = dialogue

    @event("AgreementMade")
    def _agreement_made(
        self, agreement_id: UUID, dialogue_id: UUID, text: str, needs_acceptance: bool, provenance: Provenance
    ) -> None:
        status = AgreementStatus.AWAITING_ACCEPTANCE if needs_acceptance else AgreementStatus.IN_FORCE
        units = self.dialogues[dialogue_id].units
        self.agreements[agreement_id] = Agreement(
            agreement_id, dialogue_id, units, text, needs_acceptance, status, None, ()
        )

    @event("ProposalMade")
    def _proposal_made(self, proposal_id: UUID, dialogue_id: UUID, text: str, provenance: Provenance) -> None:
        units = self.dialogues[dialogue_id].units
        self.proposals[proposal_id] = Proposal(proposal_id, dialogue_id, units, text, ProposalStatus.OPEN, ())

    # -- wrap-up and closing plenary --------------------------------------------------------

    def wrap_up(self, unit_id: UUID, summary: str, inputs: tuple[str, ...], provenance: Provenance) -> None:
        require_phase(self.phase, "wrap_up", Phase.WRAP_UP)
        self._check_unit(unit_id)
        wrap_up = WrapUp(
            unit_id,
            required_text(summary, "wrap_up_summary_empty"),
            tuple(i.strip() for i in inputs if i.strip()),
        )
        self._unit_wrapped_up(wrap_up, provenance)

    @event("UnitWrappedUp")
    def _unit_wrapped_up(self, wrap_up: WrapUp, provenance: Provenance) -> None:
        self.wrap_ups[wrap_up.unit_id] = wrap_up

    def hold_closing_plenary(self, notes: str, provenance: Provenance) -> ClosingPlenary:
        require_phase(self.phase, "closing_plenary", Phase.CLOSING_PLENARY)
        plenary = ClosingPlenary(notes.strip(), tuple(self.agreements), tuple(self.proposals))
        self._closing_plenary_held(plenary, provenance)
        return plenary

    @event("ClosingPlenaryHeld")
    def _closing_plenary_held(self, plenary: ClosingPlenary, provenance: Provenance) -> None:
        self.plenary = plenary

    # -- follow-up meeting and afterwards ---------------------------------------------------

    def agreement(self, agreement_id: UUID) -> Agreement:
        try:
            return self.agreements[agreement_id]
        except KeyError:
            raise NotFound("no_agreement", agreement=str(agreement_id)) from None

    def proposal(self, proposal_id: UUID) -> Proposal:
        try:
            return self.proposals[proposal_id]
        except KeyError:
            raise NotFound("no_proposal", proposal=str(proposal_id)) from None

    def decide_agreement(
        self, agreement_id: UUID, accepted: bool, rationale: str, decided_by: str, provenance: Provenance
    ) -> None:
        require_phase(self.phase, "decide_agreements", Phase.FOLLOW_UP_MEETING)
        self.agreement(agreement_id).check_decidable()
        decision = agreement_decision(accepted, rationale, decided_by, provenance.occurred_at)
        cause = provenance.because_of(Cause("agreement", agreement_id))
        if accepted:
            self._agreement_accepted(agreement_id, decision, cause)
        else:
            self._agreement_rejected(agreement_id, decision, cause)

    @event("AgreementAccepted")
    def _agreement_accepted(
        self, agreement_id: UUID, decision: AgreementDecision, provenance: Provenance
    ) -> None:
        self.agreements[agreement_id] = replace(
            self.agreements[agreement_id], status=AgreementStatus.ACCEPTED, decision=decision
        )

    @event("AgreementRejected")
    def _agreement_rejected(
        self, agreement_id: UUID, decision: AgreementDecision, provenance: Provenance
    ) -> None:
        self.agreements[agreement_id] = replace(
            self.agreements[agreement_id], status=AgreementStatus.REJECTED, decision=decision
        )

    def decide_proposal(
        self,
        proposal_id: UUID,
        outcome: ProposalStatus,
        rationale: str,
        decided_by: str,
        provenance: Provenance,
        *,
        deferred_until: date | None = None,
        owner: str | None = None,
        due: date | None = None,
    ) -> None:
        """Approve, reject, defer (to a date, or the next meeting when no date) or send for investigation.

        Deferred and investigated proposals can be decided again at a later meeting.
        """
        require_phase(self.phase, "decide_proposals", Phase.FOLLOW_UP_MEETING, Phase.FOLLOW_THROUGH)
        self.proposal(proposal_id).check_decidable()
        decision = proposal_decision(
            outcome, rationale, decided_by, provenance.occurred_at, deferred_until, owner, due
        )
        self._proposal_decided(proposal_id, decision, provenance.because_of(Cause("proposal", proposal_id)))

    @event("ProposalDecided")
    def _proposal_decided(
        self, proposal_id: UUID, decision: ProposalDecision, provenance: Provenance
    ) -> None:
        proposal = self.proposals[proposal_id]
        self.proposals[proposal_id] = replace(
            proposal, status=decision.outcome, decisions=(*proposal.decisions, decision)
        )

    def check_in(
        self,
        check_in_id: UUID,
        agreement_id: UUID,
        status: CheckInStatus,
        note: str,
        provenance: Provenance,
        evidence: str = "",
    ) -> None:
        """Record how an agreement is doing, months or years after it was made."""
        require_phase(self.phase, "check_in", Phase.FOLLOW_UP_MEETING, Phase.FOLLOW_THROUGH)
        agreement = self.agreement(agreement_id)
        agreement.check_followable()
        if any(c.check_in_id == check_in_id for c in agreement.check_ins):
            raise AlreadyExists("check_in_recorded", check_in=str(check_in_id))
        self._checked_in(
            agreement_id,
            CheckIn(check_in_id, status, note.strip(), provenance.occurred_at, evidence.strip()),
            provenance.because_of(Cause("agreement", agreement_id)),
        )

    @event("AgreementCheckedIn")
    def _checked_in(self, agreement_id: UUID, check_in: CheckIn, provenance: Provenance) -> None:
        agreement = self.agreements[agreement_id]
        self.agreements[agreement_id] = replace(agreement, check_ins=(*agreement.check_ins, check_in))
