"""The charts drawn on the server: well-formed SVG images with a title and a description, the
numbers written on them in the reader's language, meaning carried by more than colour, and
hidden ratings drawn without a number."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from projections.queries import (
    BELOW_THRESHOLD,
    Aggregate,
    AgreementTrack,
    CheckInPoint,
    FollowThrough,
    MatrixCell,
    NetworkEdge,
    RelationHistory,
    RelationMatrix,
    RelationPoint,
    UnitName,
    WeakTie,
)
from services.web import charts
from services.web.charts.svg import name_lines
from services.web.i18n import speaking

SVG = "{http://www.w3.org/2000/svg}"
A, B, C = UUID(int=1), UUID(int=2), UUID(int=3)
NAMES = {A: "Visitationen", B: "Akut <team> & co", C: 'Hjemmeplejen "Nord"'}
KEYS = ("frequent", "timely")


def parsed(markup: str) -> ET.Element:
    root = ET.fromstring(str(markup))  # noqa: S314 - our own markup, parsed to check it is well-formed
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None
    assert title.text
    assert desc is not None
    assert desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return root


def texts(element: ET.Element) -> str:
    return " ".join(t for t in element.itertext() if t.strip())


def shown(unit: UUID, counterpart: UUID, index: str, band: str, band_da: str) -> MatrixCell:
    return MatrixCell(unit, counterpart, True, 4, None, dict.fromkeys(KEYS, index), index, band, band_da)


def matrix() -> RelationMatrix:
    cells = [
        shown(A, B, "2.43", "Weak", "Svag"),
        shown(B, A, "3.90", "Strong", "Stærk"),
        shown(C, A, "3.00", "Moderate", "Middel"),
        MatrixCell(A, C, False, None, BELOW_THRESHOLD, {}, None, None, None),
    ]
    units = [UnitName(u, NAMES[u]) for u in (A, B, C)]
    return RelationMatrix(
        engagement_id=uuid4(),
        title="Udskrivning 2026",
        phase="mapping",
        rating_mode="individual",
        min_group_size=3,
        dimensions=list(KEYS),
        units=units,
        cells=cells,
        rows=[],
        columns=[],
        dimension_means={},
        overall_index=Aggregate("3.11", 3, 1),
        raters_in_shown_cells=12,
        ties=[],
        nodes=units,
        edges=[NetworkEdge(c.unit_id, c.counterpart_id, c.index or "", c.band) for c in cells if c.shown],
    )


def test_the_heat_map_writes_each_index_and_band_and_hides_what_is_below_the_threshold() -> None:
    with speaking("da"):
        root = parsed(charts.heat_map(matrix()))
    words = texts(root)
    assert "2,43" in words
    assert "3,90" in words
    assert "3,00" in words
    assert "Svag" in words
    assert "Stærk" in words
    assert "Middel" in words
    # Names are escaped, not markup.
    assert "Akut <team> & co" in words
    assert 'Hjemmeplejen "Nord"' in words
    hidden = [g for g in root.iter(f"{SVG}g") if g.get("class") == "suppressed-cell"]
    assert len(hidden) == 1
    assert not re.search(r"\d", texts(hidden[0]))  # no number of any kind: neither index nor raters
    assert "\u2013" in texts(hidden[0])
    assert any(r.get("fill") == "url(#heat-map-hatch)" for r in hidden[0].iter(f"{SVG}rect"))
    assert "anonymitetsgrænsen" in words  # the note says why

    with speaking("en"):
        english = texts(parsed(charts.heat_map(matrix(), chart_id="other")))
    assert "2.43" in english
    assert "Weak" in english
    assert "Not shown" in english


def test_the_network_draws_both_directions_of_a_tie_apart_with_arrows_and_a_legend() -> None:
    with speaking("en"):
        root = parsed(charts.relation_network(matrix()))
    edges = [
        line
        for group in root.iter(f"{SVG}g")
        for line in group.findall(f"{SVG}line")
        if line.get("marker-end")  # an edge, with its words as a tooltip; the legend's lines stand alone
    ]
    assert len(edges) == 3  # the hidden relation is not drawn
    there, back = edges[0], edges[1]  # A -> B and B -> A
    assert (there.get("x1"), there.get("y1")) != (back.get("x2"), back.get("y2"))  # offset, not on top
    assert float(back.get("stroke-width") or 0) > float(there.get("stroke-width") or 0)  # width = index
    assert there.get("stroke-dasharray")
    assert not back.get("stroke-dasharray")
    words = texts(root)
    assert "Weak" in words
    assert "Moderate" in words
    assert "Strong" in words
    assert "Relations not shown (anonymity threshold or not rated): 1." in words
    assert len(list(root.iter(f"{SVG}marker"))) == 3


def test_the_card_network_styles_cards_by_status() -> None:
    units = [UnitName(u, NAMES[u]) for u in (A, B, C)]
    cards = [
        charts.CardLine(A, B, "accepted"),
        charts.CardLine(B, C, "sent"),
        charts.CardLine(B, C, "declined"),
        charts.CardLine(C, A, "withdrawn"),
    ]
    with speaking("en"):
        root = parsed(charts.card_network(units, cards))
    words = texts(root)
    for label in ("Accepted", "Sent", "Declined", "Withdrawn"):
        assert label in words
    assert "Dance cards between them: 4." in words
    assert "2" in [t.text for t in root.iter(f"{SVG}text")]  # two cards the same way, one arrow


def history() -> RelationHistory:
    def point(day: date, index: str | None, continuity: str = "same") -> RelationPoint:
        return RelationPoint(
            engagement_id=uuid4(),
            title=f"Forløb {day.year}",
            theme_day=day,
            unit_id=A,
            unit_name=NAMES[A],
            counterpart_id=B,
            counterpart_name=NAMES[B],
            continuity=continuity,
            suppressed=index is None,
            raters=None if index is None else 3,
            raters_label=BELOW_THRESHOLD if index is None else None,
            index=index,
            means={} if index is None else dict.fromkeys(KEYS, index),
            band=None if index is None else "Moderate",
        )

    points = [
        point(date(2024, 3, 12), "2.14", "merged"),
        point(date(2025, 3, 11), None),
        point(date(2026, 3, 10), "3.57"),
    ]
    agreement = AgreementTrack(
        agreement_id=uuid4(),
        engagement_id=points[0].engagement_id,
        text="Tavlemøde hver tirsdag",
        units=[A, B],
        status="in_force",
        made_at=datetime(2024, 3, 12, 12, tzinfo=UTC),
        check_ins=[CheckInPoint("implemented", datetime(2024, 9, 8, tzinfo=UTC))],
    )
    return RelationHistory(A, NAMES[A], B, NAMES[B], points, [agreement])


def test_the_line_chart_follows_a_relation_with_its_agreements_gaps_and_reorganisations() -> None:
    dimensions = [("frequent", "Frequent communication"), ("timely", "Timely communication")]
    with speaking("en"):
        root = parsed(charts.relation_line_chart(history(), dimensions, today=date(2026, 6, 1)))
    words = texts(root)
    assert "2.14" in words
    assert "3.57" in words
    assert "Frequent communication" in words
    assert "Timely communication" in words
    assert "Index" in words
    assert "A1" in words
    assert "In force" in words
    assert "Implemented" in words
    assert "Reorganised" in words  # the merger's break
    assert "\u2013" in words  # the hidden year is a gap with a dash, not a number
    description = root.find(f"{SVG}desc")
    assert description is not None
    assert "fewer raters" in (description.text or "")


def test_the_follow_through_chart_stacks_shares_and_says_when_none_are_old_enough() -> None:
    items = [
        FollowThrough(
            6,
            4,
            {"implemented": 2, "in_progress": 1, "lapsed": 1, "abandoned": 0, "no_check_in": 0},
            {
                "implemented": "0.50",
                "in_progress": "0.25",
                "lapsed": "0.25",
                "abandoned": "0.00",
                "no_check_in": "0.00",
            },
        ),
        FollowThrough(24, 0, {}, {}),
    ]
    with speaking("en"):
        root = parsed(charts.follow_through_chart(items))
    words = texts(root)
    assert "50%" in words
    assert "25%" in words
    assert "No agreements old enough yet" in words
    assert "Implemented" in words
    assert "Lapsed" in words
    patterned = [r for r in root.iter(f"{SVG}rect") if (r.get("fill") or "").startswith("url(#")]
    assert patterned  # parts carry patterns, not only colours
    with speaking("da"):
        assert "50\xa0%" in texts(parsed(charts.follow_through_chart(items)))


def test_the_weakest_ties_chart_labels_each_bar() -> None:
    ties = [
        WeakTie(A, NAMES[A], B, NAMES[B], "2.29", "Weak"),
        WeakTie(B, NAMES[B], A, NAMES[A], "3.00", "Moderate"),
    ]
    with speaking("en"):
        words = texts(parsed(charts.weakest_ties_chart(ties)))
    assert "2.29 Weak" in words
    assert "3.00 Moderate" in words


def test_the_weakest_ties_axis_starts_at_the_scales_lowest_value() -> None:
    ties = [
        WeakTie(A, NAMES[A], B, NAMES[B], "1.00", "Weak"),
        WeakTie(B, NAMES[B], A, NAMES[A], "3.00", "Moderate"),
    ]
    with speaking("en"):
        root = parsed(charts.weakest_ties_chart(ties, 5, scale_min=1))
    ticks = [t.text for t in root.iter(f"{SVG}text") if (t.text or "").isdigit()]
    assert ticks == ["1", "2", "3", "4", "5"]  # no 0: a rating cannot lie below 1
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect") if r.get("height") == "24"]
    # 3.00 lies halfway between 1 and 5; 1.00 is the scale's lowest value, a sliver only.
    assert widths == [3.0, 210.0]


def test_long_unit_names_go_over_two_lines_with_the_full_name_as_tooltip() -> None:
    assert name_lines("Trænings- og Aktivitetscentret", 26) == ["Trænings- og", "Aktivitetscentret"]
    assert name_lines("Rehabiliteringsteamet", 16) == ["Rehabiliterings-", "teamet"]
    assert name_lines("Visitationen", 16) == ["Visitationen"]
