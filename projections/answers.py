"""The shapes of the answers the read-model queries give (theme-day board, relation matrix,
engagement dashboard, longitudinal view, consultancy portfolio).

Figures are strings with two decimals, like the means in the documents they come from.
Anonymity: a relation below the anonymity threshold carries no numbers at all, and no
aggregate anywhere includes it; `raters` is then None and `raters_label` says why.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from projections.documents import EngagementOut

BELOW_THRESHOLD = "below threshold"
NOT_RATED = "not rated"


class UnitName(msgspec.Struct):
    unit_id: UUID
    name: str


# -- Theme-day board ---------------------------------------------------------------------------


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


# -- Relation matrix ---------------------------------------------------------------------------


class MatrixCell(msgspec.Struct):
    """One directed relation: how `unit_id` rates its collaboration with `counterpart_id`.

    When `shown` is false there are no numbers: `raters` is None and `raters_label` says why.
    """

    unit_id: UUID
    counterpart_id: UUID
    shown: bool
    raters: int | None
    raters_label: str | None
    means: dict[str, str]
    index: str | None
    band: str | None
    band_da: str | None


class Aggregate(msgspec.Struct):
    """A mean over the shown cells only; `cells_left_out` counts the cells not shown."""

    mean: str | None
    cells_shown: int
    cells_left_out: int


class UnitAggregate(msgspec.Struct):
    unit_id: UUID
    name: str
    index: Aggregate


class Tie(msgspec.Struct):
    """Both directions of a tie between two units (None where not shown or not mapped)."""

    unit_a: UUID
    unit_b: UUID
    a_to_b: str | None
    b_to_a: str | None


class NetworkEdge(msgspec.Struct):
    from_unit: UUID
    to_unit: UUID
    index: str
    band: str | None


class RelationMatrix(msgspec.Struct):
    engagement_id: UUID
    title: str
    phase: str
    rating_mode: str
    min_group_size: int
    dimensions: list[str]
    units: list[UnitName]
    cells: list[MatrixCell]
    rows: list[UnitAggregate]
    columns: list[UnitAggregate]
    dimension_means: dict[str, Aggregate]
    overall_index: Aggregate
    raters_in_shown_cells: int | None  # None when no cell is shown
    ties: list[Tie]
    nodes: list[UnitName]
    edges: list[NetworkEdge]


# -- Engagement dashboard ----------------------------------------------------------------------


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


# -- Longitudinal ------------------------------------------------------------------------------


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


# -- Portfolio ---------------------------------------------------------------------------------


class TenantReadModels(msgspec.Struct):
    """What the portfolio is computed from: one tenant and its engagements."""

    tenant_id: UUID
    tenant_name: str
    engagements: list[EngagementOut]


class PortfolioEngagement(msgspec.Struct):
    tenant_id: UUID
    tenant_name: str
    engagement_id: UUID
    title: str
    phase: str


class UpcomingDate(msgspec.Struct):
    tenant_id: UUID
    tenant_name: str
    engagement_id: UUID
    title: str
    kind: str
    on: date


class OverdueProposal(msgspec.Struct):
    tenant_id: UUID
    tenant_name: str
    engagement_id: UUID
    proposal_id: UUID
    text: str
    owner: str | None
    due: date


class QuietAgreement(msgspec.Struct):
    """An agreement in force with no check-in for half a year."""

    tenant_id: UUID
    tenant_name: str
    engagement_id: UUID
    agreement_id: UUID
    text: str
    last_heard: datetime


class Portfolio(msgspec.Struct):
    today: date
    engagements_by_phase: dict[str, int]
    engagements: list[PortfolioEngagement]
    upcoming: list[UpcomingDate]
    overdue_proposals: list[OverdueProposal]
    quiet_agreements: list[QuietAgreement]
    # Client organisations whose overviews are still being built from their events (after an
    # upgrade or a restore): counted nowhere above yet, and named so that none looks empty.
    still_building: list[UUID] = msgspec.field(default_factory=list)
