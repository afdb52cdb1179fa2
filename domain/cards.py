from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from domain.errors import InvariantViolated
from domain.text import required_text


class CardStatus(str, Enum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class DanceCard:
    """An invitation (balkort) from one unit to another to a targeted, solution-focused dialogue."""

    card_id: UUID
    from_unit: UUID
    to_unit: UUID
    topic: str
    reason: str
    hoped_outcome: str
    motivating_rating_id: UUID | None
    status: CardStatus
    response_note: str
    round: int | None
    pinned: bool

    @property
    def units(self) -> tuple[UUID, UUID]:
        return (self.from_unit, self.to_unit)

    def check_answerable_by(self, unit_id: UUID) -> None:
        if unit_id != self.to_unit:
            raise InvariantViolated("card_answered_by_invited")
        if self.status is not CardStatus.SENT:
            raise InvariantViolated("card_answered", state=self.status.value, status=self.status.value)

    def check_withdrawable_by(self, unit_id: UUID) -> None:
        if unit_id != self.from_unit:
            raise InvariantViolated("card_withdrawn_by_inviting")
        if self.status not in (CardStatus.SENT, CardStatus.ACCEPTED):
            raise InvariantViolated(
                "card_not_withdrawable", state=self.status.value, status=self.status.value
            )


def sent_card(
    card_id: UUID,
    from_unit: UUID,
    to_unit: UUID,
    topic: str,
    reason: str,
    hoped_outcome: str,
    motivating_rating_id: UUID | None,
) -> DanceCard:
    """A card as it is sent: it names a topic, and nobody has answered it or given it a round."""
    return DanceCard(
        card_id,
        from_unit,
        to_unit,
        required_text(topic, "card_topic_empty"),
        reason.strip(),
        hoped_outcome.strip(),
        motivating_rating_id,
        CardStatus.SENT,
        "",
        None,
        False,
    )
