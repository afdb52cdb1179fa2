"""Questions answered from the read-model documents: pure functions, no I/O, no clock.

`moment` / `today` are always passed in. Anonymity rule for everything that shows ratings: a
relation whose view is suppressed contributes no number anywhere — not as a cell, not to a
mean, not to a count of raters — so a hidden value can never be recovered by subtracting
shown figures from a total. Aggregates say how many cells they left out instead. Which
aggregate a view shows, version after version, is decided once in the fold
(`projections/anonymity.py`, docs/adr/0015): nothing here computes from ratings.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import TypeVar
from uuid import UUID

from domain.agreements import AgreementStatus, CheckInStatus
from domain.cards import CardStatus
from domain.phases import Phase
from domain.proposals import ProposalStatus
from domain.ratings import RatingMode
from projections.answers import (
    BELOW_THRESHOLD,
    NOT_RATED,
    Aggregate,
    AgreementLine,
    AgreementTrack,
    BoardUnit,
    CardsOnTie,
    CheckInPoint,
    DeferredLine,
    DialogueRound,
    EngagementDashboard,
    EngagementRefDated,
    FollowThrough,
    IndexChange,
    InvestigationLine,
    LongitudinalView,
    MatrixCell,
    NetworkEdge,
    OutcomeLine,
    OverdueProposal,
    Portfolio,
    PortfolioEngagement,
    QuietAgreement,
    RelationHistory,
    RelationMatrix,
    RelationPoint,
    ScheduledDialogue,
    TenantReadModels,
    ThemeDayBoard,
    Tie,
    UnitAggregate,
    UnitName,
    UpcomingDate,
    WeakTie,
)
from projections.documents import (
    AgreementOut,
    CheckInOut,
    EngagementOut,
    OrganisationOut,
    ProposalDecisionOut,
    ProposalOut,
    RelationOut,
    UnitOut,
    UnitProgress,
)

T = TypeVar("T", AgreementOut, ProposalOut)
EARLIEST = datetime.min.replace(tzinfo=UTC)
TWO_PLACES = Decimal("0.01")
LATEST = 5
WEAKEST = 10
HORIZONS = (6, 12, 24)
QUIET_DAYS = 183
NO_CHECK_IN = "no_check_in"
FOLLOW_THROUGH_KEYS = (*(s.value for s in CheckInStatus), NO_CHECK_IN)
IN_EFFECT = frozenset({AgreementStatus.IN_FORCE.value, AgreementStatus.ACCEPTED.value})

# -- Small helpers -----------------------------------------------------------------------------


def _mean(values: Iterable[Decimal]) -> str | None:
    numbers = list(values)
    if not numbers:
        return None
    return str((sum(numbers, Decimal(0)) / len(numbers)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP))


def _share(part: int, whole: int) -> str:
    return str((Decimal(part) / whole).quantize(TWO_PLACES, rounding=ROUND_HALF_UP))


def end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def name_at(unit: UnitOut, moment: datetime | None) -> str:
    """The unit's name as it was at `moment` (its first name before it existed; now without one)."""
    if moment is None or not unit.names:
        return unit.name
    earlier = [n for n in unit.names if n.since <= moment]
    return (earlier[-1] if earlier else unit.names[0]).name


def names_at(organisation: OrganisationOut, moment: datetime | None) -> dict[UUID, str]:
    return {u.unit_id: name_at(u, moment) for u in organisation.units}


def _name(names: dict[UUID, str], unit_id: UUID) -> str:
    return names.get(unit_id, str(unit_id))


def _named(names: dict[UUID, str], unit_ids: Iterable[UUID]) -> list[UnitName]:
    return [UnitName(u, _name(names, u)) for u in unit_ids]


def _is_shown(view: RelationOut) -> bool:
    return not view.suppressed and view.index is not None


def _hidden_label(engagement: EngagementOut) -> str:
    return BELOW_THRESHOLD if engagement.rating_mode is RatingMode.INDIVIDUAL else NOT_RATED


def _latest_check_in(agreement: AgreementOut, until: datetime | None = None) -> CheckInOut | None:
    dated = [c for c in agreement.check_ins if until is None or c.at <= until]
    return max(dated, key=lambda c: c.at) if dated else None


