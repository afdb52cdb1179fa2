"""Rules that keep an engagement's history honest when the day does not go to plan."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import InvariantViolated
from domain.phases import Phase
from tests.unit.factories import (
    ALL_THREES,
    accepted_card,
    advance_to,
    agreement,
    engagement_in,
    provenance,
)


def test_a_dialogue_held_unscheduled_keeps_no_round_when_the_rest_is_scheduled() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    held_card = accepted_card(engagement, units[0], units[1])
    other_card = accepted_card(engagement, units[2], units[3])
    advance_to(engagement, Phase.DIALOGUES)
    engagement.hold_dialogue(uuid4(), held_card, "", (), (), (), provenance())

    schedule = engagement.schedule_dialogues(provenance())

    assert held_card not in schedule
    assert engagement.cards[held_card].round is None
    assert schedule[other_card] == 1


def test_a_held_dialogue_still_occupies_its_round() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS, rounds=2)
    first = accepted_card(engagement, units[0], units[1])
    engagement.move_dialogue(first, 1, provenance())
    advance_to(engagement, Phase.DIALOGUES)
    engagement.hold_dialogue(uuid4(), first, "", (), (), (), provenance())
    # A second card between the same units must avoid the held dialogue's round.
    engagement.move_back(Phase.DIALOGUES, "one more card", provenance())
    second = accepted_card(engagement, units[1], units[0])
    schedule = engagement.schedule_dialogues(provenance())
    assert schedule == {first: 1, second: 2}


def test_a_stale_closing_plenary_does_not_open_the_follow_up_meeting() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    card = accepted_card(engagement, units[0], units[1])
    advance_to(engagement, Phase.DIALOGUES)
    dialogue_id = uuid4()
    engagement.hold_dialogue(dialogue_id, card, "", (), (), (), provenance())
    advance_to(engagement, Phase.CLOSING_PLENARY)
    engagement.hold_closing_plenary("", provenance())
    engagement.move_back(Phase.CLOSING_PLENARY, "an agreement was forgotten", provenance())
    engagement.add_outcomes(dialogue_id, (agreement(),), (), provenance())
    engagement.advance(Phase.WRAP_UP, provenance())

    with pytest.raises(InvariantViolated, match="closing plenary"):
        engagement.advance(Phase.CLOSING_PLENARY, provenance())

    engagement.hold_closing_plenary("again", provenance())
    engagement.advance(Phase.CLOSING_PLENARY, provenance())
    assert engagement.phase is Phase.FOLLOW_UP_MEETING


def test_ratings_of_a_relation_no_longer_mapped_no_longer_count() -> None:
    engagement, units = engagement_in(Phase.MAPPING)
    engagement.map_relations(units[0], (units[1],), provenance())
    engagement.submit_rating(uuid4(), units[0], units[1], ALL_THREES, None, provenance())

    engagement.map_relations(units[0], (units[2],), provenance())

    assert engagement.relation(units[0], units[1]).suppressed
    assert engagement.ratings == {}
