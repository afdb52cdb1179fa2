"""The engagement dashboard after the theme day: the weakest shown ties, cards per tie,
agreements and proposals by status, the latest check-ins, investigations past due and deferred
proposals (the `dashboards/` and `follow_up/` pages)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import msgspec

from domain.agreements import AgreementStatus
from domain.cards import CardStatus
from domain.proposals import ProposalStatus
from projections.documents import AgreementOut, EngagementOut, OrganisationUnits, ProposalOut
from projections.queries.names import UnitName, name_of, named, names_at
from projections.queries.shared import (
    FOLLOW_THROUGH_KEYS,
    NO_CHECK_IN,
    is_shown,
    latest_check_in,
    latest_decision_of,
    past_due,
)


class WeakTie(msgspec.Struct):
    unit_id: UUID
    unit_name: str
    counterpart_id: UUID
    counterpart_name: str
    index: str
    band: str | None


class CardsOnTie(msgspec.Struct):
    """Cards between two units, either direction, counted by status."""

    units: list[UnitName]
    by_status: dict[str, int]


class AgreementLine(msgspec.Struct):
    agreement_id: UUID
    text: str
    units: list[UnitName]
    status: str
    latest_check_in: str | None
    latest_check_in_at: datetime | None


class InvestigationLine(msgspec.Struct):
    proposal_id: UUID
    text: str
    owner: str | None
    due: date
    days_overdue: int


class DeferredLine(msgspec.Struct):
    """A deferred proposal; `deferred_until` None means to the next meeting."""

    proposal_id: UUID
    text: str
    deferred_until: date | None


class EngagementDashboard(msgspec.Struct):
    engagement_id: UUID
    title: str
    phase: str
    today: date
    weakest_ties: list[WeakTie]
    cards_per_tie: list[CardsOnTie]
    agreements_by_status: dict[str, int]
    latest_check_ins: dict[str, int]
    agreements: list[AgreementLine]
    proposals_by_status: dict[str, int]
    overdue_investigations: list[InvestigationLine]
    deferred_proposals: list[DeferredLine]


WEAKEST = 10


def _weakest(engagement: EngagementOut, names: dict[UUID, str], limit: int) -> list[WeakTie]:
    shown = [v for v in engagement.relation_views if is_shown(v)]
    shown.sort(
        key=lambda v: (Decimal(v.index or "0"), name_of(names, v.unit_id), name_of(names, v.counterpart_id))
    )
    return [
        WeakTie(
            v.unit_id,
            name_of(names, v.unit_id),
            v.counterpart_id,
            name_of(names, v.counterpart_id),
            v.index or "",
            v.band,
        )
        for v in shown[:limit]
    ]


def _cards_per_tie(engagement: EngagementOut, names: dict[UUID, str]) -> list[CardsOnTie]:
    counts: dict[frozenset[UUID], Counter[str]] = defaultdict(Counter)
    for card in engagement.cards:
        counts[frozenset((card.from_unit, card.to_unit))][card.status] += 1
    ties = [
        CardsOnTie(
            sorted(named(names, pair), key=lambda n: n.name),
            {s.value: counted[s.value] for s in CardStatus},
        )
        for pair, counted in counts.items()
    ]
    return sorted(ties, key=lambda t: [n.name for n in t.units])


def _agreement_line(agreement: AgreementOut, names: dict[UUID, str]) -> AgreementLine:
    latest = latest_check_in(agreement)
    return AgreementLine(
        agreement.agreement_id,
        agreement.text,
        named(names, agreement.units),
        agreement.status,
        None if latest is None else latest.status,
        None if latest is None else latest.at,
    )


def engagement_dashboard(
    engagement: EngagementOut, organisation: OrganisationUnits, today: date, moment: datetime | None = None
) -> EngagementDashboard:
    """After the theme day: the weakest shown ties, cards per tie, agreements and proposals by
    status, the latest check-ins, investigations past their due date and deferred proposals."""
    names = names_at(organisation, moment)
    live = [a for a in engagement.agreements if a.status != AgreementStatus.REJECTED.value]
    latest = Counter((c.status if (c := latest_check_in(a)) else NO_CHECK_IN) for a in live)
    deferred = [
        DeferredLine(p.proposal_id, p.text, d.deferred_until if (d := latest_decision_of(p)) else None)
        for p in engagement.proposals
        if p.status == ProposalStatus.DEFERRED.value
    ]
    return EngagementDashboard(
        engagement_id=engagement.engagement_id,
        title=engagement.title,
        phase=engagement.phase.value,
        today=today,
        weakest_ties=_weakest(engagement, names, WEAKEST),
        cards_per_tie=_cards_per_tie(engagement, names),
        agreements_by_status=_count(engagement.agreements, AgreementStatus),
        latest_check_ins={key: latest[key] for key in FOLLOW_THROUGH_KEYS},
        agreements=[_agreement_line(a, names) for a in engagement.agreements],
        proposals_by_status=_count(engagement.proposals, ProposalStatus),
        overdue_investigations=[
            InvestigationLine(p.proposal_id, p.text, owner, due, (today - due).days)
            for p, owner, due in past_due(engagement.proposals, today)
        ],
        deferred_proposals=deferred,
    )


def _count(
    items: Iterable[AgreementOut | ProposalOut], statuses: type[AgreementStatus | ProposalStatus]
) -> dict[str, int]:
    counted = Counter(i.status for i in items)
    return {s.value: counted[s.value] for s in statuses}
