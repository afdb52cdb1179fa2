from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from domain.errors import InvariantViolated


@dataclass(frozen=True)
class Dialogue:
    """A dialogue held between the two units of an accepted dance card."""

    dialogue_id: UUID
    card_id: UUID
    units: tuple[UUID, UUID]
    round: int | None
    notes: str
    participants: tuple[str, ...]


@dataclass(frozen=True)
class WrapUp:
    """A unit's wrap-up (opsamling): what it takes home from its dialogues."""

    unit_id: UUID
    summary: str
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class ClosingPlenary:
    """The closing plenary (afsluttende orientering): agreements reported, proposals listed."""

    notes: str
    reported_agreements: tuple[UUID, ...]
    listed_proposals: tuple[UUID, ...]


def participant_places(dialogues: Iterable[Dialogue], name: str) -> tuple[tuple[UUID, int], ...]:
    """Where `name` (any case, blanks around it ignored) stands in the dialogues' participant
    lists: each place as the dialogue's id and the position in its list."""
    wanted = name.strip().casefold()
    if not wanted:
        raise InvariantViolated("erasure_needs_name")
    return tuple(
        (dialogue.dialogue_id, index)
        for dialogue in dialogues
        for index, participant in enumerate(dialogue.participants)
        if participant.casefold() == wanted
    )
