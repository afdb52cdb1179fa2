"""An engagement walks the method's phases in order; every command belongs to its phases."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from types import FunctionType
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.agreements import CheckInStatus
from domain.engagement import Engagement
from domain.errors import InvariantViolated, WrongPhase
from domain.phases import Phase
from domain.proposals import ProposalStatus
from tests.unit.factories import (
    ALL_THREES,
    advance_to,
    engagement_in,
    preparation,
    prepared_engagement,
    provenance,
)

ORDER = list(Phase)


def _event_names(engagement: Engagement) -> list[str]:
    return [type(e).__name__ for e in engagement.collect_events()]


def test_advances_through_every_phase_in_order() -> None:
    engagement, _ = prepared_engagement()
    visited = [engagement.phase]
    for expected in ORDER[:-1]:
        if expected is Phase.CLOSING_PLENARY:
            engagement.hold_closing_plenary("Aftaler fremlagt", provenance())
        assert engagement.advance(expected, provenance()) is expected.following
        visited.append(engagement.phase)
    assert visited == ORDER
    events = engagement.collect_events()
    advanced = [e for e in events if type(e).__name__ == "PhaseAdvanced"]
    assert [(e.from_phase, e.to_phase) for e in advanced] == list(itertools.pairwise(ORDER))


def test_the_closing_plenary_is_held_before_the_follow_up_meeting() -> None:
    engagement, _ = engagement_in(Phase.CLOSING_PLENARY)
    with pytest.raises(InvariantViolated, match="closing plenary"):
        engagement.advance(Phase.CLOSING_PLENARY, provenance())
    assert engagement.phase is Phase.CLOSING_PLENARY
    engagement.hold_closing_plenary("", provenance())
    assert engagement.advance(Phase.CLOSING_PLENARY, provenance()) is Phase.FOLLOW_UP_MEETING


@pytest.mark.parametrize("stale", [Phase.PREPARED, Phase.DANCE_CARDS])
def test_advance_with_a_stale_expected_phase_is_refused(stale: Phase) -> None:
    engagement, _ = engagement_in(Phase.MAPPING)
    engagement.collect_events()
    with pytest.raises(InvariantViolated, match="in phase mapping, not") as raised:
        engagement.advance(stale, provenance())
    assert raised.value.state == "mapping"
    assert engagement.phase is Phase.MAPPING
    assert engagement.collect_events() == []


def test_move_back_with_a_stale_expected_phase_is_refused() -> None:
    engagement, _ = engagement_in(Phase.MAPPING)
    engagement.collect_events()
    with pytest.raises(InvariantViolated):
        engagement.move_back(Phase.THEME_DAY_OPEN, "forkert klik", provenance())
    assert engagement.phase is Phase.MAPPING
    assert engagement.collect_events() == []


def test_stepping_back_is_recorded_as_an_event_with_its_reason() -> None:
    engagement, _ = engagement_in(Phase.DANCE_CARDS)
    version = engagement.version
    engagement.collect_events()
    assert engagement.move_back(Phase.DANCE_CARDS, "  en enhed manglede  ", provenance()) is Phase.MAPPING
    (moved_back,) = engagement.collect_events()
    assert type(moved_back).__name__ == "PhaseMovedBack"
    assert moved_back.from_phase is Phase.DANCE_CARDS
    assert moved_back.to_phase is Phase.MAPPING
    assert moved_back.reason == "en enhed manglede"
    assert engagement.version == version + 1
    assert engagement.phase is Phase.MAPPING


def test_stepping_back_needs_a_reason() -> None:
    engagement, _ = engagement_in(Phase.MAPPING)
    with pytest.raises(InvariantViolated, match="reason"):
        engagement.move_back(Phase.MAPPING, "   ", provenance())
    assert engagement.phase is Phase.MAPPING


def test_there_is_nothing_before_the_first_phase() -> None:
    engagement, _ = prepared_engagement()
    with pytest.raises(InvariantViolated, match="first phase"):
        engagement.move_back(Phase.PREPARED, "fortryd", provenance())


def test_nothing_follows_closed() -> None:
    engagement, _ = engagement_in(Phase.CLOSED)
    engagement.collect_events()
    with pytest.raises(InvariantViolated, match="closed") as raised:
        engagement.advance(Phase.CLOSED, provenance())
    assert raised.value.state == "closed"
    assert engagement.collect_events() == []


@pytest.mark.parametrize(
    ("units", "rounds", "min_group", "title", "message"),
    [
        (1, 3, 3, "Forløb", "two distinct"),
        (0, 3, 3, "Forløb", "two distinct"),
        (2, 0, 3, "Forløb", "rounds"),
        (2, 11, 3, "Forløb", "rounds"),
        (2, 3, 0, "Forløb", "minimum group size"),
        (2, 3, 3, "   ", "title"),
    ],
)
def test_preparing_checks_the_setup(
    units: int, rounds: int, min_group: int, title: str, message: str
) -> None:
    from domain.default_instrument import DEFAULT_INSTRUMENT
    from domain.ratings import RatingMode

    unit_ids = tuple(uuid4() for _ in range(units))
    with pytest.raises(InvariantViolated, match=message):
        Engagement.prepare(
            uuid4(),
            preparation(title),
            unit_ids,
            DEFAULT_INSTRUMENT,
            RatingMode.UNIT,
            min_group,
            rounds,
            provenance(),
        )


def test_preparing_refuses_the_same_unit_twice() -> None:
    from domain.default_instrument import DEFAULT_INSTRUMENT
    from domain.ratings import RatingMode

    unit = uuid4()
    with pytest.raises(InvariantViolated, match="two distinct"):
        Engagement.prepare(
            uuid4(), preparation(), (unit, unit), DEFAULT_INSTRUMENT, RatingMode.UNIT, 3, 3, provenance()
        )


# -- every command out of phase ----------------------------------------------------------------

Command = Callable[[Engagement, tuple[UUID, ...]], Any]
P = provenance()

COMMANDS: dict[str, tuple[Command, tuple[Phase, ...]]] = {
    "revise_preparation": (
        lambda e, u: e.revise_preparation(preparation("Ny titel"), P),
        (Phase.PREPARED, Phase.THEME_DAY_OPEN),
    ),
    "map_relations": (lambda e, u: e.map_relations(u[0], (u[1],), P), (Phase.MAPPING,)),
    "submit_rating": (
        lambda e, u: e.submit_rating(uuid4(), u[0], u[1], ALL_THREES, None, P),
        (Phase.MAPPING,),
    ),
    "send_card": (
        lambda e, u: e.send_card(uuid4(), u[0], u[1], "Emne", "", "", None, P),
        (Phase.DANCE_CARDS,),
    ),
    "accept_card": (lambda e, u: e.accept_card(uuid4(), u[1], P), (Phase.DANCE_CARDS,)),
    "decline_card": (lambda e, u: e.decline_card(uuid4(), u[1], "travlt", P), (Phase.DANCE_CARDS,)),
    "withdraw_card": (lambda e, u: e.withdraw_card(uuid4(), u[0], P), (Phase.DANCE_CARDS, Phase.DIALOGUES)),
    "set_rounds": (
        lambda e, u: e.set_rounds(2, P),
        (Phase.PREPARED, Phase.THEME_DAY_OPEN, Phase.MAPPING, Phase.DANCE_CARDS, Phase.DIALOGUES),
    ),
    "schedule_dialogues": (lambda e, u: e.schedule_dialogues(P), (Phase.DANCE_CARDS, Phase.DIALOGUES)),
    "move_dialogue": (lambda e, u: e.move_dialogue(uuid4(), 1, P), (Phase.DANCE_CARDS, Phase.DIALOGUES)),
    "hold_dialogue": (
        lambda e, u: e.hold_dialogue(uuid4(), uuid4(), "", (), (), (), P),
        (Phase.DIALOGUES, Phase.WRAP_UP),
    ),
    "add_outcomes": (lambda e, u: e.add_outcomes(uuid4(), (), (), P), (Phase.DIALOGUES, Phase.WRAP_UP)),
    "wrap_up": (lambda e, u: e.wrap_up(u[0], "Opsamling", (), P), (Phase.WRAP_UP,)),
    "hold_closing_plenary": (lambda e, u: e.hold_closing_plenary("", P), (Phase.CLOSING_PLENARY,)),
    "decide_agreement": (
        lambda e, u: e.decide_agreement(uuid4(), True, "", "Direktør", P),
        (Phase.FOLLOW_UP_MEETING,),
    ),
    "decide_proposal": (
        lambda e, u: e.decide_proposal(uuid4(), ProposalStatus.APPROVED, "", "Direktør", P),
        (Phase.FOLLOW_UP_MEETING, Phase.FOLLOW_THROUGH),
    ),
    "check_in": (
        lambda e, u: e.check_in(uuid4(), uuid4(), CheckInStatus.IMPLEMENTED, "", P),
        (Phase.FOLLOW_UP_MEETING, Phase.FOLLOW_THROUGH),
    ),
}


def _wrong_phases(allowed: tuple[Phase, ...]) -> list[Phase]:
    """The phase just before and just after the allowed span, plus CLOSED."""
    first, last = ORDER.index(allowed[0]), ORDER.index(allowed[-1])
    wrong = {ORDER[i] for i in (first - 1, last + 1) if 0 <= i < len(ORDER)} | {Phase.CLOSED}
    return sorted(wrong - set(allowed), key=ORDER.index)


CASES = [
    pytest.param(name, phase, id=f"{name}-in-{phase.value}")
    for name, (_, allowed) in COMMANDS.items()
    for phase in _wrong_phases(allowed)
]


@pytest.mark.parametrize(("name", "phase"), CASES)
def test_a_command_out_of_phase_names_the_allowed_and_the_current_phase(name: str, phase: Phase) -> None:
    command, allowed = COMMANDS[name]
    engagement, unit_ids = engagement_in(phase)
    engagement.collect_events()
    with pytest.raises(WrongPhase) as raised:
        command(engagement, unit_ids)
    message = raised.value.message
    for allowed_phase in allowed:
        assert allowed_phase.value in message
    assert f"the engagement is in phase {phase.value}" in message
    assert raised.value.state == phase.value
    assert raised.value.rule == "wrong_phase"
    assert engagement.collect_events() == []


def test_every_command_is_checked_for_its_phase() -> None:
    public = {
        name
        for name, member in vars(Engagement).items()
        if name[0].islower() and isinstance(member, (FunctionType, classmethod, staticmethod))
    }
    queries_and_setup = {
        "prepare",
        "check_setup",
        "advance",
        "move_back",
        "rating",
        "relation",
        "card",
        "dialogue",
        "agreement",
        "proposal",
    }
    # A person's right to erasure holds in every phase.
    any_phase = {"redact_participant"}
    assert public - queries_and_setup - any_phase == set(COMMANDS)


def test_advance_to_helper_reaches_follow_through() -> None:
    engagement, _ = prepared_engagement()
    advance_to(engagement, Phase.FOLLOW_THROUGH)
    assert engagement.phase is Phase.FOLLOW_THROUGH
    assert engagement.plenary is not None
    assert engagement.preparation.follow_up_meeting == date(2025, 6, 1)
