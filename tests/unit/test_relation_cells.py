"""A render that takes unchanged cells from the last render of the engagement shows exactly
what a render from nothing shows, whatever happened in between (projections/render.py)."""

from __future__ import annotations

import copy
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.engagement import Engagement
from domain.errors import DomainError
from domain.phases import Phase
from domain.ratings import RatingMode
from projections.folds import EngagementFold
from projections.render import RelationCells, relation_views
from tests.unit.factories import engagement_in, provenance

UNITS = 4
RATERS = [uuid4() for _ in range(4)]

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("rate"),
            st.integers(0, UNITS - 1),
            st.integers(1, UNITS - 1),
            st.integers(0, len(RATERS) - 1),
            st.integers(1, 5),
        ),
        st.tuples(st.just("map"), st.integers(0, UNITS - 1), st.integers(0, UNITS - 2)),
        st.tuples(st.just("advance")),
        st.tuples(st.just("back")),
    ),
    max_size=40,
)


def act(e: Engagement, units: tuple[UUID, ...], step: tuple[Any, ...], mode: RatingMode) -> None:
    kind = step[0]
    try:
        if kind == "rate":
            _, u, offset, rater, score = step
            unit = units[u]
            counterpart = units[(u + offset) % UNITS]
            scores = dict.fromkeys(e.instrument.dimension_keys, score)
            who = RATERS[rater] if mode is RatingMode.INDIVIDUAL else None
            e.submit_rating(uuid4(), unit, counterpart, scores, who, provenance())
        elif kind == "map":
            _, u, keep = step
            unit = units[u]
            others = tuple(c for c in units if c != unit)[: keep + 1]
            e.map_relations(unit, others, provenance())
        elif kind == "advance":
            e.advance(e.phase, provenance())
        else:
            e.move_back(e.phase, "again", provenance())
    except DomainError:
        pass  # refused: nothing happened


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([RatingMode.UNIT, RatingMode.INDIVIDUAL]), steps)
def test_cells_kept_from_the_last_render_change_nothing(
    mode: RatingMode, story: list[tuple[Any, ...]]
) -> None:
    engagement, units = engagement_in(Phase.MAPPING, units=UNITS, mode=mode)
    for unit in units:
        engagement.map_relations(unit, tuple(c for c in units if c != unit), provenance())
    # Every relation rated by enough people to show, so that moving on and back shows and hides.
    for u in range(UNITS):
        for offset in range(1, UNITS):
            for rater in range(3):
                act(engagement, units, ("rate", u, offset, rater, 1 + (u + offset + rater) % 5), mode)
    fold = EngagementFold()
    kept = RelationCells()
    for step in [("start",), *story]:
        if step[0] != "start":
            act(engagement, units, step, mode)
        for event in engagement.collect_events():
            fold.apply(event)
        assert fold.engagement is not None
        # A copy, as a fold loaded again from its stored state is: equal values, new objects.
        loaded = copy.deepcopy(fold.engagement)
        published = copy.deepcopy(fold.trail.published)
        assert relation_views(loaded, published, kept) == relation_views(loaded, published, RelationCells())
        assert relation_views(fold.engagement, fold.trail.published, kept) == relation_views(
            fold.engagement, fold.trail.published, RelationCells()
        )