def _latest_decision_of(proposal: ProposalOut) -> ProposalDecisionOut | None:
    return max(proposal.decisions, key=lambda d: d.at) if proposal.decisions else None


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def _by_made_at(items: list[T], limit: int) -> list[T]:
    """The latest `limit` items by when they were made (undated ones last)."""
    return sorted(items, key=lambda i: i.made_at or EARLIEST, reverse=True)[:limit]


# -- Theme-day board ---------------------------------------------------------------------------


def _board_unit(progress: UnitProgress, names: dict[UUID, str]) -> BoardUnit:
    return BoardUnit(
        unit_id=progress.unit_id,
        name=_name(names, progress.unit_id),
        relations_mapped=progress.relations_mapped,
        relations_rated=progress.relations_rated,
        cards_sent=progress.cards_sent,
        cards_received=progress.cards_received,
        cards_accepted=progress.cards_accepted,
        cards_declined=progress.cards_declined,
        dialogues=progress.dialogues,
        wrapped_up=progress.wrapped_up,
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
                from_name=_name(names, card.from_unit),
                to_unit=card.to_unit,
                to_name=_name(names, card.to_unit),
                topic=card.topic,
                held=card.card_id in held,
            )
        )
    return [DialogueRound(r, rounds[r]) for r in sorted(rounds)]


def _outcome(item: AgreementOut | ProposalOut, names: dict[UUID, str]) -> OutcomeLine:
    outcome_id = item.agreement_id if isinstance(item, AgreementOut) else item.proposal_id
    return OutcomeLine(outcome_id, item.text, _named(names, item.units), item.status, item.made_at)


