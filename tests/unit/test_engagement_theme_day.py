"""The theme day: mapping and rating, dance cards, dialogue rounds, dialogues, wrap-up, closing plenary."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.cards import CardStatus
from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.engagement import Engagement
from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.outcomes import AgreementDraft, ProposalDraft
from domain.phases import Phase
from domain.provenance import Cause
from domain.ratings import RatingMode
from domain.scheduling import DialogueRequest, conflicts
from tests.unit.factories import (
    ALL_THREES,
    accepted_card,
    advance_to,
    agreement,
    engagement_in,
    proposal,
    provenance,
)

KEYS = DEFAULT_INSTRUMENT.dimension_keys


def scores(*values: int) -> dict[str, int]:
    assert len(values) == len(KEYS)
    return dict(zip(KEYS, values, strict=True))


def last_event(engagement: Engagement):  # type: ignore[no-untyped-def]
    events = engagement.collect_events()
    return events[-1]


# -- mapping ---------------------------------------------------------------------------------


def test_a_unit_maps_its_relations() -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    engagement.map_relations(u[0], (u[1], u[2]), provenance())
    assert engagement.relations == {u[0]: (u[1], u[2])}
    engagement.map_relations(u[0], (u[3],), provenance())
    assert engagement.relations == {u[0]: (u[3],)}


def test_a_unit_does_not_map_a_relation_to_itself() -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    with pytest.raises(InvariantViolated, match="itself"):
        engagement.map_relations(u[0], (u[1], u[0]), provenance())


@pytest.mark.parametrize("outsider_is_the_unit", [True, False])
def test_only_participating_units_map_and_are_mapped(outsider_is_the_unit: bool) -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    outsider = uuid4()
    unit, counterparts = (outsider, (u[0],)) if outsider_is_the_unit else (u[0], (u[1], outsider))
    with pytest.raises(NotFound, match="does not take part"):
        engagement.map_relations(unit, counterparts, provenance())
    assert engagement.relations == {}


def test_each_relation_is_mapped_once() -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    with pytest.raises(InvariantViolated, match="once"):
        engagement.map_relations(u[0], (u[1], u[1]), provenance())


# -- rating ----------------------------------------------------------------------------------


def test_a_relation_is_mapped_before_it_is_rated() -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    engagement.map_relations(u[0], (u[1],), provenance())
    with pytest.raises(InvariantViolated, match="map this relation first"):
        engagement.submit_rating(uuid4(), u[0], u[2], ALL_THREES, None, provenance())
    with pytest.raises(InvariantViolated, match="map this relation first"):
        engagement.submit_rating(uuid4(), u[1], u[0], ALL_THREES, None, provenance())


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (dict.fromkeys(KEYS[:-1], 3), "missing: mutual_respect"),
        ({**ALL_THREES, "humour": 3}, "unknown: humour"),
        ({**ALL_THREES, "timely": 0}, "outside: timely"),
        ({**ALL_THREES, "accurate": 6}, "outside: accurate"),
    ],
)
def test_a_rating_scores_every_dimension_within_the_scale(given: dict[str, int], message: str) -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    engagement.map_relations(u[0], (u[1],), provenance())
    with pytest.raises(InvariantViolated, match=message):
        engagement.submit_rating(uuid4(), u[0], u[1], given, None, provenance())
    assert engagement.ratings == {}


def test_the_scale_ends_are_valid_scores() -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    engagement.map_relations(u[0], (u[1],), provenance())
    engagement.submit_rating(uuid4(), u[0], u[1], scores(1, 5, 1, 5, 1, 5, 1), None, provenance())
    assert len(engagement.ratings) == 1


def test_unit_mode_takes_consensus_ratings_only() -> None:
    engagement, u = engagement_in(Phase.MAPPING, mode=RatingMode.UNIT)
    engagement.map_relations(u[0], (u[1],), provenance())
    with pytest.raises(InvariantViolated, match="collects unit ratings") as raised:
        engagement.submit_rating(uuid4(), u[0], u[1], ALL_THREES, uuid4(), provenance())
    assert raised.value.state == "unit"


def test_individual_mode_takes_ratings_with_a_rater_only() -> None:
    engagement, u = engagement_in(Phase.MAPPING, mode=RatingMode.INDIVIDUAL)
    engagement.map_relations(u[0], (u[1],), provenance())
    with pytest.raises(InvariantViolated, match="collects individual ratings"):
        engagement.submit_rating(uuid4(), u[0], u[1], ALL_THREES, None, provenance())


def test_a_new_unit_rating_replaces_the_old_one() -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    engagement.map_relations(u[0], (u[1],), provenance())
    first, second = uuid4(), uuid4()
    engagement.submit_rating(first, u[0], u[1], ALL_THREES, None, provenance())
    engagement.submit_rating(second, u[0], u[1], scores(5, 5, 5, 5, 5, 5, 5), None, provenance())
    assert len(engagement.ratings) == 1
    assert engagement.rating(second).scores == scores(5, 5, 5, 5, 5, 5, 5)
    with pytest.raises(NotFound):
        engagement.rating(first)
    assert engagement.relation(u[0], u[1]).index == Decimal("5.00")


def test_a_rating_sent_again_under_its_id_is_refused_not_recorded_twice() -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    engagement.map_relations(u[0], (u[1],), provenance())
    rating_id = uuid4()
    engagement.submit_rating(rating_id, u[0], u[1], ALL_THREES, None, provenance())
    recorded = len(engagement.collect_events())
    with pytest.raises(AlreadyExists):
        engagement.submit_rating(rating_id, u[0], u[1], ALL_THREES, None, provenance())
    assert engagement.collect_events() == []
    assert recorded > 0


def test_a_unit_rating_shows_its_own_scores_and_index() -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    engagement.map_relations(u[0], (u[1],), provenance())
    engagement.submit_rating(uuid4(), u[0], u[1], scores(1, 2, 3, 4, 5, 5, 5), None, provenance())
    view = engagement.relation(u[0], u[1])
    assert not view.suppressed
    assert view.raters == 1
    assert view.means == dict(zip(KEYS, [Decimal(f"{n}.00") for n in (1, 2, 3, 4, 5, 5, 5)], strict=True))
    # 25 / 7 = 3.5714...
    assert view.index == Decimal("3.57")
    assert str(view.index) == "3.57"
    # the relation is directed: the other way round nobody has rated yet
    assert engagement.relation(u[1], u[0]).suppressed


def test_individual_ratings_are_shown_only_from_the_minimum_group_size() -> None:
    engagement, u = engagement_in(Phase.MAPPING, mode=RatingMode.INDIVIDUAL)
    assert engagement.min_group_size == 3
    engagement.map_relations(u[0], (u[1],), provenance())
    raters = [uuid4(), uuid4(), uuid4()]
    given = [
        scores(5, 4, 3, 2, 1, 4, 5),  # 24
        scores(4, 4, 3, 3, 2, 4, 5),  # 25
        scores(4, 3, 3, 2, 2, 5, 4),  # 23
    ]
    engagement.submit_rating(uuid4(), u[0], u[1], given[0], raters[0], provenance())
    engagement.submit_rating(uuid4(), u[0], u[1], given[1], raters[1], provenance())
    # the same rater again replaces, it does not count twice
    engagement.submit_rating(uuid4(), u[0], u[1], given[1], raters[1], provenance())

    hidden = engagement.relation(u[0], u[1])
    assert hidden.suppressed
    assert hidden.raters == 2
    assert hidden.means == {}
    assert hidden.index is None

    engagement.submit_rating(uuid4(), u[0], u[1], given[2], raters[2], provenance())
    shown = engagement.relation(u[0], u[1])
    assert not shown.suppressed
    assert shown.raters == 3
    assert shown.means == {
        "frequent": Decimal("4.33"),  # 13/3
        "timely": Decimal("3.67"),  # 11/3
        "accurate": Decimal("3.00"),
        "problem_solving": Decimal("2.33"),  # 7/3
        "shared_goals": Decimal("1.67"),  # 5/3
        "shared_knowledge": Decimal("4.33"),  # 13/3
        "mutual_respect": Decimal("4.67"),  # 14/3
    }
    assert shown.index == Decimal("3.43")  # 72/21 = 3.4285...
    assert all(m.as_tuple().exponent == -2 for m in shown.means.values())


def test_means_round_half_up() -> None:
    engagement, u = engagement_in(Phase.MAPPING, mode=RatingMode.INDIVIDUAL)
    engagement.map_relations(u[0], (u[1],), provenance())
    for n in range(8):
        frequent = 2 if n == 0 else 1
        engagement.submit_rating(
            uuid4(), u[0], u[1], {**ALL_THREES, "frequent": frequent}, uuid4(), provenance()
        )
    view = engagement.relation(u[0], u[1])
    assert view.means["frequent"] == Decimal("1.13")  # 9/8 = 1.125, half up (half even gives 1.12)
    # (9 + 6*24) / 56 = 153/56 = 2.7321...
    assert view.index == Decimal("2.73")


def test_a_rating_event_carries_the_rating() -> None:
    engagement, u = engagement_in(Phase.MAPPING)
    engagement.map_relations(u[0], (u[1],), provenance())
    rating_id = uuid4()
    engagement.submit_rating(rating_id, u[0], u[1], ALL_THREES, None, provenance())
    event = last_event(engagement)
    assert type(event).__name__ == "RatingSubmitted"
    assert event.rating.rating_id == rating_id


# -- dance cards -----------------------------------------------------------------------------


def rated_engagement() -> tuple[Engagement, tuple[UUID, ...], UUID]:
    """Dance-card phase; unit 0 has rated its relation to unit 1."""
    engagement, u = engagement_in(Phase.MAPPING)
    engagement.map_relations(u[0], (u[1],), provenance())
    rating_id = uuid4()
    engagement.submit_rating(rating_id, u[0], u[1], scores(1, 1, 2, 2, 3, 3, 1), None, provenance())
    advance_to(engagement, Phase.DANCE_CARDS)
    engagement.collect_events()
    return engagement, u, rating_id


def test_a_unit_sends_a_dance_card() -> None:
    engagement, u, _ = rated_engagement()
    card_id = uuid4()
    engagement.send_card(
        card_id, u[0], u[1], "  Overlevering  ", " travlt ", " færre fejl ", None, provenance()
    )
    card = engagement.card(card_id)
    assert (card.topic, card.reason, card.hoped_outcome) == ("Overlevering", "travlt", "færre fejl")
    assert card.status is CardStatus.SENT
    assert card.round is None
    assert not card.pinned
    assert last_event(engagement).provenance.caused_by == ()


def test_a_card_motivated_by_a_rating_records_the_rating_as_its_cause() -> None:
    engagement, u, rating_id = rated_engagement()
    card_id = uuid4()
    # the rating concerns the two units in either direction
    engagement.send_card(card_id, u[1], u[0], "Svar i tide", "", "", rating_id, provenance())
    event = last_event(engagement)
    assert type(event).__name__ == "DanceCardSent"
    assert event.provenance.caused_by == (Cause("rating", rating_id),)
    assert engagement.card(card_id).motivating_rating_id == rating_id


def test_the_motivating_rating_must_concern_the_two_units() -> None:
    engagement, u, rating_id = rated_engagement()
    with pytest.raises(InvariantViolated, match="concern the two units"):
        engagement.send_card(uuid4(), u[0], u[2], "Emne", "", "", rating_id, provenance())
    with pytest.raises(NotFound):
        engagement.send_card(uuid4(), u[0], u[1], "Emne", "", "", uuid4(), provenance())
    assert engagement.cards == {}


def test_a_unit_does_not_send_a_card_to_itself() -> None:
    engagement, u, _ = rated_engagement()
    with pytest.raises(InvariantViolated, match="itself"):
        engagement.send_card(uuid4(), u[0], u[0], "Emne", "", "", None, provenance())


@pytest.mark.parametrize("outsider_sends", [True, False])
def test_a_non_participating_unit_neither_sends_nor_receives(outsider_sends: bool) -> None:
    engagement, u, _ = rated_engagement()
    outsider = uuid4()
    from_unit, to_unit = (outsider, u[0]) if outsider_sends else (u[0], outsider)
    with pytest.raises(NotFound):
        engagement.send_card(uuid4(), from_unit, to_unit, "Emne", "", "", None, provenance())


def test_a_card_needs_a_topic() -> None:
    engagement, u, _ = rated_engagement()
    with pytest.raises(InvariantViolated, match="topic"):
        engagement.send_card(uuid4(), u[0], u[1], "   ", "", "", None, provenance())
    assert engagement.collect_events() == []


def test_a_card_id_is_sent_once() -> None:
    engagement, u, _ = rated_engagement()
    card_id = uuid4()
    engagement.send_card(card_id, u[0], u[1], "Emne", "", "", None, provenance())
    with pytest.raises(AlreadyExists):
        engagement.send_card(card_id, u[0], u[2], "Andet", "", "", None, provenance())


def test_only_the_invited_unit_answers_and_only_once() -> None:
    engagement, u, _ = rated_engagement()
    card_id = uuid4()
    engagement.send_card(card_id, u[0], u[1], "Emne", "", "", None, provenance())
    for not_invited in (u[0], u[2]):
        with pytest.raises(InvariantViolated, match="only the invited unit"):
            engagement.accept_card(card_id, not_invited, provenance())
        with pytest.raises(InvariantViolated, match="only the invited unit"):
            engagement.decline_card(card_id, not_invited, "nej", provenance())
    engagement.accept_card(card_id, u[1], provenance())
    event = last_event(engagement)
    assert type(event).__name__ == "DanceCardAccepted"
    assert event.provenance.caused_by == (Cause("dance_card", card_id),)
    assert engagement.card(card_id).status is CardStatus.ACCEPTED
    with pytest.raises(InvariantViolated, match="already been accepted") as raised:
        engagement.accept_card(card_id, u[1], provenance())
    assert raised.value.state == "accepted"
    with pytest.raises(InvariantViolated, match="already been accepted"):
        engagement.decline_card(card_id, u[1], "alligevel ikke", provenance())


def test_declining_needs_a_reason_and_keeps_it() -> None:
    engagement, u, _ = rated_engagement()
    card_id = uuid4()
    engagement.send_card(card_id, u[0], u[1], "Emne", "", "", None, provenance())
    with pytest.raises(InvariantViolated, match="reason"):
        engagement.decline_card(card_id, u[1], "  ", provenance())
    assert engagement.card(card_id).status is CardStatus.SENT
    engagement.decline_card(card_id, u[1], " Vi har ikke tid ", provenance())
    card = engagement.card(card_id)
    assert (card.status, card.response_note) == (CardStatus.DECLINED, "Vi har ikke tid")
    with pytest.raises(InvariantViolated, match="already been declined"):
        engagement.accept_card(card_id, u[1], provenance())


def test_answering_an_unknown_card() -> None:
    engagement, u, _ = rated_engagement()
    with pytest.raises(NotFound):
        engagement.accept_card(uuid4(), u[1], provenance())


def test_only_the_sender_withdraws() -> None:
    engagement, u, _ = rated_engagement()
    card_id = uuid4()
    engagement.send_card(card_id, u[0], u[1], "Emne", "", "", None, provenance())
    with pytest.raises(InvariantViolated, match="only the inviting unit"):
        engagement.withdraw_card(card_id, u[1], provenance())
    engagement.withdraw_card(card_id, u[0], provenance())
    assert engagement.card(card_id).status is CardStatus.WITHDRAWN
    with pytest.raises(InvariantViolated, match="withdrawn dance card cannot be withdrawn"):
        engagement.withdraw_card(card_id, u[0], provenance())
    with pytest.raises(InvariantViolated, match="already been withdrawn"):
        engagement.accept_card(card_id, u[1], provenance())


def test_a_declined_card_cannot_be_withdrawn() -> None:
    engagement, u, _ = rated_engagement()
    card_id = uuid4()
    engagement.send_card(card_id, u[0], u[1], "Emne", "", "", None, provenance())
    engagement.decline_card(card_id, u[1], "nej tak", provenance())
    with pytest.raises(InvariantViolated, match="declined"):
        engagement.withdraw_card(card_id, u[0], provenance())


def test_withdrawing_an_accepted_card_takes_it_off_the_schedule() -> None:
    engagement, u, _ = rated_engagement()
    card_id = accepted_card(engagement, u[0], u[1])
    engagement.move_dialogue(card_id, 2, provenance())
    advance_to(engagement, Phase.DIALOGUES)
    engagement.withdraw_card(card_id, u[0], provenance())
    card = engagement.card(card_id)
    assert (card.status, card.round, card.pinned) == (CardStatus.WITHDRAWN, None, False)


# -- dialogue rounds -------------------------------------------------------------------------


def all_pairs(engagement: Engagement, u: tuple[UUID, ...]) -> list[UUID]:
    return [accepted_card(engagement, a, b) for i, a in enumerate(u) for b in u[i + 1 :]]


def requests(engagement: Engagement) -> list[DialogueRequest]:
    return [DialogueRequest(c.card_id, c.units) for c in engagement.cards.values()]


def test_scheduling_places_every_pair_without_double_booking() -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS, units=4, rounds=3)
    cards = all_pairs(engagement, u)
    schedule = engagement.schedule_dialogues(provenance())
    assert set(schedule) == set(cards)  # four units, six pairs: three rounds suffice
    assert conflicts(schedule, requests(engagement)) == []
    assert {c: engagement.card(c).round for c in cards} == schedule
    assert not any(engagement.card(c).pinned for c in cards)


def test_scheduling_leaves_out_what_does_not_fit() -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS, units=4, rounds=2)
    cards = all_pairs(engagement, u)
    schedule = engagement.schedule_dialogues(provenance())
    assert len(schedule) == 4  # at most two dialogues a round among four units
    assert conflicts(schedule, requests(engagement)) == []
    assert sum(engagement.card(c).round is None for c in cards) == 2


def test_scheduling_ignores_cards_not_accepted() -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS)
    sent = uuid4()
    engagement.send_card(sent, u[0], u[1], "Emne", "", "", None, provenance())
    accepted = accepted_card(engagement, u[2], u[3])
    assert set(engagement.schedule_dialogues(provenance())) == {accepted}
    assert engagement.card(sent).round is None


def test_moving_a_dialogue_pins_it_and_refuses_double_booking() -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS, rounds=3)
    first = accepted_card(engagement, u[0], u[1])
    second = accepted_card(engagement, u[0], u[2])
    engagement.move_dialogue(first, 2, provenance())
    assert (engagement.card(first).round, engagement.card(first).pinned) == (2, True)
    assert last_event(engagement).provenance.caused_by == (Cause("dance_card", first),)

    with pytest.raises(InvariantViolated, match="already in a dialogue in round 2") as raised:
        engagement.move_dialogue(second, 2, provenance())
    assert raised.value.state == str(first)
    assert engagement.card(second).round is None

    engagement.move_dialogue(second, 1, provenance())
    # a pinned dialogue keeps its round when the rest is scheduled
    schedule = engagement.schedule_dialogues(provenance())
    assert schedule == {first: 2, second: 1}


@pytest.mark.parametrize("round_", [0, 4])
def test_a_dialogue_moves_only_to_an_existing_round(round_: int) -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS, rounds=3)
    card_id = accepted_card(engagement, u[0], u[1])
    with pytest.raises(InvariantViolated, match="rounds run from 1 to 3"):
        engagement.move_dialogue(card_id, round_, provenance())


def test_only_accepted_cards_are_moved() -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS)
    card_id = uuid4()
    engagement.send_card(card_id, u[0], u[1], "Emne", "", "", None, provenance())
    with pytest.raises(InvariantViolated, match="this one is sent"):
        engagement.move_dialogue(card_id, 1, provenance())


def test_moving_to_none_takes_a_dialogue_off_the_schedule() -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS)
    card_id = accepted_card(engagement, u[0], u[1])
    engagement.move_dialogue(card_id, 3, provenance())
    engagement.move_dialogue(card_id, None, provenance())
    card = engagement.card(card_id)
    assert (card.round, card.pinned) == (None, False)


def test_fewer_rounds_unschedule_the_dialogues_beyond() -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS, rounds=3)
    cards = all_pairs(engagement, u)
    engagement.schedule_dialogues(provenance())
    engagement.move_dialogue(next(c for c in cards if engagement.card(c).round == 3), 3, provenance())
    engagement.set_rounds(2, provenance())
    assert engagement.rounds == 2
    rounds = [engagement.card(c).round for c in cards]
    assert rounds.count(None) == 2
    assert all(r in (1, 2) for r in rounds if r is not None)
    assert not any(engagement.card(c).pinned and engagement.card(c).round is None for c in cards)


@pytest.mark.parametrize("rounds", [0, 11])
def test_rounds_stay_between_one_and_ten(rounds: int) -> None:
    engagement, _ = engagement_in(Phase.DANCE_CARDS)
    with pytest.raises(InvariantViolated, match="between 1 and 10"):
        engagement.set_rounds(rounds, provenance())


def test_rounds_cannot_shrink_below_a_held_dialogue() -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS, rounds=3)
    card_id = accepted_card(engagement, u[0], u[1])
    engagement.move_dialogue(card_id, 3, provenance())
    advance_to(engagement, Phase.DIALOGUES)
    engagement.hold_dialogue(uuid4(), card_id, "", (), (), (), provenance())
    with pytest.raises(InvariantViolated, match="beyond"):
        engagement.set_rounds(2, provenance())
    with pytest.raises(InvariantViolated, match="round is history"):
        engagement.move_dialogue(card_id, 1, provenance())
    assert engagement.schedule_dialogues(provenance()) == {card_id: 3}


# -- dialogues -------------------------------------------------------------------------------


def dialogue_phase() -> tuple[Engagement, tuple[UUID, ...], UUID]:
    engagement, u = engagement_in(Phase.DANCE_CARDS)
    card_id = accepted_card(engagement, u[0], u[1])
    engagement.move_dialogue(card_id, 1, provenance())
    advance_to(engagement, Phase.DIALOGUES)
    engagement.collect_events()
    return engagement, u, card_id


def test_a_dialogue_records_its_agreements_and_proposals_with_their_lineage() -> None:
    engagement, u, card_id = dialogue_phase()
    dialogue_id = uuid4()
    made = agreement("Vi ringer hver mandag")
    needs = agreement("Fælles tavlemøde", needs_acceptance=True)
    proposed = proposal("  Fælles vagtplan  ")
    engagement.hold_dialogue(
        dialogue_id, card_id, " Godt møde ", (" Anna ", "Bo"), (made, needs), (proposed,), provenance()
    )
    dialogue = engagement.dialogue(dialogue_id)
    assert (dialogue.card_id, dialogue.units, dialogue.round) == (card_id, (u[0], u[1]), 1)
    assert (dialogue.notes, dialogue.participants) == ("Godt møde", ("Anna", "Bo"))

    assert engagement.agreement(made.agreement_id).status.value == "in_force"
    assert engagement.agreement(needs.agreement_id).status.value == "awaiting_acceptance"
    assert engagement.agreement(made.agreement_id).units == (u[0], u[1])
    assert engagement.proposal(proposed.proposal_id).text == "Fælles vagtplan"
    assert engagement.proposal(proposed.proposal_id).status.value == "open"

    events = engagement.collect_events()
    assert [type(e).__name__ for e in events] == [
        "DialogueHeld",
        "AgreementMade",
        "AgreementMade",
        "ProposalMade",
    ]
    assert events[0].provenance.caused_by == (Cause("dance_card", card_id),)
    for outcome in events[1:]:
        assert outcome.provenance.caused_by == (Cause("dialogue", dialogue_id),)
        assert outcome.dialogue_id == dialogue_id


@pytest.mark.parametrize("answer", ["sent", "declined", "withdrawn"])
def test_dialogues_follow_accepted_cards_only(answer: str) -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS)
    card_id = uuid4()
    engagement.send_card(card_id, u[0], u[1], "Emne", "", "", None, provenance())
    if answer == "declined":
        engagement.decline_card(card_id, u[1], "nej", provenance())
    if answer == "withdrawn":
        engagement.withdraw_card(card_id, u[0], provenance())
    advance_to(engagement, Phase.DIALOGUES)
    with pytest.raises(InvariantViolated, match=f"this one is {answer}") as raised:
        engagement.hold_dialogue(uuid4(), card_id, "", (), (), (), provenance())
    assert raised.value.state == answer


def test_a_card_has_one_dialogue() -> None:
    engagement, u, card_id = dialogue_phase()
    dialogue_id = uuid4()
    engagement.hold_dialogue(dialogue_id, card_id, "", (), (), (), provenance())
    with pytest.raises(AlreadyExists):
        engagement.hold_dialogue(uuid4(), card_id, "", (), (), (), provenance())
    with pytest.raises(InvariantViolated, match="has been held"):
        engagement.withdraw_card(card_id, u[0], provenance())


def test_a_dialogue_id_is_used_once() -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS)
    first = accepted_card(engagement, u[0], u[1])
    second = accepted_card(engagement, u[2], u[3])
    advance_to(engagement, Phase.DIALOGUES)
    dialogue_id = uuid4()
    engagement.hold_dialogue(dialogue_id, first, "", (), (), (), provenance())
    with pytest.raises(AlreadyExists):
        engagement.hold_dialogue(dialogue_id, second, "", (), (), (), provenance())
    assert engagement.dialogue(dialogue_id).card_id == first


@pytest.mark.parametrize(
    "outcomes",
    [
        pytest.param("same-agreement-twice", id="same-agreement-twice"),
        pytest.param("agreement-and-proposal-share-an-id", id="shared-id"),
        pytest.param("empty-agreement", id="empty-agreement"),
        pytest.param("empty-proposal", id="empty-proposal"),
    ],
)
def test_invalid_outcomes_refuse_the_whole_dialogue(outcomes: str) -> None:
    engagement, _, card_id = dialogue_phase()
    shared = uuid4()
    agreements: tuple[AgreementDraft, ...] = ()
    proposals: tuple[ProposalDraft, ...] = ()
    if outcomes == "same-agreement-twice":
        agreements = (AgreementDraft(shared, "a", False), AgreementDraft(shared, "b", False))
    elif outcomes == "agreement-and-proposal-share-an-id":
        agreements, proposals = (AgreementDraft(shared, "a", False),), (ProposalDraft(shared, "b"),)
    elif outcomes == "empty-agreement":
        agreements = (agreement("  "),)
    else:
        proposals = (proposal(" "),)
    with pytest.raises((AlreadyExists, InvariantViolated)):
        engagement.hold_dialogue(uuid4(), card_id, "", (), agreements, proposals, provenance())
    assert engagement.collect_events() == []
    assert engagement.dialogues == {}
    assert engagement.agreements == {}


def test_outcomes_are_added_to_a_recorded_dialogue_later() -> None:
    engagement, _, card_id = dialogue_phase()
    dialogue_id = uuid4()
    first = agreement("Første")
    engagement.hold_dialogue(dialogue_id, card_id, "", (), (first,), (), provenance())
    advance_to(engagement, Phase.WRAP_UP)
    engagement.collect_events()
    later_agreement, later_proposal = agreement("Anden"), proposal("Nyt forslag")
    engagement.add_outcomes(dialogue_id, (later_agreement,), (later_proposal,), provenance())
    events = engagement.collect_events()
    assert [type(e).__name__ for e in events] == ["AgreementMade", "ProposalMade"]
    assert all(e.provenance.caused_by == (Cause("dialogue", dialogue_id),) for e in events)
    assert list(engagement.agreements) == [first.agreement_id, later_agreement.agreement_id]

    with pytest.raises(AlreadyExists):
        engagement.add_outcomes(dialogue_id, (first,), (), provenance())
    with pytest.raises(NotFound):
        engagement.add_outcomes(uuid4(), (agreement(),), (), provenance())


# -- wrap-up and closing plenary ---------------------------------------------------------------


def test_each_unit_wraps_up_and_may_revise_it() -> None:
    engagement, u = engagement_in(Phase.WRAP_UP)
    engagement.wrap_up(u[0], " Vi tager med hjem ", (" input ", "  ", "viden"), provenance())
    assert engagement.wrap_ups[u[0]].summary == "Vi tager med hjem"
    assert engagement.wrap_ups[u[0]].inputs == ("input", "viden")
    engagement.wrap_up(u[0], "Revideret", (), provenance())
    assert engagement.wrap_ups[u[0]].summary == "Revideret"
    engagement.wrap_up(u[1], "Også os", (), provenance())
    assert set(engagement.wrap_ups) == {u[0], u[1]}


def test_a_wrap_up_needs_a_summary_and_a_participating_unit() -> None:
    engagement, u = engagement_in(Phase.WRAP_UP)
    with pytest.raises(InvariantViolated, match="summary"):
        engagement.wrap_up(u[0], " ", (), provenance())
    with pytest.raises(NotFound):
        engagement.wrap_up(uuid4(), "Opsamling", (), provenance())
    assert engagement.wrap_ups == {}


def test_the_closing_plenary_reports_agreements_and_lists_proposals() -> None:
    engagement, u = engagement_in(Phase.DANCE_CARDS)
    first_card = accepted_card(engagement, u[0], u[1])
    second_card = accepted_card(engagement, u[2], u[3])
    advance_to(engagement, Phase.DIALOGUES)
    a1, a2, p1 = agreement("a1"), agreement("a2", needs_acceptance=True), proposal("p1")
    engagement.hold_dialogue(uuid4(), first_card, "", (), (a1,), (p1,), provenance())
    engagement.hold_dialogue(uuid4(), second_card, "", (), (a2,), (), provenance())
    advance_to(engagement, Phase.CLOSING_PLENARY)
    plenary = engagement.hold_closing_plenary("  Tak for i dag  ", provenance())
    assert plenary.notes == "Tak for i dag"
    assert plenary.reported_agreements == (a1.agreement_id, a2.agreement_id)
    assert plenary.listed_proposals == (p1.proposal_id,)
    assert engagement.plenary == plenary
