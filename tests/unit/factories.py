"""Small builders for unit tests of the pure domain: fixed provenance, engagements in any phase."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.engagement import Engagement
from domain.outcomes import AgreementDraft, ProposalDraft
from domain.phases import Phase
from domain.preparation import Preparation
from domain.provenance import Provenance
from domain.ratings import RatingMode
from domain.roles import Role

CLOCK = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
ACTOR_ID = UUID("00000000-0000-4000-8000-00000000a11c")
TENANT_ID = UUID("00000000-0000-4000-8000-0000000007e0")
COMMAND_ID = UUID("00000000-0000-4000-8000-00000000c0de")

ALL_THREES = dict.fromkeys(DEFAULT_INSTRUMENT.dimension_keys, 3)


def provenance(
    at: datetime = CLOCK,
    role: Role = Role.CONSULTANT,
    *,
    recorded_at: datetime | None = None,
    command_name: str = "test",
) -> Provenance:
    return Provenance(
        actor_id=ACTOR_ID,
        actor_role=role,
        tenant_id=TENANT_ID,
        occurred_at=at,
        recorded_at=recorded_at or at,
        command_id=COMMAND_ID,
        command_name=command_name,
        correlation_id="test-correlation",
    )


def later(days: int) -> Provenance:
    return provenance(at=CLOCK + timedelta(days=days))


def preparation(title: str = "Samarbejde på tværs") -> Preparation:
    return Preparation(
        title=title,
        focus="Udskrivning af borgere",
        target_group="Ledere og medarbejdere",
        work_process="Fra indlæggelse til hjemmepleje",
        planning_group=("Direktør", "HR"),
        theme_day=date(2025, 4, 1),
        follow_up_meeting=date(2025, 6, 1),
    )


def prepared_engagement(
    units: int = 4,
    mode: RatingMode = RatingMode.UNIT,
    rounds: int = 3,
    min_group_size: int = 3,
) -> tuple[Engagement, tuple[UUID, ...]]:
    unit_ids = tuple(uuid4() for _ in range(units))
    engagement = Engagement.prepare(
        uuid4(), preparation(), unit_ids, DEFAULT_INSTRUMENT, mode, min_group_size, rounds, provenance()
    )
    return engagement, unit_ids


def advance_to(engagement: Engagement, phase: Phase) -> Engagement:
    """Advance one phase at a time; holds the closing plenary on the way when needed."""
    order = list(Phase)
    while order.index(engagement.phase) < order.index(phase):
        if engagement.phase is Phase.CLOSING_PLENARY and engagement.plenary is None:
            engagement.hold_closing_plenary("", provenance())
        engagement.advance(engagement.phase, provenance())
    return engagement


def engagement_in(
    phase: Phase, units: int = 4, mode: RatingMode = RatingMode.UNIT, rounds: int = 3
) -> tuple[Engagement, tuple[UUID, ...]]:
    engagement, unit_ids = prepared_engagement(units=units, mode=mode, rounds=rounds)
    return advance_to(engagement, phase), unit_ids


def accepted_card(
    engagement: Engagement, from_unit: UUID, to_unit: UUID, topic: str = "Overlevering"
) -> UUID:
    """Send and accept a card; the engagement must be in the dance-card phase."""
    card_id = uuid4()
    engagement.send_card(card_id, from_unit, to_unit, topic, "", "", None, provenance())
    engagement.accept_card(card_id, to_unit, provenance())
    return card_id


def agreement(text: str = "Vi ringer hver mandag", *, needs_acceptance: bool = False) -> AgreementDraft:
    return AgreementDraft(uuid4(), text, needs_acceptance)


def proposal(text: str = "Fælles vagtplan") -> ProposalDraft:
    return ProposalDraft(uuid4(), text)


def engagement_with_outcomes(
    agreements: tuple[AgreementDraft, ...] = (),
    proposals: tuple[ProposalDraft, ...] = (),
    until: Phase = Phase.FOLLOW_UP_MEETING,
) -> tuple[Engagement, tuple[UUID, ...], UUID]:
    """An engagement with one dialogue (units 0 and 1) that produced the given outcomes."""
    engagement, unit_ids = engagement_in(Phase.DANCE_CARDS)
    card_id = accepted_card(engagement, unit_ids[0], unit_ids[1])
    advance_to(engagement, Phase.DIALOGUES)
    dialogue_id = uuid4()
    engagement.hold_dialogue(dialogue_id, card_id, "Noter", ("Anna",), agreements, proposals, provenance())
    return advance_to(engagement, until), unit_ids, dialogue_id