def theme_day_board(
    engagement: EngagementOut, organisation: OrganisationOut, moment: datetime | None = None
) -> ThemeDayBoard:
    """The facilitator's overview of the theme day, with unit names as they were at `moment`."""
    names = names_at(organisation, moment)
    progress = {p.unit_id: p for p in engagement.unit_progress}
    units = [
        _board_unit(progress.get(u) or UnitProgress(u, 0, 0, 0, 0, 0, 0, 0, False), names)
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


# -- Relation matrix ---------------------------------------------------------------------------


def _cell(view: RelationOut, hidden_label: str) -> MatrixCell:
    if not _is_shown(view):
        return MatrixCell(view.unit_id, view.counterpart_id, False, None, hidden_label, {}, None, None, None)
    return MatrixCell(
        view.unit_id,
        view.counterpart_id,
        True,
        view.raters,
        None,
        dict(view.means),
        view.index,
        view.band,
        view.band_da,
    )


def _aggregate(cells: list[MatrixCell], value: str) -> Aggregate:
    """The mean of `value` ("index" or a dimension key) over the shown cells only."""
    shown = [c for c in cells if c.shown]
    figures = [Decimal(c.means[value] if value != "index" else c.index or "") for c in shown]
    return Aggregate(_mean(figures), len(shown), len(cells) - len(shown))


def _ties(cells: list[MatrixCell]) -> list[Tie]:
    index = {(c.unit_id, c.counterpart_id): c.index for c in cells}
    pairs = sorted({tuple(sorted((c.unit_id, c.counterpart_id), key=str)) for c in cells}, key=str)
    return [Tie(a, b, index.get((a, b)), index.get((b, a))) for a, b in pairs]


def relation_matrix(
    engagement: EngagementOut, organisation: OrganisationOut, moment: datetime | None = None
) -> RelationMatrix:
    """Unit by unit: every mapped directed relation per dimension and as index, row and column
    means, dimension means and an overall index — all over shown cells only — and the network
    of shown ties. Suppressed cells show no numbers and are only counted as left out."""
    names = names_at(organisation, moment)
    label = _hidden_label(engagement)
    cells = [_cell(v, label) for v in engagement.relation_views]
    dimensions = [d.key for d in engagement.instrument.dimensions]
    shown = [c for c in cells if c.shown]

    def per_unit(pick: str) -> list[UnitAggregate]:
        return [
            UnitAggregate(
                u, _name(names, u), _aggregate([c for c in cells if getattr(c, pick) == u], "index")
            )
            for u in engagement.unit_ids
        ]

    return RelationMatrix(
        engagement_id=engagement.engagement_id,
        title=engagement.title,
        phase=engagement.phase.value,
        rating_mode=engagement.rating_mode.value,
        min_group_size=engagement.min_group_size,
        dimensions=dimensions,
        units=_named(names, engagement.unit_ids),
        cells=cells,
        rows=per_unit("unit_id"),
        columns=per_unit("counterpart_id"),
        dimension_means={key: _aggregate(cells, key) for key in dimensions},
        overall_index=_aggregate(cells, "index"),
        raters_in_shown_cells=sum(c.raters or 0 for c in shown) if shown else None,
        ties=_ties(cells),
        nodes=_named(names, engagement.unit_ids),
        edges=[NetworkEdge(c.unit_id, c.counterpart_id, c.index or "", c.band) for c in shown],
    )


# -- Engagement dashboard ----------------------------------------------------------------------


def _weakest(engagement: EngagementOut, names: dict[UUID, str], limit: int) -> list[WeakTie]:
    shown = [v for v in engagement.relation_views if _is_shown(v)]
    shown.sort(
        key=lambda v: (Decimal(v.index or "0"), _name(names, v.unit_id), _name(names, v.counterpart_id))
    )
    return [
        WeakTie(
            v.unit_id,
            _name(names, v.unit_id),
            v.counterpart_id,
            _name(names, v.counterpart_id),
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
            sorted(_named(names, pair), key=lambda n: n.name),
            {s.value: counted[s.value] for s in CardStatus},
        )
        for pair, counted in counts.items()
    ]
    return sorted(ties, key=lambda t: [n.name for n in t.units])


def _agreement_line(agreement: AgreementOut, names: dict[UUID, str]) -> AgreementLine:
    latest = _latest_check_in(agreement)
    return AgreementLine(
        agreement.agreement_id,
        agreement.text,
        _named(names, agreement.units),
        agreement.status,
        None if latest is None else latest.status,
        None if latest is None else latest.at,
    )


def _overdue(proposals: list[ProposalOut], today: date) -> list[tuple[ProposalOut, str | None, date]]:
    """Proposals under investigation whose due date has passed: (proposal, owner, due)."""
    overdue = []
    for proposal in proposals:
        decision = _latest_decision_of(proposal)
        if proposal.status != ProposalStatus.UNDER_INVESTIGATION.value or decision is None:
            continue
        if decision.due is not None and decision.due < today:
            overdue.append((proposal, decision.owner, decision.due))
    return overdue


def engagement_dashboard(
    engagement: EngagementOut, organisation: OrganisationOut, today: date, moment: datetime | None = None
) -> EngagementDashboard:
    """After the theme day: the weakest shown ties, cards per tie, agreements and proposals by
    status, the latest check-ins, investigations past their due date and deferred proposals."""
    names = names_at(organisation, moment)
    live = [a for a in engagement.agreements if a.status != AgreementStatus.REJECTED.value]
    latest = Counter((c.status if (c := _latest_check_in(a)) else NO_CHECK_IN) for a in live)
    deferred = [
        DeferredLine(p.proposal_id, p.text, d.deferred_until if (d := _latest_decision_of(p)) else None)
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
            for p, owner, due in _overdue(engagement.proposals, today)
        ],
        deferred_proposals=deferred,
    )


def _count(
    items: Iterable[AgreementOut | ProposalOut], statuses: type[AgreementStatus | ProposalStatus]
) -> dict[str, int]:
    counted = Counter(i.status for i in items)
    return {s.value: counted[s.value] for s in statuses}


# -- Longitudinal ------------------------------------------------------------------------------


def _lineage(organisation: OrganisationOut) -> dict[UUID, dict[UUID, str]]:
    """For every unit: the units it continues as today, each with how ("same", "merged", "split")."""
    units = {u.unit_id: u for u in organisation.units}

    def follow(unit_id: UUID, seen: frozenset[UUID]) -> dict[UUID, str]:
        unit = units.get(unit_id)
        if unit is None or not unit.successors or unit_id in seen:
            return {unit_id: "same"}
        kind = "split" if len(unit.successors) > 1 else "merged"
        reached: dict[UUID, str] = {}
        for successor in unit.successors:
            for terminal, further in follow(successor, seen | {unit_id}).items():
                reached[terminal] = "split" if "split" in (kind, further) else kind
        return reached

    return {u: follow(u, frozenset()) for u in units}


def _continuity(*kinds: str) -> str:
    for kind in ("split", "merged"):
        if kind in kinds:
            return kind
    return "same"


