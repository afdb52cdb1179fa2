"""Placing accepted dance cards into dialogue rounds.

Each card is a dialogue between two units; a unit can hold one dialogue per round.
Finding the most cards that fit is maximum edge-colouring with `rounds` colours
(NP-hard), so the search is exact branch-and-bound under a node budget, seeded
with a greedy schedule that is returned improved-as-far-as-possible when the
budget runs out. Pure and deterministic: same cards, same schedule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from domain.cards import DanceCard
from domain.errors import InvariantViolated

# 200_000 found nothing more than 20_000 on 30 units/80 cards/6 rounds, at ten times the wait.
NODE_BUDGET = 20_000
# The search recurses once per card placed; past this many it stays greedy.
_MAX_SEARCH_CARDS = 400


@dataclass(frozen=True)
class DialogueRequest:
    """An accepted card: one dialogue between two distinct units."""

    card_id: UUID
    units: tuple[UUID, UUID]

    def __post_init__(self) -> None:
        if len(self.units) != 2 or self.units[0] == self.units[1]:
            raise InvariantViolated("card_units_not_distinct", card=str(self.card_id))


def conflicts(schedule: Mapping[UUID, int], requests: Iterable[DialogueRequest]) -> list[tuple[UUID, int]]:
    """(unit, round) pairs where the unit has more than one scheduled dialogue, sorted."""
    seen: defaultdict[tuple[UUID, int], int] = defaultdict(int)
    for request in requests:
        round_ = schedule.get(request.card_id)
        if round_ is not None:
            for unit in request.units:
                seen[unit, round_] += 1
    return sorted(key for key, count in seen.items() if count > 1)


def check_round_free(card: DanceCard, round: int, rounds: int, accepted: Iterable[DanceCard]) -> None:
    """`round` is one of the engagement's rounds, and neither of the card's units has another
    accepted card in it."""
    if not 1 <= round <= rounds:
        raise InvariantViolated("round_out_of_range", rounds=rounds)
    for other in accepted:
        if other.card_id != card.card_id and other.round == round and set(other.units) & set(card.units):
            raise InvariantViolated("round_taken", state=str(other.card_id), round=round)


def propose_schedule(
    requests: Sequence[DialogueRequest],
    rounds: int,
    pinned: Mapping[UUID, int] | None = None,
    *,
    node_budget: int = NODE_BUDGET,
) -> dict[UUID, int]:
    """Card id -> round (1..rounds) for as many cards as fit; pinned cards keep their round.

    Cards left out are absent. Raises InvariantViolated for bad input or pins that
    cannot all hold.
    """
    pinned = pinned or {}
    ordered = sorted(requests, key=lambda r: r.card_id)
    _check_input(ordered, rounds, pinned)

    units = sorted({u for r in ordered for u in r.units})
    index = {u: i for i, u in enumerate(units)}
    ends = [(index[r.units[0]], index[r.units[1]]) for r in ordered]
    full = (1 << rounds) - 1
    free = [full] * len(units)  # bit r-1 set: round r still open for that unit
    used = 0  # rounds holding any dialogue; untouched rounds are interchangeable
    fixed: dict[int, int] = {}
    for i, request in enumerate(ordered):
        if request.card_id in pinned:
            bit = 1 << (pinned[request.card_id] - 1)
            a, b = ends[i]
            free[a] &= ~bit
            free[b] &= ~bit
            used |= bit
            fixed[i] = bit
    open_cards = [i for i in range(len(ordered)) if i not in fixed]

    best = _greedy(open_cards, ends, free)
    if len(open_cards) <= _MAX_SEARCH_CARDS:
        best = _Search(ends, free, used, best, node_budget).run(open_cards)

    chosen = {**fixed, **best}
    return {ordered[i].card_id: chosen[i].bit_length() for i in sorted(chosen)}


def _check_input(ordered: Sequence[DialogueRequest], rounds: int, pinned: Mapping[UUID, int]) -> None:
    if rounds < 0:
        raise InvariantViolated("rounds_negative", rounds=rounds)
    ids = [r.card_id for r in ordered]
    if len(set(ids)) != len(ids):
        raise InvariantViolated("card_requested_twice")
    unknown = sorted(set(pinned) - set(ids))
    if unknown:
        raise InvariantViolated("pinned_card_not_accepted", card=str(unknown[0]))
    for card_id, round_ in sorted(pinned.items()):
        if isinstance(round_, bool) or not isinstance(round_, int) or not 1 <= round_ <= rounds:
            raise InvariantViolated(
                "pin_outside_rounds", card=str(card_id), round=repr(round_), rounds=rounds
            )
    clashes = conflicts(pinned, ordered)
    if clashes:
        unit, round_ = clashes[0]
        raise InvariantViolated("pins_clash", unit=str(unit), round=round_)


def _lowest_bit(mask: int) -> int:
    return mask & -mask


def _greedy(cards: list[int], ends: list[tuple[int, int]], free: list[int]) -> dict[int, int]:
    """Most-constrained card first into its lowest open round: the search's starting point."""
    free = list(free)
    left = list(cards)
    placed: dict[int, int] = {}
    while left:
        # fewest open rounds first; then the least busy pair, since cards between
        # overloaded units are the cheapest to leave out (one drop relieves both)
        degree = [0] * len(free)
        for i in left:
            degree[ends[i][0]] += 1
            degree[ends[i][1]] += 1
        i = min(
            left,
            key=lambda c: (
                (free[ends[c][0]] & free[ends[c][1]]).bit_count(),
                degree[ends[c][0]] + degree[ends[c][1]],
                c,
            ),
        )
        left.remove(i)
        a, b = ends[i]
        options = free[a] & free[b]
        if options:
            bit = _lowest_bit(options)
            placed[i] = bit
            free[a] &= ~bit
            free[b] &= ~bit
    return placed


