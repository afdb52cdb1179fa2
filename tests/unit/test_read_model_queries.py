"""The read-model queries on hand-built documents: numbers a person can check by hand, and the
anonymity rule — no figure in an answer lets a suppressed rating be recovered."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID, uuid4

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.phases import Phase
from domain.ratings import Rating, RatingMode, relation_view
from projections.documents import (
    AgreementOut,
    CardOut,
    CheckInOut,
    DialogueOut,
    DimensionOut,
    EngagementOut,
    EngagementRef,
    InstrumentOut,
    OrganisationOut,
    OrganisationUnits,
    ProposalDecisionOut,
    ProposalOut,
    RelationOut,
    UnitNameOut,
    UnitOut,
    UnitProgress,
)
from projections.queries import (
    TenantReadModels,
    engagement_dashboard,
    longitudinal,
    portfolio,
    relation_matrix,
    theme_day_board,
)

DIMENSIONS = ("timely", "accurate", "respect")
TWO = Decimal("0.01")


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def uid(n: int) -> UUID:
    return UUID(int=n)


# -- Builders ----------------------------------------------------------------------------------


def unit(
    n: int,
    *names: tuple[str, str],
    status: str = "active",
    pred: Sequence[UUID] = (),
    succ: Sequence[UUID] = (),
) -> UnitOut:
    history = [UnitNameOut(name, at(since)) for name, since in names]
    return UnitOut(uid(n), history[-1].name, status, history, None, list(pred), list(succ))


def organisation(*units: UnitOut, engagements: Sequence[EngagementOut] = ()) -> OrganisationOut:
    refs = [EngagementRef(e.engagement_id, e.title) for e in engagements]
    return OrganisationOut("Søby Kommune", 1, list(units), refs)


def view(a: int, b: int, index: str | None, raters: int = 1, *, suppressed: bool = False) -> RelationOut:
    if suppressed or index is None:
        return RelationOut(uid(a), uid(b), raters, True, {}, None, None)
    means = dict.fromkeys(DIMENSIONS, index)
    return RelationOut(uid(a), uid(b), raters, False, means, index, band_of(Decimal(index)))


def band_of(index: Decimal) -> str:
    return "Weak" if index < 3 else "Strong"


def engagement(
    n: int,
    units: list[int],
    views: list[RelationOut],
    *,
    title: str = "Forløb",
    theme_day: date = date(2025, 3, 11),
    phase: Phase = Phase.DIALOGUES,
    mode: RatingMode = RatingMode.UNIT,
    min_group: int = 3,
    **parts: Any,
) -> EngagementOut:
    instrument = InstrumentOut(uid(999), 1, "RK", 1, 5, [DimensionOut(k, k, k, "?", "?") for k in DIMENSIONS])
    return EngagementOut(
        engagement_id=uid(n),
        version=1,
        phase=phase,
        title=title,
        focus="",
        target_group="",
        work_process="",
        planning_group=[],
        theme_day=theme_day,
        follow_up_meeting=parts.pop("follow_up_meeting", None),
        unit_ids=[uid(u) for u in units],
        instrument=instrument,
        rating_mode=mode,
        min_group_size=min_group,
        rounds=3,
        relations={},
        relation_views=views,
        cards=parts.pop("cards", []),
        dialogues=parts.pop("dialogues", []),
        agreements=parts.pop("agreements", []),
        proposals=parts.pop("proposals", []),
        wrap_ups=[],
        plenary=None,
        unit_progress=parts.pop("unit_progress", []),
    )


def card(n: int, a: int, b: int, status: str, round_: int | None = None, topic: str = "Emne") -> CardOut:
    return CardOut(uid(n), uid(a), uid(b), topic, "", "", None, status, "", round_, False)


def agreement(
    n: int, a: int, b: int, made: str, status: str = "in_force", check_ins: tuple[tuple[str, str], ...] = ()
) -> AgreementOut:
    return AgreementOut(
        agreement_id=uid(n),
        dialogue_id=uid(n + 1000),
        units=[uid(a), uid(b)],
        text=f"Aftale {n}",
        needs_acceptance=False,
        status=status,
        decision=None,
        check_ins=[CheckInOut(uuid4(), s, "", at(day)) for s, day in check_ins],
        made_at=at(made),
    )


def proposal(n: int, status: str, *decisions: ProposalDecisionOut, made: str = "2025-03-11") -> ProposalOut:
    return ProposalOut(
        uid(n), uid(n + 1000), [uid(1), uid(2)], f"Forslag {n}", status, list(decisions), at(made)
    )


def decision(
    outcome: str, day: str, *, due: date | None = None, until: date | None = None
) -> ProposalDecisionOut:
    return ProposalDecisionOut(outcome, "", "Direktionen", until, "Leder" if due else None, due, at(day))


# -- Theme-day board ---------------------------------------------------------------------------


def test_the_board_counts_per_unit_schedules_by_round_and_names_units_as_they_were() -> None:
    org = organisation(
        unit(1, ("Visitationen", "2025-01-06"), ("Visitation og Hjælpemidler", "2025-06-01")),
        unit(2, ("Hjemmeplejen", "2025-01-06")),
        unit(3, ("Akutteamet", "2025-01-06")),
    )
    shown = engagement(
        1,
        [1, 2, 3],
        [],
        cards=[
            card(11, 1, 2, "accepted", 1, "Overlevering"),
            card(12, 3, 1, "accepted", 2, "Akutte ændringer"),
            card(13, 2, 3, "declined"),
        ],
        dialogues=[DialogueOut(uid(21), uid(11), [uid(1), uid(2)], 1, "", [], at("2025-03-11", 11))],
        agreements=[agreement(31, 1, 2, "2025-03-11"), agreement(32, 1, 2, "2025-03-12")],
        proposals=[proposal(41, "open")],
        unit_progress=[
            UnitProgress(uid(1), 2, 2, 1, 1, 2, 0, 1, False),
            UnitProgress(uid(2), 1, 1, 1, 1, 1, 0, 1, True),
            UnitProgress(uid(3), 1, 0, 1, 1, 1, 1, 0, False),
        ],
    )

    board = theme_day_board(shown, org, at("2025-03-11", 12))

    assert [(u.name, u.cards_sent, u.cards_accepted, u.dialogues) for u in board.units] == [
        ("Visitationen", 1, 2, 1),
        ("Hjemmeplejen", 1, 1, 1),
        ("Akutteamet", 1, 1, 0),
    ]
    assert board.units[2].cards_declined == 1
    assert [
        (r.round, [(d.from_name, d.to_name, d.topic, d.held) for d in r.dialogues]) for r in board.schedule
    ] == [
        (1, [("Visitationen", "Hjemmeplejen", "Overlevering", True)]),
        (2, [("Akutteamet", "Visitationen", "Akutte ændringer", False)]),
    ]
    assert (board.agreements, board.proposals) == (2, 1)
    assert [a.text for a in board.latest_agreements] == ["Aftale 32", "Aftale 31"]
    assert [n.name for n in board.latest_agreements[0].units] == ["Visitationen", "Hjemmeplejen"]
    # Today the unit has its new name.
    assert theme_day_board(shown, org).units[0].name == "Visitation og Hjælpemidler"


# -- Relation matrix and anonymity ------------------------------------------------------------


def q(value: Decimal) -> str:
    return str(value.quantize(TWO, rounding=ROUND_HALF_UP))


def mean(values: list[Decimal]) -> str | None:
    return q(sum(values, Decimal(0)) / len(values)) if values else None


def leaves(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from leaves(v, key)
    else:
        yield key, node


def figures(views: list[RelationOut], value: str) -> list[Decimal]:
    return [Decimal(v.index if value == "index" else v.means[value]) for v in views]  # type: ignore[arg-type]


def assert_no_suppressed_value_can_be_recovered(
    shown_engagement: EngagementOut, truth: dict[tuple[UUID, UUID], RelationOut]
) -> None:
    """`truth` holds every relation as it would look without the threshold. Checks that every
    total is the total of the shown cells only, that no rater count below the threshold shows
    anywhere, and that no figure a suppressed cell would have produced (its own values, or any
    aggregate including it) appears anywhere in the serialized answer."""
    answer = relation_matrix(shown_engagement, organisation())
    body = msgspec.to_builtins(answer)
    views = shown_engagement.relation_views
    shown = [v for v in views if not v.suppressed]
    hidden = [truth[(v.unit_id, v.counterpart_id)] for v in views if v.suppressed]
    hidden = [h for h in hidden if not h.suppressed]  # a relation nobody rated has nothing to leak
    keys = ["index", *DIMENSIONS]

    # Every total is over the shown cells only.
    assert answer.overall_index.mean == mean(figures(shown, "index"))
    assert answer.overall_index.cells_left_out == len(views) - len(shown)
    for key in DIMENSIONS:
        assert answer.dimension_means[key].mean == mean(figures(shown, key))
    for row in answer.rows:
        mine = [v for v in shown if v.unit_id == row.unit_id]
        assert row.index.mean == mean(figures(mine, "index"))
        assert row.index.cells_left_out == sum(1 for v in views if v.unit_id == row.unit_id and v.suppressed)
    for column in answer.columns:
        mine = [v for v in shown if v.counterpart_id == column.unit_id]
        assert column.index.mean == mean(figures(mine, "index"))
    assert answer.raters_in_shown_cells == (sum(v.raters for v in shown) if shown else None)

    # No rater count below the threshold anywhere.
    rater_counts = [v for k, v in leaves(body) if "raters" in k and isinstance(v, int)]
    if shown_engagement.rating_mode is RatingMode.INDIVIDUAL:
        assert all(n >= shown_engagement.min_group_size for n in rater_counts)

    # What a suppressed cell would have produced never appears.
    legit = {v.index for v in shown} | {m for v in shown for m in v.means.values()}
    legit |= {a for k, a in leaves(body) if k == "mean"}  # already proved to be shown-only above
    would_be: set[str | None] = set()
    for cell in hidden:
        with_it = [*shown, cell]
        would_be |= {cell.index, *cell.means.values()}
        would_be |= {mean(figures(with_it, key)) for key in keys}
        would_be.add(mean(figures([v for v in with_it if v.unit_id == cell.unit_id], "index")))
        would_be.add(mean(figures([v for v in with_it if v.counterpart_id == cell.counterpart_id], "index")))
    strings = {v for _, v in leaves(body) if isinstance(v, str)}
    assert not (would_be - legit) & strings

    legit_raters = {v.raters for v in shown} | {answer.raters_in_shown_cells}
    total = sum(v.raters for v in shown)
    would_be_raters = {h.raters for h in hidden} | {total + h.raters for h in hidden}
    assert not (would_be_raters - legit_raters) & set(rater_counts)


def test_questions_about_one_engagement_answer_the_same_from_the_organisation_without_its_engagements() -> (
    None
):
    past = [engagement(n, [1, 2], [view(1, 2, "3.00")]) for n in range(100, 140)]
    shown = engagement(
        1, [1, 2], [view(1, 2, "3.50"), view(2, 1, "2.14")], cards=[card(11, 1, 2, "accepted")]
    )
    whole = organisation(
        unit(1, ("A", "2025-01-01"), ("Aa", "2025-06-01")), unit(2, ("B", "2025-01-01")), engagements=past
    )
    stored = msgspec.json.encode(whole)

    units = msgspec.json.decode(stored, type=OrganisationUnits)

    assert (units.name, units.version, units.units) == (whole.name, whole.version, whole.units)
    assert not hasattr(units, "engagements")
    # The full shape is still what is stored and what answers that return the organisation give.
    assert msgspec.json.decode(stored, type=OrganisationOut) == whole
    for moment in (None, at("2025-03-01")):
        assert engagement_dashboard(shown, units, date(2025, 7, 10), moment) == engagement_dashboard(
            shown, whole, date(2025, 7, 10), moment
        )
        assert relation_matrix(shown, units, moment) == relation_matrix(shown, whole, moment)
        assert theme_day_board(shown, units, moment) == theme_day_board(shown, whole, moment)


def test_the_matrix_shows_both_directions_and_aggregates_only_shown_cells() -> None:
    views = [
        view(1, 2, "2.00", raters=4),
        view(1, 3, None, raters=2, suppressed=True),  # two people rated: below the threshold of 3
        view(2, 1, "4.00", raters=3),
        view(3, 1, "3.00", raters=5),
    ]
    shown = engagement(1, [1, 2, 3], views, mode=RatingMode.INDIVIDUAL)
    org = organisation(
        unit(1, ("A", "2025-01-01")), unit(2, ("B", "2025-01-01")), unit(3, ("C", "2025-01-01"))
    )

    matrix = relation_matrix(shown, org)

    hidden_cell = next(c for c in matrix.cells if not c.shown)
    assert (hidden_cell.raters, hidden_cell.raters_label, hidden_cell.index, hidden_cell.means) == (
        None,
        "below threshold",
        None,
        {},
    )
    assert [(r.name, r.index.mean, r.index.cells_shown, r.index.cells_left_out) for r in matrix.rows] == [
        ("A", "2.00", 1, 1),
        ("B", "4.00", 1, 0),
        ("C", "3.00", 1, 0),
    ]
    assert (matrix.overall_index.mean, matrix.overall_index.cells_left_out) == ("3.00", 1)
    assert matrix.raters_in_shown_cells == 12
    assert [(t.unit_a, t.unit_b, t.a_to_b, t.b_to_a) for t in matrix.ties] == [
        (uid(1), uid(2), "2.00", "4.00"),
        (uid(1), uid(3), None, "3.00"),
    ]
    assert [(e.from_unit, e.to_unit, e.index, e.band) for e in matrix.edges] == [
        (uid(1), uid(2), "2.00", "Weak"),
        (uid(2), uid(1), "4.00", "Strong"),
        (uid(3), uid(1), "3.00", "Strong"),
    ]
    truth = {(v.unit_id, v.counterpart_id): v for v in views}
    truth[(uid(1), uid(3))] = view(1, 3, "1.00", raters=2)
    assert_no_suppressed_value_can_be_recovered(shown, truth)


def ratings_for(a: UUID, b: UUID, scores: list[list[int]]) -> list[Rating]:
    return [Rating(uuid4(), a, b, dict(zip(DIMENSIONS, s, strict=True)), uuid4()) for s in scores]


def as_document(v: Any) -> RelationOut:
    means = {k: str(m) for k, m in v.means.items()}
    index = None if v.index is None else str(v.index)
    band = None if v.index is None else band_of(v.index)
    return RelationOut(v.unit_id, v.counterpart_id, v.raters, v.suppressed, means, index, band)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_no_suppressed_rating_can_be_recovered_from_any_random_matrix(data: st.DataObject) -> None:
    size = data.draw(st.integers(2, 4), label="units")
    threshold = data.draw(st.integers(2, 4), label="threshold")
    units = [uid(n) for n in range(1, size + 1)]
    views: list[RelationOut] = []
    truth: dict[tuple[UUID, UUID], RelationOut] = {}
    for a in units:
        for b in units:
            if a == b or not data.draw(st.booleans(), label="mapped"):
                continue
            scores = data.draw(
                st.lists(st.lists(st.integers(1, 5), min_size=3, max_size=3), max_size=threshold + 2),
                label="scores",
            )
            ratings = ratings_for(a, b, scores)
            views.append(as_document(relation_view(a, b, ratings, DIMENSIONS, threshold)))
            truth[(a, b)] = as_document(relation_view(a, b, ratings, DIMENSIONS, 1))
    shown = engagement(1, list(range(1, size + 1)), views, mode=RatingMode.INDIVIDUAL, min_group=threshold)
    assert_no_suppressed_value_can_be_recovered(shown, truth)


# -- Engagement dashboard ----------------------------------------------------------------------


def test_the_dashboard_ranks_weak_ties_and_counts_what_management_must_follow() -> None:
    org = organisation(
        unit(1, ("A", "2025-01-01")), unit(2, ("B", "2025-01-01")), unit(3, ("C", "2025-01-01"))
    )
    shown = engagement(
        1,
        [1, 2, 3],
        [view(1, 2, "3.50"), view(2, 1, "2.14"), view(2, 3, "2.86"), view(3, 2, None, 0, suppressed=True)],
        cards=[
            card(11, 1, 2, "accepted"),
            card(12, 2, 1, "declined"),
            card(13, 2, 1, "accepted"),
            card(14, 3, 2, "sent"),
        ],
        agreements=[
            agreement(31, 1, 2, "2025-03-11", check_ins=(("implemented", "2025-09-01"),)),
            agreement(
                32, 1, 2, "2025-03-11", "accepted", (("in_progress", "2025-09-01"), ("lapsed", "2026-03-01"))
            ),
            agreement(33, 2, 3, "2025-03-11", "rejected"),
            agreement(34, 2, 3, "2025-03-11", "awaiting_acceptance"),
        ],
        proposals=[
            proposal(
                41,
                "under_investigation",
                decision("under_investigation", "2025-04-22", due=date(2025, 6, 30)),
            ),
            proposal(
                42,
                "under_investigation",
                decision("under_investigation", "2025-04-22", due=date(2025, 9, 30)),
            ),
            proposal(43, "deferred", decision("deferred", "2025-04-22", until=date(2025, 10, 1))),
            proposal(44, "approved", decision("deferred", "2025-04-22"), decision("approved", "2025-07-21")),
        ],
    )

    board = engagement_dashboard(shown, org, date(2025, 7, 10))

    assert [(t.unit_name, t.counterpart_name, t.index) for t in board.weakest_ties] == [
        ("B", "A", "2.14"),
        ("B", "C", "2.86"),
        ("A", "B", "3.50"),
    ]
    tie_ab = next(t for t in board.cards_per_tie if [n.name for n in t.units] == ["A", "B"])
    assert tie_ab.by_status == {"sent": 0, "accepted": 2, "declined": 1, "withdrawn": 0}
    assert board.agreements_by_status == {
        "in_force": 1,
        "awaiting_acceptance": 1,
        "accepted": 1,
        "rejected": 1,
    }
    assert board.latest_check_ins == {
        "implemented": 1,
        "in_progress": 0,
        "lapsed": 1,
        "abandoned": 0,
        "no_check_in": 1,
    }
    assert board.proposals_by_status["under_investigation"] == 2
    assert [(i.proposal_id, i.days_overdue) for i in board.overdue_investigations] == [(uid(41), 10)]
    assert [(d.proposal_id, d.deferred_until) for d in board.deferred_proposals] == [
        (uid(43), date(2025, 10, 1))
    ]


# -- Longitudinal ------------------------------------------------------------------------------


def two_years() -> tuple[OrganisationOut, list[EngagementOut]]:
    """Visitationen (1) rated Hjemmeplejen Nord (2) in 2025; Nord and Syd (3) merged into
    Hjemmeplejen (4) in September; in 2026 Visitationen rated Hjemmeplejen."""
    year_one = engagement(
        1,
        [1, 2, 3, 5],
        [view(1, 2, "2.00"), view(1, 3, "3.00"), view(5, 1, "3.00"), view(1, 5, None, 2, suppressed=True)],
        title="2025",
        theme_day=date(2025, 3, 11),
        agreements=[
            agreement(
                31,
                1,
                2,
                "2025-03-11",
                check_ins=(("implemented", "2025-09-15"), ("implemented", "2026-09-14")),
            ),
            agreement(
                32, 5, 1, "2025-03-11", check_ins=(("in_progress", "2025-09-15"), ("lapsed", "2026-03-01"))
            ),
            agreement(33, 2, 3, "2025-03-11", check_ins=(("lapsed", "2025-09-15"),)),
            agreement(34, 1, 5, "2025-03-11", "rejected"),
            agreement(35, 1, 5, "2026-03-10"),  # made at the next theme day: too young for 12 months
        ],
    )
    year_two = engagement(
        2,
        [1, 4, 5],
        [view(1, 4, "4.00"), view(5, 1, "3.50"), view(1, 5, "2.50", 3)],
        title="2026",
        theme_day=date(2026, 3, 10),
        phase=Phase.FOLLOW_THROUGH,
    )
    org = organisation(
        unit(1, ("Visitationen", "2025-01-06"), ("Visitation og Hjælpemidler", "2025-12-01")),
        unit(2, ("Hjemmeplejen Nord", "2025-01-06"), status="merged", succ=[uid(4)]),
        unit(3, ("Hjemmeplejen Syd", "2025-01-06"), status="merged", succ=[uid(4)]),
        unit(4, ("Hjemmeplejen", "2025-09-01"), pred=[uid(2), uid(3)]),
        unit(5, ("Akutteamet", "2025-01-06")),
        engagements=[year_one, year_two],
    )
    return org, [year_two, year_one]


def test_a_relation_continues_through_a_merger_with_its_agreements_and_names_of_the_time() -> None:
    org, engagements = two_years()

    view_ = longitudinal(org, engagements, date(2026, 11, 26))

    to_home_care = next(r for r in view_.relations if (r.unit_id, r.counterpart_id) == (uid(1), uid(4)))
    assert (to_home_care.unit_name, to_home_care.counterpart_name) == (
        "Visitation og Hjælpemidler",
        "Hjemmeplejen",
    )
    assert [
        (p.title, p.unit_name, p.counterpart_name, p.index, p.continuity) for p in to_home_care.points
    ] == [
        ("2025", "Visitationen", "Hjemmeplejen Nord", "2.00", "merged"),
        ("2025", "Visitationen", "Hjemmeplejen Syd", "3.00", "merged"),
        ("2026", "Visitation og Hjælpemidler", "Hjemmeplejen", "4.00", "same"),
    ]
    assert [a.agreement_id for a in to_home_care.agreements] == [uid(31)]
    assert [c.status for c in to_home_care.agreements[0].check_ins] == ["implemented", "implemented"]
    # The suppressed rating stays without numbers in the history too.
    to_acute = next(r for r in view_.relations if (r.unit_id, r.counterpart_id) == (uid(1), uid(5)))
    assert [(p.index, p.raters, p.suppressed) for p in to_acute.points] == [
        (None, None, True),
        ("2.50", 3, False),
    ]
    # Agreement 33 was between Nord and Syd, which are one unit today: no relation of its own.
    assert all(uid(33) not in [a.agreement_id for a in r.agreements] for r in view_.relations)


def test_follow_through_uses_the_latest_check_in_at_each_horizon_and_only_old_enough_agreements() -> None:
    org, engagements = two_years()

    view_ = longitudinal(org, engagements, date(2026, 11, 26))

    at_6, at_12, at_24 = view_.follow_through
    # Three agreements in effect from March 2025 (the rejected one never counts, the 2026 one is too young).
    assert (
        at_6.agreements,
        at_6.counts["implemented"],
        at_6.counts["in_progress"],
        at_6.counts["lapsed"],
    ) == (
        4,
        0,
        0,
        0,
    )
    assert (
        at_6.counts["no_check_in"] == 4
    )  # the 2026 agreement is six months old; the checks came in September
    assert (at_12.agreements, at_12.counts) == (
        3,
        {"implemented": 1, "in_progress": 0, "lapsed": 2, "abandoned": 0, "no_check_in": 0},
    )
    assert at_12.shares["lapsed"] == "0.67"
    assert at_24.agreements == 0


def test_index_change_is_compared_for_relations_with_and_without_agreements() -> None:
    org, engagements = two_years()

    view_ = longitudinal(org, engagements, date(2026, 11, 26))

    # With an agreement in 2025: Visitationen → Hjemmeplejen (mean of 2.00 and 3.00 → 4.00, +1.50)
    # and Akutteamet → Visitationen (3.00 → 3.50, +0.50). Visitationen → Akutteamet was hidden in
    # 2025 and its only agreement then was rejected: no change can be shown.
    assert (view_.with_agreements.relations, view_.with_agreements.mean_change) == (2, "1.00")
    assert (view_.without_agreements.relations, view_.without_agreements.mean_change) == (0, None)


# -- Portfolio ---------------------------------------------------------------------------------


def test_the_portfolio_lists_phases_dates_to_come_overdue_investigations_and_quiet_agreements() -> None:
    today = date(2026, 11, 26)
    soeby = TenantReadModels(
        uid(100),
        "Søby",
        [
            engagement(
                1,
                [1, 2],
                [],
                phase=Phase.FOLLOW_THROUGH,
                theme_day=date(2025, 3, 11),
                agreements=[
                    agreement(31, 1, 2, "2025-03-11", check_ins=(("in_progress", "2026-05-01"),)),  # 209 days
                    agreement(32, 1, 2, "2025-03-11", check_ins=(("in_progress", "2026-06-01"),)),  # 178 days
                    agreement(33, 1, 2, "2025-03-11", "rejected"),
                ],
                proposals=[
                    proposal(
                        41,
                        "under_investigation",
                        decision("under_investigation", "2025-04-22", due=date(2026, 6, 30)),
                    )
                ],
            ),
            engagement(
                2,
                [1, 2],
                [],
                phase=Phase.PREPARED,
                theme_day=date(2026, 12, 8),
                follow_up_meeting=date(2027, 1, 19),
            ),
        ],
    )
    vejby = TenantReadModels(
        uid(200), "Vejby", [engagement(3, [1, 2], [], phase=Phase.PREPARED, theme_day=today)]
    )

    answer = portfolio([soeby, vejby], today)

    assert answer.engagements_by_phase["prepared"] == 2
    assert answer.engagements_by_phase["follow_through"] == 1
    assert [(u.tenant_name, u.kind, u.on) for u in answer.upcoming] == [
        ("Vejby", "theme_day", today),
        ("Søby", "theme_day", date(2026, 12, 8)),
        ("Søby", "follow_up_meeting", date(2027, 1, 19)),
    ]
    assert [p.proposal_id for p in answer.overdue_proposals] == [uid(41)]
    assert [a.agreement_id for a in answer.quiet_agreements] == [uid(31)]