def _point(
    engagement: EngagementOut, view: RelationOut, names: dict[UUID, str], continuity: str
) -> RelationPoint:
    shown = _is_shown(view)
    return RelationPoint(
        engagement_id=engagement.engagement_id,
        title=engagement.title,
        theme_day=engagement.theme_day,
        unit_id=view.unit_id,
        unit_name=_name(names, view.unit_id),
        counterpart_id=view.counterpart_id,
        counterpart_name=_name(names, view.counterpart_id),
        continuity=continuity,
        suppressed=not shown,
        raters=view.raters if shown else None,
        raters_label=None if shown else _hidden_label(engagement),
        index=view.index if shown else None,
        means=dict(view.means) if shown else {},
        band=view.band if shown else None,
    )


def _track(engagement: EngagementOut, agreement: AgreementOut) -> AgreementTrack:
    return AgreementTrack(
        agreement.agreement_id,
        engagement.engagement_id,
        agreement.text,
        list(agreement.units),
        agreement.status,
        agreement.made_at,
        [CheckInPoint(c.status, c.at) for c in sorted(agreement.check_ins, key=lambda c: c.at)],
    )


Pair = tuple[UUID, UUID]


def _targets(lineage: dict[UUID, dict[UUID, str]], unit_id: UUID) -> dict[UUID, str]:
    return lineage.get(unit_id, {unit_id: "same"})


def _series_points(
    engagements: list[EngagementOut], organisation: OrganisationOut, lineage: dict[UUID, dict[UUID, str]]
) -> dict[Pair, list[RelationPoint]]:
    series: dict[Pair, list[RelationPoint]] = defaultdict(list)
    for engagement in engagements:
        names = names_at(organisation, end_of(engagement.theme_day))
        for view in engagement.relation_views:
            for unit, unit_kind in _targets(lineage, view.unit_id).items():
                for counterpart, counterpart_kind in _targets(lineage, view.counterpart_id).items():
                    if unit != counterpart:
                        continuity = _continuity(unit_kind, counterpart_kind)
                        series[(unit, counterpart)].append(_point(engagement, view, names, continuity))
    return series


def _agreements_on(
    engagements: list[EngagementOut], lineage: dict[UUID, dict[UUID, str]]
) -> dict[Pair, list[AgreementTrack]]:
    """Agreements by the directed pairs of today's units they concern (both directions)."""
    on: dict[Pair, list[AgreementTrack]] = defaultdict(list)
    for engagement in engagements:
        for agreement in engagement.agreements:
            if len(agreement.units) != 2:
                continue
            first, second = (_targets(lineage, u) for u in agreement.units)
            pairs = {(a, b) for a in first for b in second} | {(b, a) for a in first for b in second}
            for pair in pairs:
                on[pair].append(_track(engagement, agreement))
    return on


def _follow_through(engagements: list[EngagementOut], today: date) -> list[FollowThrough]:
    agreements = [
        (a, a.made_at) for e in engagements for a in e.agreements if a.status in IN_EFFECT and a.made_at
    ]
    answers = []
    for months in HORIZONS:
        counts: Counter[str] = Counter()
        for agreement, made_at in agreements:
            horizon = _add_months(made_at, months)
            if horizon.date() > today:
                continue
            latest = _latest_check_in(agreement, until=horizon)
            counts[latest.status if latest else NO_CHECK_IN] += 1
        total = sum(counts.values())
        answers.append(
            FollowThrough(
                months,
                total,
                {k: counts[k] for k in FOLLOW_THROUGH_KEYS},
                {k: _share(counts[k], total) for k in FOLLOW_THROUGH_KEYS} if total else {},
            )
        )
    return answers


def _shown_mean(points: list[RelationPoint], engagement_id: UUID) -> Decimal | None:
    figures = [Decimal(p.index) for p in points if p.engagement_id == engagement_id and p.index]
    return sum(figures, Decimal(0)) / len(figures) if figures else None


