"""Dance cards flying between units as a network (the theme-day board): an arrow from the
sending unit to the one invited, styled by the card's status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from markupsafe import Markup

from domain.cards import CardStatus
from projections.queries import UnitName
from services.web.charts.network import Arrow, EdgeStyle, draw_network
from services.web.i18n import gettext as _
from services.web.labels import card_status_label

CARD_STYLES: dict[str, tuple[str, str]] = {
    CardStatus.ACCEPTED.value: ("#0077BB", ""),
    CardStatus.SENT.value: ("#AA6600", "8 4"),
    CardStatus.DECLINED.value: ("#767676", "2 4"),
    CardStatus.WITHDRAWN.value: ("#767676", "9 3 2 3"),
}


@dataclass(frozen=True)
class CardLine:
    """A dance card as the board draws it: from, to, status."""

    from_unit: UUID
    to_unit: UUID
    status: str


_CARD_ORDER = (
    CardStatus.ACCEPTED.value,
    CardStatus.SENT.value,
    CardStatus.DECLINED.value,
    CardStatus.WITHDRAWN.value,
)


def card_network(
    nodes: Sequence[UnitName],
    cards: Sequence[CardLine],
    *,
    chart_id: str = "card-network",
    label_size: float = 15,
) -> Markup:
    """Dance cards flying between units: an arrow from the sending unit to the one invited,
    styled by the card's status (accepted solid, sent dashed, declined dotted, withdrawn
    dash-dotted); several cards the same way are drawn once, with their number."""
    styles = {s: EdgeStyle(*CARD_STYLES[s], card_status_label(s)) for s in _CARD_ORDER}
    names = {n.unit_id: n.name for n in nodes}
    grouped: dict[tuple[UUID, UUID], list[str]] = {}
    for card in cards:
        grouped.setdefault((card.from_unit, card.to_unit), []).append(card.status)
    arrows = []
    for (sender, receiver), statuses in grouped.items():
        shown = min(statuses, key=lambda s: _CARD_ORDER.index(s) if s in _CARD_ORDER else len(_CARD_ORDER))
        words = _(
            "%(sender)s invited %(receiver)s: %(statuses)s",
            sender=names.get(sender, ""),
            receiver=names.get(receiver, ""),
            statuses=", ".join(card_status_label(s) for s in statuses),
        )
        arrows.append(
            Arrow(
                sender,
                receiver,
                shown if shown in styles else CardStatus.SENT.value,
                2.5 + len(statuses),
                words,
                str(len(statuses)) if len(statuses) > 1 else "",
            )
        )
    counted = {s: sum(1 for c in cards if c.status == s) for s in styles}
    description = _(
        "Units: %(units)s. Dance cards between them: %(cards)s.", cards=len(cards), units=len(nodes)
    )
    if cards:
        description += " " + "; ".join(f"{styles[s].label}: {counted[s]}" for s in styles) + "."
    notes = [_("Arrow: from the unit that sends the card to the unit it invites.")]
    title = _("Dance cards between units")
    return draw_network(chart_id, nodes, arrows, styles, title, description, notes, label_size)
