from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


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
