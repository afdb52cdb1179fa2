"""Questions answered from the read-model documents: pure functions, no I/O, no clock.

`moment` / `today` are always passed in. Anonymity rule for everything that shows ratings: a
relation whose view is suppressed contributes no number anywhere — not as a cell, not to a
mean, not to a count of raters — so a hidden value can never be recovered by subtracting
shown figures from a total. Aggregates say how many cells they left out instead. Which
aggregate a view shows, version after version, is decided once in the fold
(`projections/anonymity.py`, docs/adr/0015): nothing here computes from ratings.

One module a question; the shapes of the answers are in `projections/answers.py`:
- `board`: the theme-day board (`theme_day_board`);
- `matrix`: the relation matrix (`relation_matrix`);
- `dashboard`: the engagement dashboard (`engagement_dashboard`);
- `across_years`: relations and agreements across the years (`longitudinal`);
- `across_tenants`: the consultancy's portfolio (`portfolio`);
- `names`: units' names as they were at a moment; `shared`: what the questions share.
"""

from __future__ import annotations

from projections.queries.across_tenants import portfolio
from projections.queries.across_years import end_of, longitudinal
from projections.queries.board import theme_day_board
from projections.queries.dashboard import engagement_dashboard
from projections.queries.matrix import relation_matrix
from projections.queries.names import name_at, names_at
from projections.queries.shared import (
    EARLIEST,
    FOLLOW_THROUGH_KEYS,
    IN_EFFECT,
    NO_CHECK_IN,
)

__all__ = [
    "EARLIEST",
    "FOLLOW_THROUGH_KEYS",
    "IN_EFFECT",
    "NO_CHECK_IN",
    "end_of",
    "engagement_dashboard",
    "longitudinal",
    "name_at",
    "names_at",
    "portfolio",
    "relation_matrix",
    "theme_day_board",
]
