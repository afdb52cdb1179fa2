"""What the preparatory meeting settles for an engagement, and the rules its setup keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from domain.errors import InvariantViolated
from domain.ratings import RatingMode
from domain.text import required_text

MAX_ROUNDS = 10
# Below this, an individual's scores could be read off a group's means.
MIN_INDIVIDUAL_GROUP = 2


@dataclass(frozen=True)
class Preparation:
    """What the preparatory meeting (forberedende møde) settled."""

    title: str
    focus: str
    target_group: str
    work_process: str
    planning_group: tuple[str, ...]
    theme_day: date
    follow_up_meeting: date | None


def check_dates(preparation: Preparation) -> None:
    follow_up = preparation.follow_up_meeting
    if follow_up is not None and follow_up < preparation.theme_day:
        raise InvariantViolated("follow_up_before_theme_day")


def check_preparation(preparation: Preparation) -> None:
    """A preparation has a title, and its follow-up meeting comes no earlier than its theme day."""
    required_text(preparation.title, "title_empty")
    check_dates(preparation)


def check_rounds(rounds: int) -> None:
    if not 1 <= rounds <= MAX_ROUNDS:
        raise InvariantViolated("rounds_out_of_range", max=MAX_ROUNDS)


def check_setup(
    preparation: Preparation,
    unit_ids: tuple[UUID, ...],
    min_group_size: int,
    rounds: int,
    rating_mode: RatingMode = RatingMode.UNIT,
) -> None:
    """The refusals of a new engagement's setup, in the order they are given."""
    required_text(preparation.title, "title_empty")
    if len(unit_ids) < 2 or len(set(unit_ids)) != len(unit_ids):
        raise InvariantViolated("too_few_units")
    check_rounds(rounds)
    if min_group_size < 1:
        raise InvariantViolated("min_group_size_below_one")
    if rating_mode is RatingMode.INDIVIDUAL and min_group_size < MIN_INDIVIDUAL_GROUP:
        raise InvariantViolated("individual_group_too_small", min=MIN_INDIVIDUAL_GROUP)
    check_dates(preparation)