def _index_changes(
    engagements: list[EngagementOut], relations: list[RelationHistory]
) -> tuple[IndexChange, IndexChange]:
    """Mean change of a relation's index from one engagement to the next, for relations that
    got an agreement (not rejected) in the earlier engagement and for those that did not."""
    changes: dict[bool, list[Decimal]] = {True: [], False: []}
    for earlier, later in pairwise(engagements):
        for relation in relations:
            before = _shown_mean(relation.points, earlier.engagement_id)
            after = _shown_mean(relation.points, later.engagement_id)
            if before is None or after is None:
                continue
            agreed = any(
                a.engagement_id == earlier.engagement_id and a.status != AgreementStatus.REJECTED.value
                for a in relation.agreements
            )
            changes[agreed].append(after - before)
    return (
        IndexChange(len(changes[True]), _mean(changes[True])),
        IndexChange(len(changes[False]), _mean(changes[False])),
    )


def longitudinal(
    organisation: OrganisationOut, engagements: list[EngagementOut], today: date
) -> LongitudinalView:
    """Every directed relation across the engagements over the years, followed through renames,
    mergers and splits to today's units, with the agreements made on it and their check-ins;
    how agreements were followed through at 6, 12 and 24 months; and how the index changed
    for relations with and without agreements. Suppressed ratings stay without numbers."""
    ordered = sorted(engagements, key=lambda e: (e.theme_day, e.title))
    lineage = _lineage(organisation)
    names = names_at(organisation, None)
    points = _series_points(ordered, organisation, lineage)
    agreements = _agreements_on(ordered, lineage)
    relations = [
        RelationHistory(
            unit,
            _name(names, unit),
            counterpart,
            _name(names, counterpart),
            points[(unit, counterpart)],
            agreements.get((unit, counterpart), []),
        )
        for unit, counterpart in points
    ]
    relations.sort(key=lambda r: (r.unit_name, r.counterpart_name))
    with_agreements, without_agreements = _index_changes(ordered, relations)
    return LongitudinalView(
        today=today,
        engagements=[
            EngagementRefDated(e.engagement_id, e.title, e.theme_day, e.phase.value) for e in ordered
        ],
        relations=relations,
        follow_through=_follow_through(ordered, today),
        with_agreements=with_agreements,
        without_agreements=without_agreements,
    )


# -- Portfolio ---------------------------------------------------------------------------------


def _upcoming(tenant: TenantReadModels, engagement: EngagementOut, today: date) -> list[UpcomingDate]:
    dates = (("theme_day", engagement.theme_day), ("follow_up_meeting", engagement.follow_up_meeting))
    return [
        UpcomingDate(
            tenant.tenant_id, tenant.tenant_name, engagement.engagement_id, engagement.title, kind, on
        )
        for kind, on in dates
        if on is not None and on >= today
    ]


def _quiet(tenant: TenantReadModels, engagement: EngagementOut, today: date) -> list[QuietAgreement]:
    quiet = []
    for agreement in engagement.agreements:
        if agreement.status not in IN_EFFECT or agreement.made_at is None:
            continue
        latest = _latest_check_in(agreement)
        last_heard = latest.at if latest else agreement.made_at
        if today - last_heard.date() > timedelta(days=QUIET_DAYS):
            quiet.append(
                QuietAgreement(
                    tenant.tenant_id,
                    tenant.tenant_name,
                    engagement.engagement_id,
                    agreement.agreement_id,
                    agreement.text,
                    last_heard,
                )
            )
    return quiet


def portfolio(
    items: list[TenantReadModels], today: date, still_building: list[UUID] | None = None
) -> Portfolio:
    """Across the consultancy's tenants: engagements by phase, theme days and follow-up meetings
    to come, investigations past their due date, and agreements in force not checked on for
    half a year (made or last checked more than 183 days ago)."""
    pairs = [(t, e) for t in items for e in t.engagements]
    phases = Counter(e.phase.value for _, e in pairs)
    return Portfolio(
        today=today,
        engagements_by_phase={p.value: phases[p.value] for p in Phase},
        engagements=[
            PortfolioEngagement(t.tenant_id, t.tenant_name, e.engagement_id, e.title, e.phase.value)
            for t, e in pairs
        ],
        upcoming=sorted(
            (u for t, e in pairs for u in _upcoming(t, e, today)), key=lambda u: (u.on, u.tenant_name)
        ),
        overdue_proposals=[
            OverdueProposal(t.tenant_id, t.tenant_name, e.engagement_id, p.proposal_id, p.text, owner, due)
            for t, e in pairs
            for p, owner, due in _overdue(e.proposals, today)
        ],
        quiet_agreements=[q for t, e in pairs for q in _quiet(t, e, today)],
        still_building=list(still_building or ()),
    )
