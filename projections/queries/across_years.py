"""Relations across the years: each directed relation followed through renames, mergers and
splits to today's units, the agreements made on it, how agreements were followed through at 6,
12 and 24 months, and how the index changed with and without agreements (the `dashboards/`
longitudinal page and the exports)."""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from uuid import UUID

import msgspec

from domain.agreements import AgreementStatus
from projections.documents import AgreementOut, EngagementOut, OrganisationOut, RelationOut
from projections.queries.names import name_of, names_at
from projections.queries.shared import (
    FOLLOW_THROUGH_KEYS,
    IN_EFFECT,
    NO_CHECK_IN,
    TWO_PLACES,
    hidden_label_of,
    is_shown,
    latest_check_in,
    mean,
)


class RelationPoint(msgspec.Struct):
    """One engagement's rating of a relation, under the names the units had on its theme day.

    `continuity` is "same" when both units are the ones the relation is followed under today,
    "merged" / "split" when the relation reached them through a merger or a split.
    """

    engagement_id: UUID
    title: str
    theme_day: date
    unit_id: UUID
    unit_name: str
    counterpart_id: UUID
    counterpart_name: str
    continuity: str
    suppressed: bool
    raters: int | None
    raters_label: str | None
    index: str | None
    means: dict[str, str]
    band: str | None


class CheckInPoint(msgspec.Struct):
    status: str
    at: datetime


class AgreementTrack(msgspec.Struct):
    agreement_id: UUID
    engagement_id: UUID
    text: str
    units: list[UUID]
    status: str
    made_at: datetime | None
    check_ins: list[CheckInPoint]


class RelationHistory(msgspec.Struct):
    """A directed relation (rater unit → counterpart), followed under today's units."""

    unit_id: UUID
    unit_name: str
    counterpart_id: UUID
    counterpart_name: str
    points: list[RelationPoint]
    agreements: list[AgreementTrack]


class FollowThrough(msgspec.Struct):
    """Agreements old enough for the horizon, by their latest check-in at that horizon."""

    months: int
    agreements: int
    counts: dict[str, int]
    shares: dict[str, str]


class IndexChange(msgspec.Struct):
    """Mean index change from one engagement to the next, over relations rated (and shown) in both."""

    relations: int
    mean_change: str | None


class EngagementRefDated(msgspec.Struct):
    engagement_id: UUID
    title: str
    theme_day: date
    phase: str


class LongitudinalView(msgspec.Struct):
    today: date
    engagements: list[EngagementRefDated]
    relations: list[RelationHistory]
    follow_through: list[FollowThrough]
    with_agreements: IndexChange
    without_agreements: IndexChange


HORIZONS = (6, 12, 24)


def _share(part: int, whole: int) -> str:
    return str((Decimal(part) / whole).quantize(TWO_PLACES, rounding=ROUND_HALF_UP))


def end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


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
    shown = is_shown(view)
    return RelationPoint(
        engagement_id=engagement.engagement_id,
        title=engagement.title,
        theme_day=engagement.theme_day,
        unit_id=view.unit_id,
        unit_name=name_of(names, view.unit_id),
        counterpart_id=view.counterpart_id,
        counterpart_name=name_of(names, view.counterpart_id),
        continuity=continuity,
        suppressed=not shown,
        raters=view.raters if shown else None,
        raters_label=None if shown else hidden_label_of(engagement),
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
            latest = latest_check_in(agreement, until=horizon)
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
        IndexChange(len(changes[True]), mean(changes[True])),
        IndexChange(len(changes[False]), mean(changes[False])),
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
            name_of(names, unit),
            counterpart,
            name_of(names, counterpart),
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
