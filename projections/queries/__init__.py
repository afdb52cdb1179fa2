"""Questions answered from the read-model documents: pure functions, no I/O, no clock.

`moment` / `today` are always passed in. Anonymity rule for everything that shows ratings: a
relation whose view is suppressed contributes no number anywhere — not as a cell, not to a
mean, not to a count of raters — so a hidden value can never be recovered by subtracting
shown figures from a total. Aggregates say how many cells they left out instead. Which
aggregate a view shows, version after version, is decided once in the fold
(`projections/anonymity.py`, docs/adr/0015): nothing here computes from ratings.

One module a question, with the shapes of its answers beside it. Figures are strings with two
decimals, like the means in the documents they come from; a relation below the anonymity
threshold carries no numbers at all, and no aggregate anywhere includes it (`raters` is then
None and `raters_label` says why). The package exports every question and every answer:
- `board`: the theme-day board (`theme_day_board`);
- `matrix`: the relation matrix (`relation_matrix`);
- `dashboard`: the engagement dashboard (`engagement_dashboard`);
- `across_years`: relations and agreements across the years (`longitudinal`);
- `across_tenants`: the consultancy's portfolio (`portfolio`);
- `names`: units' names as they were at a moment; `shared`: what the questions share.
"""

from __future__ import annotations

from projections.queries.across_tenants import (
    OverdueProposal,
    Portfolio,
    PortfolioEngagement,
    QuietAgreement,
    TenantReadModels,
    UpcomingDate,
    portfolio,
)
from projections.queries.across_years import (
    AgreementTrack,
    CheckInPoint,
    EngagementRefDated,
    FollowThrough,
    IndexChange,
    LongitudinalView,
    RelationHistory,
    RelationPoint,
    end_of,
    longitudinal,
)
from projections.queries.board import (
    BoardUnit,
    DialogueRound,
    OutcomeLine,
    ScheduledDialogue,
    ThemeDayBoard,
    theme_day_board,
)
from projections.queries.dashboard import (
    AgreementLine,
    CardsOnTie,
    DeferredLine,
    EngagementDashboard,
    InvestigationLine,
    WeakTie,
    engagement_dashboard,
)
from projections.queries.matrix import (
    Aggregate,
    MatrixCell,
    NetworkEdge,
    RelationMatrix,
    Tie,
    UnitAggregate,
    relation_matrix,
)
from projections.queries.names import UnitName, name_at, names_at
from projections.queries.shared import (
    BELOW_THRESHOLD,
    EARLIEST,
    FOLLOW_THROUGH_KEYS,
    IN_EFFECT,
    NO_CHECK_IN,
    NOT_RATED,
)

__all__ = [
    "BELOW_THRESHOLD",
    "EARLIEST",
    "FOLLOW_THROUGH_KEYS",
    "IN_EFFECT",
    "NOT_RATED",
    "NO_CHECK_IN",
    "Aggregate",
    "AgreementLine",
    "AgreementTrack",
    "BoardUnit",
    "CardsOnTie",
    "CheckInPoint",
    "DeferredLine",
    "DialogueRound",
    "EngagementDashboard",
    "EngagementRefDated",
    "FollowThrough",
    "IndexChange",
    "InvestigationLine",
    "LongitudinalView",
    "MatrixCell",
    "NetworkEdge",
    "OutcomeLine",
    "OverdueProposal",
    "Portfolio",
    "PortfolioEngagement",
    "QuietAgreement",
    "RelationHistory",
    "RelationMatrix",
    "RelationPoint",
    "ScheduledDialogue",
    "TenantReadModels",
    "ThemeDayBoard",
    "Tie",
    "UnitAggregate",
    "UnitName",
    "UpcomingDate",
    "WeakTie",
    "end_of",
    "engagement_dashboard",
    "longitudinal",
    "name_at",
    "names_at",
    "portfolio",
    "relation_matrix",
    "theme_day_board",
]
