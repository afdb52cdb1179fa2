"""Never a half-recorded action: a refused command records nothing, and the events rebuild the state."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.agreements import CheckInStatus
from domain.engagement import Engagement
from domain.errors import DomainError
from domain.outcomes import AgreementDraft, ProposalDraft
from domain.phases import Phase
from domain.proposals import ProposalStatus
from domain.ratings import RatingMode
from tests.unit.factories import ALL_THREES, prepared_engagement, provenance

COMMANDS = (
    "advance",
    "move_back",
    "map_relations",
    "submit_rating",
    "send_card",
    "accept_card",
    "decline_card",
    "withdraw_card",
    "set_rounds",
    "schedule_dialogues",
    "move_dialogue",
    "hold_dialogue",
    "add_outcomes",
    "wrap_up",
    "hold_closing_plenary",
    "decide_agreement",
    "decide_proposal",
    "check_in",
)

# Commands that can succeed in each phase; most steps draw from these so that examples get far.
USEFUL: dict[Phase, tuple[str, ...]] = {
    Phase.PREPARED: ("advance", "set_rounds"),
    Phase.THEME_DAY_OPEN: ("advance", "set_rounds"),
    Phase.MAPPING: (
        "advance",
        "map_relations",
        "map_relations",
        "submit_rating",
        "submit_rating",
        "submit_rating",
    ),
    Phase.DANCE_CARDS: (
        "advance",
        "send_card",
        "send_card",
        "send_card",
        "accept_card",
        "accept_card",
        "accept_card",
        "decline_card",
        "withdraw_card",
        "schedule_dialogues",
        "move_dialogue",
    ),
    Phase.DIALOGUES: (
        "advance",
        "hold_dialogue",
        "hold_dialogue",
        "hold_dialogue",
        "add_outcomes",
        "withdraw_card",
        "move_dialogue",
        "schedule_dialogues",
        "set_rounds",
    ),
    Phase.WRAP_UP: ("advance", "wrap_up", "add_outcomes", "hold_dialogue"),
    Phase.CLOSING_PLENARY: ("hold_closing_plenary", "advance"),
    Phase.FOLLOW_UP_MEETING: (
        "advance",
        "decide_agreement",
        "decide_agreement",
        "decide_proposal",
        "decide_proposal",
        "check_in",
    ),
    Phase.FOLLOW_THROUGH: ("advance", "decide_proposal", "check_in", "check_in", "check_in"),
    Phase.CLOSED: ("check_in",),
}

steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=99),
        st.lists(st.integers(min_value=0, max_value=5), min_size=6, max_size=6),
    ),
    min_size=10,
    max_size=80,
)


def command_for(phase: Phase, choice: int) -> str:
    """Mostly a command of the current phase, sometimes a step forward, sometimes any command at all."""
    if choice < 6:
        return "advance"
    if choice < 8:
        return "move_back"
    if choice < 14:
        return COMMANDS[choice % len(COMMANDS)]
    useful = USEFUL[phase]
    return useful[choice % len(useful)]


class Driver:
    """Turns drawn numbers into commands: sensible by default, off the rails whenever a number is 5.

    Known ids are reused so that commands meet each other's results; the driver only reads the
    engagement to aim its commands (the invited unit answers, accepted cards get dialogues).
    """

    WRONG = 5

    def __init__(self, engagement: Engagement, unit_ids: tuple[UUID, ...]) -> None:
        self.engagement = engagement
        self.participants = unit_ids
        self.outsider = uuid4()
        self.raters = (uuid4(), uuid4(), uuid4())

    def ids(self, kind: str) -> list[UUID]:
        e = self.engagement
        if kind == "rating":
            return [r.rating_id for r in e.ratings.values()]
        if kind == "check_in":
            return [c.check_in_id for a in e.agreements.values() for c in a.check_ins]
        return list(
            {"card": e.cards, "dialogue": e.dialogues, "agreement": e.agreements, "proposal": e.proposals}[
                kind
            ]
        )

    def pick(self, kind: str, n: int) -> UUID:
        """A known id, or an unknown one when n is WRONG."""
        known = self.ids(kind)
        return known[n % len(known)] if known and n != self.WRONG else uuid4()

    def new(self, kind: str, n: int) -> UUID:
        """A new id, or a known one when n is WRONG."""
        known = self.ids(kind)
        return known[0] if known and n == self.WRONG else uuid4()

    def unit(self, n: int) -> UUID:
        return self.outsider if n == self.WRONG else self.participants[n % len(self.participants)]

    def other(self, n: int, k: int) -> UUID:
        """A participant other than unit(n), or the same one when k is WRONG."""
        if k == self.WRONG:
            return self.unit(n)
        return self.participants[(n + 1 + k % 3) % len(self.participants)]

    def card_unit(self, card_id: UUID, n: int, sender: bool) -> UUID:
        card = self.engagement.cards.get(card_id)
        if card is None or n == self.WRONG:
            return self.unit(n)
        return card.from_unit if sender else card.to_unit

    def accepted_card(self, n: int) -> UUID:
        accepted = [c.card_id for c in self.engagement.cards.values() if c.status.value == "accepted"]
        if n == self.WRONG or not accepted:
            return self.pick("card", n)
        return accepted[n % len(accepted)]

    def run(self, name: str, a: list[int]) -> Any:
        e, p, wrong = self.engagement, provenance(), self.WRONG
        text = "" if a[5] == wrong else "tekst"
        if name == "advance":
            return e.advance(list(Phase)[a[1]] if a[0] == wrong else e.phase, p)
        if name == "move_back":
            return e.move_back(Phase.MAPPING if a[0] == wrong else e.phase, text, p)
        if name == "map_relations":
            unit = self.unit(a[0])
            counterparts = tuple(dict.fromkeys(self.other(a[0], k) for k in a[1 : 2 + a[2] % 3]))
            return e.map_relations(unit, counterparts, p)
        if name == "submit_rating":
            mapping = [unit for unit, mapped in e.relations.items() if mapped]
            unit = mapping[a[0] % len(mapping)] if mapping and a[0] != wrong else self.unit(a[0])
            mapped = e.relations.get(unit, ())
            counterpart = mapped[a[1] % len(mapped)] if mapped and a[1] != wrong else self.other(a[0], a[1])
            scores = dict(ALL_THREES, frequent=a[3] + 1) if a[4] == wrong else ALL_THREES
            rater = None if (e.rating_mode is RatingMode.UNIT) != (a[5] == wrong) else self.raters[a[2] % 3]
            return e.submit_rating(self.new("rating", 0), unit, counterpart, scores, rater, p)
        if name == "send_card":
            from_unit, to_unit = self.unit(a[0]), self.other(a[0], a[1])
            rating = None
            if a[4] == wrong:
                rating = self.pick("rating", a[3])
            elif a[4] == 1:
                fitting = [
                    r.rating_id
                    for r in e.ratings.values()
                    if {r.unit_id, r.counterpart_id} == {from_unit, to_unit}
                ]
                rating = fitting[0] if fitting else None
            card_id = self.new("card", a[2])
            return e.send_card(card_id, from_unit, to_unit, text, "hvorfor", "håb", rating, p)
        if name in ("accept_card", "decline_card", "withdraw_card"):
            sent = [c.card_id for c in e.cards.values() if c.status.value == "sent"]
            card_id = sent[a[0] % len(sent)] if sent and a[0] < 3 else self.pick("card", a[0])
            by = self.card_unit(card_id, a[1], sender=name == "withdraw_card")
            if name == "accept_card":
                return e.accept_card(card_id, by, p)
            if name == "decline_card":
                return e.decline_card(card_id, by, text, p)
            return e.withdraw_card(card_id, by, p)
        if name == "set_rounds":
            return e.set_rounds(0 if a[0] == wrong else a[0] + 1, p)
        if name == "schedule_dialogues":
            return e.schedule_dialogues(p)
        if name == "move_dialogue":
            return e.move_dialogue(self.accepted_card(a[0]), None if a[1] == 0 else a[1], p)
        if name in ("hold_dialogue", "add_outcomes"):
            agreements = tuple(
                AgreementDraft(self.new("agreement", a[2]), text, bool(a[3] % 2)) for _ in range(a[4] % 3)
            )
            proposals = (ProposalDraft(self.new("proposal", a[3]), text),) if a[4] % 2 else ()
            if name == "hold_dialogue":
                dialogue_id = self.new("dialogue", a[0])
                card_id = self.accepted_card(a[1])
                return e.hold_dialogue(dialogue_id, card_id, "noter", ("Anna",), agreements, proposals, p)
            return e.add_outcomes(self.pick("dialogue", a[0]), agreements, proposals, p)
        if name == "wrap_up":
            return e.wrap_up(self.unit(a[0]), text, ("input", " "), p)
        if name == "hold_closing_plenary":
            return e.hold_closing_plenary(text, p)
        if name == "decide_agreement":
            return e.decide_agreement(self.pick("agreement", a[0]), bool(a[1] % 2), "", text or " ", p)
        if name == "decide_proposal":
            outcome = list(ProposalStatus)[a[1]] if a[1] < len(ProposalStatus) else ProposalStatus.DEFERRED
            investigating = outcome is ProposalStatus.UNDER_INVESTIGATION
            return e.decide_proposal(
                self.pick("proposal", a[0]),
                outcome,
                "",
                "Direktør",
                p,
                deferred_until=date(2026, 1, 1) if a[2] == 1 or a[2] == wrong else None,
                owner="HR" if investigating != (a[3] == wrong) else None,
                due=date(2026, 3, 1) if investigating != (a[4] == wrong) else None,
            )
        assert name == "check_in"
        status = list(CheckInStatus)[a[1] % len(CheckInStatus)]
        check_in_id = self.new("check_in", a[2])
        return e.check_in(check_in_id, self.pick("agreement", a[0]), status, text, p)


def state(aggregate: Engagement) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(RatingMode), rounds=st.integers(min_value=1, max_value=3), drawn=steps)
def test_a_command_records_all_its_events_or_none(
    mode: RatingMode, rounds: int, drawn: list[tuple[int, list[int]]]
) -> None:
    engagement, unit_ids = prepared_engagement(units=4, mode=mode, rounds=rounds, min_group_size=2)
    driver = Driver(engagement, unit_ids)
    for choice, numbers in drawn:
        name = command_for(engagement.phase, choice)
        before_events = list(engagement._pending_events)
        before_state = copy.deepcopy(state(engagement))
        try:
            driver.run(name, numbers)
        except DomainError:
            assert engagement._pending_events == before_events, name
            assert state(engagement) == before_state, name
        else:
            assert len(engagement._pending_events) > len(before_events), name

    events = engagement.collect_events()
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert isinstance(replayed, Engagement)
    assert state(replayed) == state(engagement)
    assert replayed.version == len(events)


def test_the_driver_reaches_every_phase() -> None:
    """A fixed walk through the method with the same driver, so its commands are known to work."""
    engagement, unit_ids = prepared_engagement(units=4, mode=RatingMode.UNIT, rounds=2, min_group_size=2)
    driver = Driver(engagement, unit_ids)
    walk: list[tuple[str, list[int]]] = [
        ("advance", [1, 0, 0, 0, 0, 1]),
        ("advance", [1, 0, 0, 0, 0, 1]),
        ("map_relations", [0, 1, 1, 0, 0, 1]),
        ("submit_rating", [0, 1, 0, 0, 0, 1]),
        ("advance", [1, 0, 0, 0, 0, 1]),
        ("send_card", [0, 1, 0, 0, 1, 1]),
        ("accept_card", [0, 1, 0, 0, 0, 1]),
        ("schedule_dialogues", [0, 0, 0, 0, 0, 1]),
        ("advance", [1, 0, 0, 0, 0, 1]),
        ("hold_dialogue", [0, 0, 0, 1, 1, 1]),
        ("advance", [1, 0, 0, 0, 0, 1]),
        ("wrap_up", [0, 0, 0, 0, 0, 1]),
        ("advance", [1, 0, 0, 0, 0, 1]),
        ("hold_closing_plenary", [0, 0, 0, 0, 0, 1]),
        ("advance", [1, 0, 0, 0, 0, 1]),
        ("decide_agreement", [0, 1, 0, 0, 0, 1]),
        ("decide_proposal", [0, 1, 0, 0, 0, 1]),
        ("check_in", [0, 0, 5, 0, 0, 1]),
        ("advance", [1, 0, 0, 0, 0, 1]),
        ("advance", [1, 0, 0, 0, 0, 1]),
    ]
    for name, numbers in walk:
        driver.run(name, numbers)
    assert engagement.phase is Phase.CLOSED
    (agreement,) = engagement.agreements.values()
    assert agreement.status.value == "accepted"
    assert len(agreement.check_ins) == 1
    assert [p.status for p in engagement.proposals.values()] == [ProposalStatus.APPROVED]
