"""A participant's name can be erased from an engagement's dialogues without breaking its
history: the event names places, not the person; ratings keep their pseudonyms."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.engagement import REDACTED
from domain.errors import InvariantViolated
from domain.phases import Phase
from services.persistence.transcoding import MsgspecTranscoder, TypedMapper
from tests.unit.factories import accepted_card, advance_to, engagement_in, provenance


def test_a_name_reads_redacted_wherever_it_stood_and_the_event_does_not_carry_it() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    first = accepted_card(engagement, units[0], units[1])
    second = accepted_card(engagement, units[2], units[3])
    advance_to(engagement, Phase.DIALOGUES)
    engagement.hold_dialogue(*_dialogue(first, ("Anna Jensen", "Bo")))
    engagement.hold_dialogue(*_dialogue(second, ("anna jensen ", "Carl")))
    engagement.collect_events()

    assert engagement.redact_participant("Anna Jensen", provenance()) == 2
    participants = sorted(d.participants for d in engagement.dialogues.values())
    assert participants == [(REDACTED, "Bo"), (REDACTED, "Carl")]

    (event,) = engagement.collect_events()
    mapper = TypedMapper(transcoder=MsgspecTranscoder())
    stored = mapper.to_stored_event(event)
    assert b"Anna" not in stored.state
    assert b"anna" not in stored.state
    assert mapper.to_domain_event(stored) == event
    # Nothing left to erase: no event.
    assert engagement.redact_participant("Anna Jensen", provenance()) == 0
    assert engagement.collect_events() == []
    with pytest.raises(InvariantViolated):
        engagement.redact_participant("  ", provenance())


def _dialogue(card_id: UUID, participants: tuple[str, ...]) -> tuple[Any, ...]:
    return (uuid4(), card_id, "Noter", participants, (), (), provenance())
