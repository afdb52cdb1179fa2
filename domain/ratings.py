from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from uuid import UUID

from domain.errors import InvariantViolated


class RatingMode(str, Enum):
    UNIT = "unit"  # the unit agrees on one rating together (consensus)
    INDIVIDUAL = "individual"  # each participant rates; shown only aggregated per unit


def check_rating_mode(mode: RatingMode, rater: UUID | None) -> None:
    """A unit's consensus rating names no rater; an individual rating names its rater."""
    if (rater is None) != (mode is RatingMode.UNIT):
        raise InvariantViolated("wrong_rating_mode", state=mode.value, mode=mode.value)


@dataclass(frozen=True)
class Rating:
    """A unit's view of its relation to a counterpart, one score per dimension.

    `rater` is a pseudonym local to the engagement for individual ratings (never a user id),
    None for a unit's consensus rating.
    """

    rating_id: UUID
    unit_id: UUID
    counterpart_id: UUID
    scores: dict[str, int]
    rater: UUID | None

    @property
    def slot(self) -> str:
        return f"{self.unit_id}/{self.counterpart_id}/{self.rater or 'unit'}"


@dataclass(frozen=True)
class RelationView:
    """What may be shown of one directed relation: means per dimension when enough raters answered."""

    unit_id: UUID
    counterpart_id: UUID
    raters: int
    suppressed: bool
    means: dict[str, Decimal]
    index: Decimal | None


TWO_PLACES = Decimal("0.01")


def _mean(values: Iterable[int]) -> Decimal:
    numbers = list(values)
    return (Decimal(sum(numbers)) / len(numbers)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def relation_view(
    unit_id: UUID, counterpart_id: UUID, ratings: list[Rating], dimensions: tuple[str, ...], min_group: int
) -> RelationView:
    """Aggregate the ratings of one directed relation; individual ratings below the threshold are hidden."""
    individual = any(r.rater is not None for r in ratings)
    suppressed = not ratings or (individual and len(ratings) < min_group)
    if suppressed:
        return RelationView(unit_id, counterpart_id, len(ratings), True, {}, None)
    means = {key: _mean(r.scores[key] for r in ratings) for key in dimensions}
    index = _mean(r.scores[key] for r in ratings for key in dimensions)
    return RelationView(unit_id, counterpart_id, len(ratings), False, means, index)


# Which rating of each rater an aggregate is computed from: rater pseudonym -> rating id.
Contributions = Mapping[UUID, UUID]


def raters_changed(before: Contributions, after: Contributions) -> int:
    """How many raters count differently in two aggregates: added, gone, or rated anew."""
    return sum(1 for rater in before.keys() | after.keys() if before.get(rater) != after.get(rater))


def may_publish(candidate: Contributions, published: Iterable[Contributions], min_group: int) -> bool:
    """Whether an aggregate over `candidate` may be shown beside every aggregate of the same
    relation shown before: it has at least `min_group` raters, and it differs from each earlier
    one in none or at least `min_group` raters, so the difference of any two shown aggregates is
    itself an aggregate over enough raters (docs/adr/0015)."""
    if len(candidate) < min_group:
        return False
    return all(
        changed == 0 or changed >= min_group
        for changed in (raters_changed(before, candidate) for before in published)
    )
