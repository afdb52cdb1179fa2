"""The anonymity threshold across versions: what a relation rated by individuals shows, over time.

A shown aggregate is itself published for good: every later version, every `as_of` and every
export can be set beside it. So a cell shows a new aggregate only when the ratings it would be
computed from differ from those of *every* aggregate the cell has shown before in none or at
least the threshold number of raters (added, gone or rated anew); otherwise the last shown
aggregate stands, with its own count of raters. The difference of any two shown figures is then
a sum over at least the threshold number of raters, never one person's scores or one person's
change of mind. The record of what was shown travels in the engagement's fold, so it is a pure
function of the event history: live views, rebuilds, versions and moments all show what was
shown at that point (docs/adr/0015).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from uuid import UUID

import msgspec

from domain.engagement import Engagement
from domain.phases import Phase
from domain.ratings import Rating, RatingMode, RelationView, may_publish, relation_view

# While individual ratings are still coming in, nothing is shown: means appear once the mapping is over.
RATING_PHASES = (Phase.PREPARED, Phase.THEME_DAY_OPEN, Phase.MAPPING)
# The events after which a cell may have something new to show (its ratings, its mapping or the
# phase changed); every other event leaves the publications as they are, at no cost.
RESHOWING_EVENTS = frozenset(
    {"Prepared", "PhaseAdvanced", "PhaseMovedBack", "RelationsMapped", "RatingSubmitted"}
)


class Publication(msgspec.Struct, frozen=True):
    """An aggregate one cell has shown: over which ratings (rater pseudonym → rating id), and
    what it said. Never rendered into a document: it is the fold's memory of what was shown."""

    contributions: dict[UUID, UUID]
    means: dict[str, Decimal]
    index: Decimal


# Per directed relation ("unit/counterpart"): what it has shown, oldest first.
Publications = dict[str, list[Publication]]


def cell_key(unit_id: UUID, counterpart_id: UUID) -> str:
    return f"{unit_id}/{counterpart_id}"


def still_rating(engagement: Engagement) -> bool:
    return engagement.rating_mode is RatingMode.INDIVIDUAL and engagement.phase in RATING_PHASES


def ratings_by_relation(engagement: Engagement) -> dict[tuple[UUID, UUID], list[Rating]]:
    """The ratings that count now, by directed relation."""
    found: defaultdict[tuple[UUID, UUID], list[Rating]] = defaultdict(list)
    for rating in engagement.ratings.values():
        found[(rating.unit_id, rating.counterpart_id)].append(rating)
    return found


def _contributions(ratings: list[Rating]) -> dict[UUID, UUID]:
    return {r.rater: r.rating_id for r in ratings if r.rater is not None}


def publish(engagement: Engagement, published: Publications) -> Publications:
    """The publications after the engagement reached this state: each cell rated by individuals
    that shows now and whose current ratings may be published beside all it has shown before
    gets a new publication. Returns `published` itself when nothing changed."""
    if engagement.rating_mode is not RatingMode.INDIVIDUAL or still_rating(engagement):
        return published
    by_relation = ratings_by_relation(engagement)
    dimensions = engagement.instrument.dimension_keys
    added: Publications = {}
    for unit_id, counterparts in engagement.relations.items():
        for counterpart_id in counterparts:
            ratings = by_relation.get((unit_id, counterpart_id), [])
            candidate = _contributions(ratings)
            key = cell_key(unit_id, counterpart_id)
            history = published.get(key, [])
            if history and history[-1].contributions == candidate:
                continue
            if not may_publish(candidate, (p.contributions for p in history), engagement.min_group_size):
                continue
            view = relation_view(unit_id, counterpart_id, ratings, dimensions, engagement.min_group_size)
            if view.index is None:  # pragma: no cover - may_publish admits only groups large enough
                continue
            added[key] = [*history, Publication(candidate, dict(view.means), view.index)]
    return {**published, **added} if added else published


def shown_view(
    engagement: Engagement,
    published: Publications,
    unit_id: UUID,
    counterpart_id: UUID,
    ratings: list[Rating],
) -> RelationView:
    """What a cell rated by individuals shows: its last publication, while any of the ratings it
    was computed from still counts (a relation mapped anew starts over) — else nothing."""
    history = published.get(cell_key(unit_id, counterpart_id), [])
    last = history[-1] if history else None
    if (
        last is None
        or still_rating(engagement)
        or {r.rating_id for r in ratings}.isdisjoint(last.contributions.values())
    ):
        return RelationView(unit_id, counterpart_id, len(ratings), True, {}, None)
    return RelationView(unit_id, counterpart_id, len(last.contributions), False, dict(last.means), last.index)
