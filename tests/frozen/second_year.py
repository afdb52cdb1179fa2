"""The frozen store's second engagement: individual ratings on a loaded instrument, and every
turn of the method the demo's year does not take (see `tests/frozen/story.py`)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.agreements import CheckInStatus
from domain.instrument import InstrumentVersion
from domain.phases import Phase
from domain.preparation import Preparation
from domain.proposals import ProposalStatus
from domain.ratings import RatingMode
from domain.roles import Role
from services.application import TenantApplication
from services.demo import Actor, demo_id
from services.usecases import engagements, handle
from services.usecases import follow_up as decide
from services.usecases import theme_day as day

THEME_DAY = date(2026, 4, 14)
FOLLOW_UP = date(2026, 5, 26)
REDACTED_NAME = "Karen Jensen"
BOARD = "Direktionen for Sundhed"


def _preparation(title: str) -> Preparation:
    return Preparation(
        title=title,
        focus="Overgange mellem enhederne efter sammenlægningen",
        target_group="Medarbejdere i de deltagende enheder",
        work_process="Fra henvisning til afsluttet forløb",
        planning_group=("Sundhedschefen", "Leder af Visitationen"),
        theme_day=THEME_DAY,
        follow_up_meeting=FOLLOW_UP,
    )


class SecondYear:
    def __init__(
        self,
        app: TenantApplication,
        unit_ids: tuple[UUID, ...],
        instrument: InstrumentVersion,
        facilitator: Actor,
        client: Actor,
        rng: random.Random,
    ) -> None:
        self.app = app
        self.units = unit_ids
        self.instrument = instrument
        self.f = facilitator
        self.c = client
        self.rng = rng
        self.moment = datetime(2026, 4, 14, 9, tzinfo=UTC)
        self.eid = UUID(int=0)
        self.raters: dict[tuple[UUID, int], Actor] = {}

    def rater(self, unit_id: UUID, index: int) -> Actor:
        """One participant at a unit's table: one actor, so each command of theirs has its own id."""
        key = (unit_id, index)
        if key not in self.raters:
            self.raters[key] = Actor(
                self.c.tenant_id, demo_id("frozen", "rater", unit_id, index), Role.PARTICIPANT
            )
        return self.raters[key]

    def step(self, minutes: float = 5) -> datetime:
        self.moment += timedelta(minutes=minutes)
        return self.moment

    def by_facilitator(self, command: Any, name: str) -> Any:
        return handle(self.app, command, self.f.at(self.step(), name))

    def advance(self, phase: Phase) -> None:
        self.by_facilitator(
            engagements.AdvancePhase(engagement_id=self.eid, expected_phase=phase), "AdvancePhase"
        )

    def run(self) -> UUID:
        self.prepare()
        self.rate()
        cards = self.cards()
        agreements, proposals = self.dialogues(cards)
        self.close()
        self.follow_up(agreements, proposals)
        return self.eid

    def prepare(self) -> None:
        c = self.c
        self.eid = handle(
            self.app,
            engagements.PrepareEngagement(
                tenant_id=c.tenant_id,
                preparation=_preparation("Sammen efter sammenlægningen 2026"),
                unit_ids=self.units,
                instrument=self.instrument,
                rating_mode=RatingMode.INDIVIDUAL,
                min_group_size=3,
                rounds=3,
            ),
            c.at(datetime(2026, 2, 24, 10, tzinfo=UTC), "PrepareEngagement"),
        )
        handle(
            self.app,
            engagements.RevisePreparation(engagement_id=self.eid, preparation=_preparation("Sammen 2026")),
            c.at(datetime(2026, 3, 2, 10, tzinfo=UTC), "RevisePreparation"),
        )
        self.advance(Phase.PREPARED)
        self.advance(Phase.THEME_DAY_OPEN)
        self.by_facilitator(
            engagements.MovePhaseBack(
                engagement_id=self.eid, expected_phase=Phase.MAPPING, reason="Én enhed var ikke mødt op endnu"
            ),
            "MovePhaseBack",
        )
        self.advance(Phase.THEME_DAY_OPEN)

    def rate(self) -> None:
        self.mapped: dict[UUID, tuple[UUID, ...]] = {}
        self.ratings: dict[tuple[UUID, UUID], UUID] = {}
        for position, unit_id in enumerate(self.units):
            others = [u for u in self.units if u != unit_id]
            mapped = tuple(others[position % 2 :][:3])
            self.mapped[unit_id] = mapped
            self.by_facilitator(
                day.MapRelations(engagement_id=self.eid, unit_id=unit_id, counterpart_ids=mapped),
                "MapRelations",
            )
            for index, counterpart in enumerate(mapped):
                # The last relation of every other unit has too few raters to be shown.
                raters = 2 if index == 2 and position % 2 else 4
                for rater in range(raters):
                    actor = self.rater(unit_id, rater)
                    scores = {k: self.rng.randint(1, 5) for k in self.instrument.dimension_keys}
                    self.ratings[(unit_id, counterpart)] = handle(
                        self.app,
                        day.SubmitRating(
                            engagement_id=self.eid, unit_id=unit_id, counterpart_id=counterpart, scores=scores
                        ),
                        actor.at(self.step(1), "SubmitRating"),
                    )
        # One rater changes their mind: the later rating replaces the earlier.
        unit_id = self.units[0]
        counterpart = self.mapped[unit_id][0]
        actor = self.rater(unit_id, 0)
        handle(
            self.app,
            day.SubmitRating(
                engagement_id=self.eid,
                unit_id=unit_id,
                counterpart_id=counterpart,
                scores=dict.fromkeys(self.instrument.dimension_keys, 2),
            ),
            actor.at(self.step(1), "SubmitRating"),
        )
        self.advance(Phase.MAPPING)

    def send(self, sender: UUID, receiver: UUID, topic: str) -> UUID:
        card_id: UUID = self.by_facilitator(
            day.SendDanceCard(
                engagement_id=self.eid,
                from_unit=sender,
                to_unit=receiver,
                topic=topic,
                reason="Vores vurdering af relationen var lav",
                hoped_outcome="En fælles aftale",
                motivating_rating_id=self.ratings.get((sender, receiver)),
            ),
            "SendDanceCard",
        )
        return card_id

    def cards(self) -> list[UUID]:
        pairs = [(u, self.mapped[u][0]) for u in self.units]
        accepted = []
        for index, (sender, receiver) in enumerate(pairs):
            card_id = self.send(sender, receiver, f"Overlevering {index + 1}")
            if index == 3:
                self.by_facilitator(
                    day.DeclineDanceCard(
                        engagement_id=self.eid, card_id=card_id, unit_id=receiver, reason="Ikke i år"
                    ),
                    "DeclineDanceCard",
                )
                continue
            self.by_facilitator(
                day.AcceptDanceCard(engagement_id=self.eid, card_id=card_id, unit_id=receiver),
                "AcceptDanceCard",
            )
            accepted.append(card_id)
        withdrawn = accepted.pop()
        self.by_facilitator(
            day.WithdrawDanceCard(engagement_id=self.eid, card_id=withdrawn, unit_id=pairs[4][0]),
            "WithdrawDanceCard",
        )
        self.by_facilitator(engagements.SetRounds(engagement_id=self.eid, rounds=4), "SetRounds")
        self.by_facilitator(day.ScheduleDialogues(engagement_id=self.eid), "ScheduleDialogues")
        moved = accepted[0]
        self.by_facilitator(
            day.MoveDialogue(engagement_id=self.eid, card_id=moved, round=None), "MoveDialogue"
        )
        # Back into the earliest round in which neither of its units has another dialogue.
        cards = self.app.engagement(self.eid).cards
        busy = {
            card.round
            for card in cards.values()
            if card.card_id != moved and card.round is not None and set(card.units) & set(cards[moved].units)
        }
        free = min(set(range(1, 5)) - busy)
        self.by_facilitator(
            day.MoveDialogue(engagement_id=self.eid, card_id=moved, round=free), "MoveDialogue"
        )
        self.advance(Phase.DANCE_CARDS)
        return accepted

    def dialogues(self, cards: list[UUID]) -> tuple[list[UUID], list[UUID]]:
        agreements: list[UUID] = []
        proposals: list[UUID] = []
        outcomes = (
            (
                (
                    ("Fælles tavlemøde hver tirsdag", False),
                    ("Fast kontaktperson", True),
                    ("Besøg hos hinanden", False),
                ),
                ("Fælles elektronisk tavle",),
            ),
            ((("Samme skabelon ved overlevering", True),), ("Ændret vagtplan", "Fælles kursus")),
            ((), ()),
        )
        dialogue_ids = []
        for card_id, (made, proposed) in zip(cards, outcomes, strict=True):
            dialogue_id, new_agreements, new_proposals = self.by_facilitator(
                day.HoldDialogue(
                    engagement_id=self.eid,
                    card_id=card_id,
                    notes="Dialogen blev holdt",
                    participants=(REDACTED_NAME, "Ole Hansen"),
                    agreements=made,
                    proposals=proposed,
                ),
                "HoldDialogue",
            )
            dialogue_ids.append(dialogue_id)
            agreements.extend(new_agreements)
            proposals.extend(new_proposals)
        # Paper notes typed in later: the last dialogue's outcomes.
        added_agreements, added_proposals = handle(
            self.app,
            day.AddDialogueOutcomes(
                engagement_id=self.eid,
                dialogue_id=dialogue_ids[-1],
                agreements=(("Faste tider for telefonen", True),),
                proposals=("Undersøg fælles weekendvagt",),
            ),
            self.f.at(self.step(60), "AddDialogueOutcomes"),
        )
        agreements.extend(added_agreements)
        proposals.extend(added_proposals)
        self.advance(Phase.DIALOGUES)
        for unit_id in self.units:
            self.by_facilitator(
                day.WrapUpUnit(
                    engagement_id=self.eid,
                    unit_id=unit_id,
                    summary="Opsamlet",
                    inputs=("Til personalemødet",),
                ),
                "WrapUpUnit",
            )
        return agreements, proposals

    def close(self) -> None:
        self.advance(Phase.WRAP_UP)
        self.by_facilitator(
            day.HoldClosingPlenary(engagement_id=self.eid, notes="Gennemgået i plenum"), "HoldClosingPlenary"
        )
        self.advance(Phase.CLOSING_PLENARY)

    def follow_up(self, agreements: list[UUID], proposals: list[UUID]) -> None:
        c = self.c
        meeting = datetime(2026, 5, 26, 13, tzinfo=UTC)
        engagement = self.app.engagement(self.eid)
        needing = [a for a in agreements if engagement.agreements[a].needs_acceptance]
        for index, agreement_id in enumerate(needing):
            accepted = index != 1
            handle(
                self.app,
                decide.DecideAgreement(
                    engagement_id=self.eid,
                    agreement_id=agreement_id,
                    accepted=accepted,
                    rationale="Passer med planen" if accepted else "For dyrt i år",
                    decided_by=BOARD,
                ),
                c.at(meeting, "DecideAgreement"),
            )
        outcomes = (
            ProposalStatus.APPROVED,
            ProposalStatus.REJECTED,
            ProposalStatus.DEFERRED,
            ProposalStatus.UNDER_INVESTIGATION,
        )
        for proposal_id, outcome in zip(proposals, outcomes, strict=False):
            handle(
                self.app,
                decide.DecideProposal(
                    engagement_id=self.eid,
                    proposal_id=proposal_id,
                    outcome=outcome,
                    rationale="Drøftet på opfølgningsmødet",
                    decided_by=BOARD,
                    deferred_until=date(2026, 8, 31) if outcome is ProposalStatus.DEFERRED else None,
                    owner="Leder af Visitationen" if outcome is ProposalStatus.UNDER_INVESTIGATION else None,
                    due=date(2026, 7, 31) if outcome is ProposalStatus.UNDER_INVESTIGATION else None,
                ),
                c.at(meeting, "DecideProposal"),
            )
        handle(
            self.app,
            engagements.AdvancePhase(engagement_id=self.eid, expected_phase=Phase.FOLLOW_UP_MEETING),
            c.at(meeting + timedelta(hours=2), "AdvancePhase"),
        )
        handle(
            self.app,
            decide.DecideProposal(
                engagement_id=self.eid,
                proposal_id=proposals[2],
                outcome=ProposalStatus.APPROVED,
                rationale="Der er nu budget",
                decided_by=BOARD,
            ),
            c.at(datetime(2026, 9, 1, 13, tzinfo=UTC), "DecideProposal"),
        )
        engagement = self.app.engagement(self.eid)
        in_force = [
            a for a in agreements if engagement.agreements[a].status.value in ("in_force", "accepted")
        ]
        statuses = list(CheckInStatus)
        for months, when in (
            (3, datetime(2026, 8, 25, 11, tzinfo=UTC)),
            (6, datetime(2026, 11, 24, 11, tzinfo=UTC)),
        ):
            for index, agreement_id in enumerate(in_force):
                handle(
                    self.app,
                    decide.CheckInOnAgreement(
                        engagement_id=self.eid,
                        agreement_id=agreement_id,
                        status=statuses[(index + months) % len(statuses)],
                        note=f"Gennemgået efter {months} måneder",
                        evidence="Referat fra ledermødet",
                    ),
                    c.at(when, "CheckInOnAgreement"),
                )
        handle(
            self.app,
            day.RedactParticipant(engagement_id=self.eid, name=REDACTED_NAME),
            c.at(datetime(2026, 10, 1, 9, tzinfo=UTC), "RedactParticipant"),
        )
