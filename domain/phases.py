from __future__ import annotations

from enum import Enum

from domain.errors import WrongPhase


class Phase(str, Enum):
    """The steps of an engagement (forløb), in the order the method takes them."""

    PREPARED = "prepared"
    THEME_DAY_OPEN = "theme_day_open"
    MAPPING = "mapping"
    DANCE_CARDS = "dance_cards"
    DIALOGUES = "dialogues"
    WRAP_UP = "wrap_up"
    CLOSING_PLENARY = "closing_plenary"
    FOLLOW_UP_MEETING = "follow_up_meeting"
    FOLLOW_THROUGH = "follow_through"
    CLOSED = "closed"

    @property
    def following(self) -> Phase | None:
        order = list(Phase)
        position = order.index(self)
        return order[position + 1] if position + 1 < len(order) else None

    @property
    def preceding(self) -> Phase | None:
        order = list(Phase)
        position = order.index(self)
        return order[position - 1] if position > 0 else None


def require_phase(current: Phase, action: str, *allowed: Phase) -> None:
    """Refuses `action` (its code, `domain.refusals.ACTIONS`) outside the `allowed` phases."""
    if current not in allowed:
        raise WrongPhase(
            "wrong_phase",
            state=current.value,
            action=action,
            allowed=tuple(p.value for p in allowed),
            current=current.value,
        )