class _Search:
    """Depth-first branch-and-bound over 'card -> one of its open rounds, or left out'."""

    def __init__(
        self,
        ends: list[tuple[int, int]],
        free: list[int],
        used: int,
        seed: dict[int, int],
        budget: int,
    ) -> None:
        self.ends = ends
        self.free = list(free)
        self.used = used
        self.best = dict(seed)
        self.budget = budget
        self.placed: dict[int, int] = {}

    def run(self, cards: list[int]) -> dict[int, int]:
        self._node(cards, [])
        return self.best

    def _node(self, cards: list[int], deferred: list[int]) -> bool:
        """Explore below this node; False once the budget is spent."""
        self.budget -= 1
        if self.budget < 0:
            return False
        ends, free = self.ends, self.free

        # Cards with no common open round are lost for the whole subtree: drop them.
        live: list[tuple[int, int]] = []
        degree: defaultdict[int, int] = defaultdict(int)
        reach: defaultdict[int, int] = defaultdict(int)
        for i in cards:
            a, b = ends[i]
            mask = free[a] & free[b]
            if mask:
                live.append((i, mask))
                degree[a] += 1
                degree[b] += 1
                reach[a] |= mask
                reach[b] |= mask

        # A card with more open rounds than neighbours can always be fitted last,
        # whatever the others get: set it aside instead of branching on it.
        deferred = list(deferred)
        rest: list[tuple[int, int]] = []
        for i, mask in live:
            a, b = ends[i]
            if mask.bit_count() >= degree[a] + degree[b] - 1:
                deferred.append(i)
                degree[a] -= 1
                degree[b] -= 1
            else:
                rest.append((i, mask))

        # Upper bound: a unit with more cards than reachable rounds must lose the
        # excess, and each lost card relieves at most two units.
        excess = [max(0, degree[u] - reach[u].bit_count()) for u in degree]
        lost = max(max(excess, default=0), (sum(excess) + 1) // 2)
        base = len(self.placed) + len(deferred)
        if base + len(rest) - lost <= len(self.best):
            return True
        if not rest:
            self._record(deferred)
            return True

        i, mask = min(
            rest,
            key=lambda im: (
                im[1].bit_count(),
                degree[ends[im[0]][0]] + degree[ends[im[0]][1]],
                im[0],
            ),
        )
        others = [j for j, _ in rest if j != i]
        a, b = ends[i]
        # Rounds nobody uses yet are interchangeable, so try only the first of them.
        fresh = mask & ~self.used
        options = (mask & self.used) | _lowest_bit(fresh)
        while options:
            bit = _lowest_bit(options)
            options ^= bit
            free[a] &= ~bit
            free[b] &= ~bit
            was_used = self.used
            self.used |= bit
            self.placed[i] = bit
            going = self._node(others, deferred)
            del self.placed[i]
            self.used = was_used
            free[a] |= bit
            free[b] |= bit
            if not going:
                return False
        if base + len(others) - max(0, lost - 1) > len(self.best):
            return self._node(others, deferred)
        return True

    def _record(self, deferred: list[int]) -> None:
        """Keep the current leaf if it beats the best, fitting deferred cards in reverse."""
        if len(self.placed) + len(deferred) <= len(self.best):
            return
        free = list(self.free)
        leaf = dict(self.placed)
        for i in reversed(deferred):
            a, b = self.ends[i]
            bit = _lowest_bit(free[a] & free[b])  # non-zero: guaranteed when deferred
            leaf[i] = bit
            free[a] &= ~bit
            free[b] &= ~bit
        self.best = leaf
