from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvariantViolated
from domain.scheduling import DialogueRequest, conflicts, propose_schedule


def unit(n: int) -> UUID:
    return UUID(int=n)


def card(n: int) -> UUID:
    return UUID(int=1_000 + n)


def req(n: int, a: int, b: int) -> DialogueRequest:
    return DialogueRequest(card(n), (unit(a), unit(b)))


def assert_valid(
    schedule: Mapping[UUID, int],
    requests: Sequence[DialogueRequest],
    rounds: int,
    pinned: Mapping[UUID, int],
) -> None:
    assert set(schedule) <= {r.card_id for r in requests}
    assert all(1 <= r <= rounds for r in schedule.values())
    assert conflicts(schedule, requests) == []
    for card_id, round_ in pinned.items():
        assert schedule[card_id] == round_


def brute_force_optimum(requests: Sequence[DialogueRequest], rounds: int, pinned: Mapping[UUID, int]) -> int:
    """Try every card in every round or left out, keeping only conflict-free choices."""
    busy = {(u, r) for q in requests if q.card_id in pinned for u in q.units for r in [pinned[q.card_id]]}
    free_cards = [q for q in requests if q.card_id not in pinned]

    def best(k: int) -> int:
        if k == len(free_cards):
            return 0
        a, b = free_cards[k].units
        result = best(k + 1)
        for r in range(1, rounds + 1):
            if (a, r) not in busy and (b, r) not in busy:
                busy.update({(a, r), (b, r)})
                result = max(result, 1 + best(k + 1))
                busy.difference_update({(a, r), (b, r)})
        return result

    return len(pinned) + best(0)


# --- examples ---------------------------------------------------------------


def test_nothing_to_schedule() -> None:
    assert propose_schedule([], 3) == {}
    assert propose_schedule([req(1, 1, 2)], 0) == {}


def test_one_card_goes_in_the_first_round() -> None:
    assert propose_schedule([req(1, 1, 2)], 3) == {card(1): 1}


def test_both_directions_between_two_units_need_two_rounds() -> None:
    requests = [req(1, 1, 2), req(2, 2, 1)]
    assert sorted(propose_schedule(requests, 2).values()) == [1, 2]
    assert len(propose_schedule(requests, 1)) == 1


def test_unit_with_more_cards_than_rounds_keeps_one_per_round() -> None:
    requests = [req(n, 0, n) for n in range(1, 6)]
    schedule = propose_schedule(requests, 3)
    assert len(schedule) == 3
    assert sorted(schedule.values()) == [1, 2, 3]


def test_odd_cycle_needs_three_rounds() -> None:
    triangle = [req(1, 1, 2), req(2, 2, 3), req(3, 3, 1)]
    assert len(propose_schedule(triangle, 2)) == 2
    assert len(propose_schedule(triangle, 3)) == 3


def test_drops_the_card_between_two_overloaded_units() -> None:
    # Units 0 and 9 each have three cards for two rounds; dropping 0-9 saves the rest.
    requests = [req(1, 0, 9), req(2, 0, 1), req(3, 0, 2), req(4, 9, 3), req(5, 9, 4)]
    schedule = propose_schedule(requests, 2)
    assert len(schedule) == 4
    assert card(1) not in schedule


def test_pins_are_kept_and_others_fit_around_them() -> None:
    requests = [req(1, 1, 2), req(2, 1, 3), req(3, 2, 3)]
    pinned = {card(1): 3, card(2): 1}
    schedule = propose_schedule(requests, 3, pinned)
    assert_valid(schedule, requests, 3, pinned)
    assert schedule == {card(1): 3, card(2): 1, card(3): 2}


def test_pin_may_be_the_only_card_scheduled_for_a_unit() -> None:
    requests = [req(1, 1, 2), req(2, 1, 3)]
    schedule = propose_schedule(requests, 1, {card(2): 1})
    assert schedule == {card(2): 1}


@pytest.mark.parametrize(
    "pinned",
    [
        {card(9): 1},  # unknown card
        {card(1): 0},  # round outside 1..rounds
        {card(1): 3},
        {card(1): 1, card(2): 1},  # unit 1 twice in round 1
    ],
)
def test_bad_pins_are_refused(pinned: dict[UUID, int]) -> None:
    requests = [req(1, 1, 2), req(2, 1, 3)]
    with pytest.raises(InvariantViolated):
        propose_schedule(requests, 2, pinned)


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvariantViolated):
        req(1, 1, 1)
    with pytest.raises(InvariantViolated):
        propose_schedule([req(1, 1, 2), req(1, 2, 3)], 2)
    with pytest.raises(InvariantViolated):
        propose_schedule([req(1, 1, 2)], -1)


def test_conflicts_names_unit_and_round() -> None:
    requests = [req(1, 1, 2), req(2, 1, 3), req(3, 4, 5)]
    assert conflicts({card(1): 2, card(2): 2, card(3): 2}, requests) == [(unit(1), 2)]
    assert conflicts({card(1): 1, card(2): 2}, requests) == []


# --- properties -------------------------------------------------------------


@st.composite
def cases(
    draw: st.DrawFn, max_units: int = 6, max_cards: int = 8, max_rounds: int = 3
) -> tuple[list[DialogueRequest], int, dict[UUID, int]]:
    n_units = draw(st.integers(2, max_units))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_units - 1), st.integers(0, n_units - 1)).filter(
                lambda p: p[0] != p[1]
            ),
            max_size=max_cards,
        )
    )
    ids = draw(st.lists(st.uuids(), min_size=len(pairs), max_size=len(pairs), unique=True))
    requests = [DialogueRequest(c, (unit(a), unit(b))) for c, (a, b) in zip(ids, pairs, strict=True)]
    rounds = draw(st.integers(0, max_rounds))
    pinned: dict[UUID, int] = {}
    if rounds:
        wishes = draw(st.lists(st.tuples(st.sampled_from(requests or [None]), st.integers(1, rounds))))
        for r, round_ in wishes:  # keep only pins that agree with each other
            if (
                r is not None
                and r.card_id not in pinned
                and not conflicts({**pinned, r.card_id: round_}, requests)
            ):
                pinned[r.card_id] = round_
    return requests, rounds, pinned


@settings(max_examples=300, deadline=None)
@given(cases(max_units=12, max_cards=30, max_rounds=6))
def test_never_double_books_and_keeps_pins(
    case: tuple[list[DialogueRequest], int, dict[UUID, int]],
) -> None:
    requests, rounds, pinned = case
    assert_valid(propose_schedule(requests, rounds, pinned), requests, rounds, pinned)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_schedules_as_many_cards_as_brute_force(
    case: tuple[list[DialogueRequest], int, dict[UUID, int]],
) -> None:
    requests, rounds, pinned = case
    schedule = propose_schedule(requests, rounds, pinned)
    assert_valid(schedule, requests, rounds, pinned)
    assert len(schedule) == brute_force_optimum(requests, rounds, pinned)


@settings(max_examples=100, deadline=None)
@given(cases(max_units=12, max_cards=30, max_rounds=6), st.randoms(use_true_random=False))
def test_same_cards_same_schedule_in_any_order(
    case: tuple[list[DialogueRequest], int, dict[UUID, int]], rnd: random.Random
) -> None:
    requests, rounds, pinned = case
    shuffled = list(requests)
    rnd.shuffle(shuffled)
    first = propose_schedule(requests, rounds, pinned)
    assert propose_schedule(requests, rounds, pinned) == first
    assert propose_schedule(shuffled, rounds, pinned) == first
