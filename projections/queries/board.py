"""The theme-day board: the facilitator's overview of the day, unit by unit, the dialogue
rounds and the latest agreements and proposals (the `board/` pages)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

import msgspec

from domain.cards import CardStatus
from projections.documents import AgreementOut, EngagementOut, OrganisationUnits, ProposalOut, UnitProgress
from projections.queries.names import UnitName, name_of, named, names_at
from projections.queries.shared import EARLIEST


class BoardUnit(msgspec.Struct):
    """One unit's progress on the theme day."""

    unit_id: UUID
    name: str
    relations_mapped: int
    relations_rated: int
    cards_sent: int
    cards_received: int
    cards_accepted: int
    cards_declined: int
    dialogues: int
    wrapped_up: bool
    # Individuals of the unit who have rated, and how many people its personal codes are for
    # (None when it has none): "7 of 12 rated", never who.
    raters: int = 0
    people: int | None = None


class ScheduledDialogue(msgspec.Struct):
    card_id: UUID
    from_unit: UUID
    from_name: str
    to_unit: UUID
    to_name: str
    topic: str
    held: bool


class DialogueRound(msgspec.Struct):
    round: int
    dialogues: list[ScheduledDialogue]


class OutcomeLine(msgspec.Struct):
    """An agreement or a proposal, with the names of its units."""

    outcome_id: UUID
    text: str
    units: list[UnitName]
    status: str
    made_at: datetime | None


class ThemeDayBoard(msgspec.Struct):
    engagement_id: UUID
    title: str
    phase: str
    theme_day: date
    units: list[BoardUnit]
    schedule: list[DialogueRound]
    agreements: int
    proposals: int
    latest_agreements: list[OutcomeLine]
    latest_proposals: list[OutcomeLine]


T = TypeVar("T", AgreementOut, ProposalOut)
LATEST = 5


def _by_made_at(items: list[T], limit: int) -> list[T]:
    """The latest `limit` items by when they were made (undated ones last)."""
    return sorted(items, key=lambda i: i.made_at or EARLIEST, reverse=True)[:limit]


def _board_unit(progress: UnitProgress, names: dict[UUID, str], people: int | None) -> BoardUnit:
    return BoardUnit(
        unit_id=progress.unit_id,
        name=name_of(names, progress.unit_id),
        relations_mapped=progress.relations_mapped,
        relations_rated=progress.relations_rated,
        cards_sent=progress.cards_sent,
        cards_received=progress.cards_received,
        cards_accepted=progress.cards_accepted,
        cards_declined=progress.cards_declined,
        dialogues=progress.dialogues,
        wrapped_up=progress.wrapped_up,
        raters=progress.raters,
        people=people,
    )


def _schedule(engagement: EngagementOut, names: dict[UUID, str]) -> list[DialogueRound]:
    held = {d.card_id for d in engagement.dialogues}
    rounds: dict[int, list[ScheduledDialogue]] = defaultdict(list)
    for card in engagement.cards:
        if card.round is None or card.status != CardStatus.ACCEPTED.value:
            continue
        rounds[card.round].append(
            ScheduledDialogue(
                card_id=card.card_id,
                from_unit=card.from_unit,
                from_name=name_of(names, card.from_unit),
                to_unit=card.to_unit,
                to_name=name_of(names, card.to_unit),
                topic=card.topic,
                held=card.card_id in held,
            )
        )
    return [DialogueRound(r, rounds[r]) for r in sorted(rounds)]


def _outcome(item: AgreementOut | ProposalOut, names: dict[UUID, str]) -> OutcomeLine:
    outcome_id = item.agreement_id if isinstance(item, AgreementOut) else item.proposal_id
    return OutcomeLine(outcome_id, item.text, named(names, item.units), item.status, item.made_at)


def theme_day_board(
    engagement: EngagementOut,
    organisation: OrganisationUnits,
    moment: datetime | None = None,
    people: Mapping[UUID, int] | None = None,
) -> ThemeDayBoard:
    """The facilitator's overview of the theme day, with unit names as they were at `moment`;
    `people`: how many people each unit's personal codes are for (kept outside the read model,
    with the codes)."""
    people = people or {}
    names = names_at(organisation, moment)
    progress = {p.unit_id: p for p in engagement.unit_progress}
    units = [
        _board_unit(progress.get(u) or UnitProgress(u, 0, 0, 0, 0, 0, 0, 0, False), names, people.get(u))
        for u in engagement.unit_ids
    ]
    return ThemeDayBoard(
        engagement_id=engagement.engagement_id,
        title=engagement.title,
        phase=engagement.phase.value,
        theme_day=engagement.theme_day,
        units=units,
        schedule=_schedule(engagement, names),
        agreements=len(engagement.agreements),
        proposals=len(engagement.proposals),
        latest_agreements=[_outcome(a, names) for a in _by_made_at(engagement.agreements, LATEST)],
        latest_proposals=[_outcome(p, names) for p in _by_made_at(engagement.proposals, LATEST)],
    )
