from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from domain.errors import InvariantViolated


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
            raise InvariantViolated("only the invited unit can answer a dance card")
        if self.status is not CardStatus.SENT:
            raise InvariantViolated(
                f"the dance card has already been {self.status.value}", state=self.status.value
            )

    def check_withdrawable_by(self, unit_id: UUID) -> None:
        if unit_id != self.from_unit:
            raise InvariantViolated("only the inviting unit can withdraw a dance card")
        if self.status not in (CardStatus.SENT, CardStatus.ACCEPTED):
            raise InvariantViolated(
                f"a {self.status.value} dance card cannot be withdrawn", state=self.status.value
            )
