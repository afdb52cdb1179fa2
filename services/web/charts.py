"""Charts drawn on the server as SVG: no script, readable without colour.

Each builder is a pure function of a read-model answer (`projections/answers.py`) or plain
values, and returns markup ready for a template. Every chart is an image with a title and a
description (`role="img"`, `aria-labelledby`); colours come from colour-blind-safe palettes
(Paul Tol's) and never carry meaning alone: values, labels, dash patterns, marker shapes and
hatching say the same. Text is escaped once, where it enters the markup. Pages put a table of
the same numbers next to each chart.

Hidden ratings (below the anonymity threshold, or not rated) arrive without numbers and are
drawn as hatched cells with a dash or gaps; nothing here can bring a number back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

from domain.agreements import CheckInStatus
from domain.cards import CardStatus
from projections.answers import (
    BELOW_THRESHOLD,
    CardsOnTie,
    FollowThrough,
    RelationHistory,
    RelationMatrix,
    RelationPoint,
    UnitName,
    WeakTie,
)
from projections.queries import NO_CHECK_IN
from services.web.i18n import as_date, as_number, as_percent, current_language
from services.web.i18n import gettext as _
from services.web.labels import agreement_status_label, card_status_label, check_in_label

SVG_NS = "http://www.w3.org/2000/svg"
INK = "#1d2433"
MUTED = "#4a5568"
LINE = "#c9d1dc"
PAPER = "#ffffff"
DASH = "\u2013"  # an en dash: a value not shown
NAME_LENGTH = 26
LANE = 46  # the height of one agreement's row on the timeline

# Weakest to strongest; spread over however many bands the pinned instrument has.
BAND_FILLS = ("#EE8866", "#FFAABB", "#EEDD88", "#99DDFF", "#77AADD")  # light: ink text on them
BAND_STROKES = ("#CC3311", "#AA6600", "#767676", "#009988", "#0077BB")  # lines on white, >= 3:1
BAND_DASHES = ("6 4", "2 3", "9 3 2 3", "12 3", "")  # the strongest band is drawn solid
DIMENSION_COLOURS = ("#332288", "#117733", "#CC6677", "#999933", "#882255", "#009988", "#AA4499")
DIMENSION_DASHES = ("6 3", "2 3", "9 3 2 3", "4 2", "12 3", "1 2", "8 2 2 2")
MARKERS = ("square", "triangle", "diamond", "cross", "down", "plus", "star")

CARD_STYLES: dict[str, tuple[str, str]] = {
    CardStatus.ACCEPTED.value: ("#0077BB", ""),
    CardStatus.SENT.value: ("#AA6600", "8 4"),
    CardStatus.DECLINED.value: ("#767676", "2 4"),
    CardStatus.WITHDRAWN.value: ("#767676", "9 3 2 3"),
}
FOLLOW_THROUGH_FILLS: dict[str, tuple[str, str | None]] = {
    CheckInStatus.IMPLEMENTED.value: ("#44BB99", None),
    CheckInStatus.IN_PROGRESS.value: ("#77AADD", "lines"),
    CheckInStatus.LAPSED.value: ("#EE8866", "dots"),
    CheckInStatus.ABANDONED.value: ("#FFAABB", "cross"),
    NO_CHECK_IN: ("#DDDDDD", "hatch"),
}


# -- Words -------------------------------------------------------------------------------------


def band_label(band: str | None, danish: str | None = None) -> str:
    """A strength band in the user's language: the instrument's own Danish label when it has
    one, the shipped instrument's words otherwise, else the label as the instrument gives it."""
    if band is None:
        return ""
    if current_language() == "da" and danish:
        return danish
    return {"Weak": _("Weak"), "Moderate": _("Moderate"), "Strong": _("Strong")}.get(band, band)


def continuity_label(continuity: str) -> str:
    return {
        "same": _("Same units"),
        "merged": _("Through a merger"),
        "split": _("Through a split"),
    }.get(continuity, continuity)


def hidden_label(raters_label: str | None) -> str:
    """Why a relation shows no numbers."""
    if raters_label == BELOW_THRESHOLD:
        return _("Not shown: fewer raters than the anonymity threshold")
    return _("Not rated yet")


def figure(value: str | None, digits: int = 2) -> str:
    """A figure from a read model ("2.43") in the user's locale; an en dash for none."""
    return DASH if value is None or value == "" else as_number(Decimal(value), digits)


def signed(value: str | None) -> str:
    """A change with its sign, plus or minus (a real minus sign)."""
    if value is None:
        return DASH
    number = Decimal(value)
    shown = as_number(abs(number), 2)
    return f"+{shown}" if number > 0 else (f"\u2212{shown}" if number < 0 else shown)


def ranked_bands(pairs: Iterable[tuple[str | None, str | None]]) -> list[str]:
    """The bands seen, weakest first: ordered by the lowest index seen in each, as the
    instrument's bands rise with the index."""
    lowest: dict[str, Decimal] = {}
    for band, index in pairs:
        if band is None or not index:
            continue
        value = Decimal(index)
        lowest[band] = min(value, lowest.get(band, value))
    return sorted(lowest, key=lambda b: lowest[b])


def _spread(palette: Sequence[str], rank: int, count: int) -> str:
    if count <= 1:
        return palette[len(palette) // 2]
    step = (len(palette) - 1) / (count - 1)
    return palette[min(len(palette) - 1, round(rank * step))]


# -- Markup ------------------------------------------------------------------------------------


def _attributes(attributes: Mapping[str, object]) -> str:
    parts = []
    for key, value in attributes.items():
        if value is None or value == "":
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(f" {name}={quoteattr(_plain(value))}")
    return "".join(parts)


def _plain(value: object) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _tag(name: str, content: str = "", /, **attributes: object) -> str:
    if content:
        return f"<{name}{_attributes(attributes)}>{content}</{name}>"
    return f"<{name}{_attributes(attributes)}/>"


def _text(x: float, y: float, words: str, /, **attributes: object) -> str:
    return _tag("text", escape(words), x=x, y=y, **attributes)


def _tooltip(words: str) -> str:
    return f"<title>{escape(words)}</title>"


def _short(name: str, length: int = NAME_LENGTH) -> str:
    return name if len(name) <= length else name[: length - 1].rstrip() + "\u2026"


def _name_lines(name: str, length: int) -> list[str]:
    """A unit's name on at most two lines of about `length` characters, broken between words
    (the full name is the tooltip)."""
    lines: list[str] = []
    for word in name.split():
        if lines and len(lines[-1]) + 1 + len(word) <= length:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    if len(lines) == 1 and len(lines[0]) > length + 4:
        lines = _hyphenated(lines[0], length)
    return [_short(line, length + 4) for line in lines] or [""]


def _hyphenated(word: str, length: int) -> list[str]:
    """A word too long for one line over two, broken with a hyphen: after a joining "s" when
    there is one (Danish compounds: "Rehabiliterings-teamet"), else at `length`."""
    joint = word.rfind("s", 6, length)
    cut = joint + 1 if joint > 0 else length
    return [word[:cut] + "-", word[cut:]]


def _name_text(x: float, y: float, name: str, length: int, /, **attributes: object) -> str:
    """A unit's name as a chart label: on two lines when it is long (`_name_lines`), centred on
    `y`, with the full name as its tooltip."""
    lines = _name_lines(name, length)
    step = 15
    top = y - step * (len(lines) - 1) / 2
    spans = "".join(
        _tag("tspan", escape(line), x=round(x, 1), y=round(top + step * at, 1))
        for at, line in enumerate(lines)
    )
    return _tag("text", _tooltip(name) + spans, x=round(x, 1), y=round(top, 1), **attributes)


def _svg(chart_id: str, width: float, height: float, title: str, description: str, body: str) -> Markup:
    head = (
        f'<svg xmlns="{SVG_NS}"'
        + _attributes(
            {
                "class": "chart",
                "id": chart_id,
                "role": "img",
                "aria_labelledby": f"{chart_id}-title {chart_id}-desc",
                "viewBox": f"0 0 {_plain(width)} {_plain(height)}",
                "width": width,
                "height": height,
                "font_size": 14,
            }
        )
        + ">"
    )
    labels = _tag("title", escape(title), id=f"{chart_id}-title") + _tag(
        "desc", escape(description), id=f"{chart_id}-desc"
    )
    return Markup(head + labels + body + "</svg>")  # noqa: S704 - every text part is escaped above


def _patterns(chart_id: str) -> str:
    """Fills that carry meaning without colour: hatching, lines, dots, cross-hatching."""

    def pattern(name: str, inner: str, size: int = 8) -> str:
        return _tag(
            "pattern",
            inner,
            id=f"{chart_id}-{name}",
            width=size,
            height=size,
            patternUnits="userSpaceOnUse",
            patternTransform="rotate(45)" if name in ("hatch", "lines") else None,
        )

    return (
        pattern(
            "hatch",
            _tag("rect", width=8, height=8, fill="#f3f5f8")
            + _tag("line", x1=0, y1=0, x2=0, y2=8, stroke="#6b7685", stroke_width=2),
        )
        + pattern(
            "lines", _tag("line", x1=0, y1=0, x2=0, y2=8, stroke=INK, stroke_width=1, stroke_opacity=0.35)
        )
        + pattern("dots", _tag("circle", cx=4, cy=4, r=1.4, fill=INK, fill_opacity=0.45))
        + pattern(
            "cross",
            _tag("path", d="M0,0 L8,8 M8,0 L0,8", stroke=INK, stroke_width=1, stroke_opacity=0.4),
        )
    )


def _marker_shape(shape: str, x: float, y: float, colour: str, size: float = 5) -> str:
    s = size
    if shape == "circle":
        return _tag("circle", cx=x, cy=y, r=s, fill=colour, stroke=PAPER, stroke_width=1.5)
    if shape == "square":
        return _tag("rect", x=x - s, y=y - s, width=2 * s, height=2 * s, fill=colour)
    points = {
        "triangle": [(0, -s * 1.2), (s * 1.1, s * 0.8), (-s * 1.1, s * 0.8)],
        "down": [(0, s * 1.2), (s * 1.1, -s * 0.8), (-s * 1.1, -s * 0.8)],
        "diamond": [(0, -s * 1.3), (s * 1.1, 0), (0, s * 1.3), (-s * 1.1, 0)],
        "star": [
            (s * 1.3 * math.cos(math.radians(a)), s * 1.3 * math.sin(math.radians(a)))
            if i % 2 == 0
            else (s * 0.55 * math.cos(math.radians(a)), s * 0.55 * math.sin(math.radians(a)))
            for i, a in enumerate(range(-90, 270, 36))
        ],
    }
    if shape in points:
        corners = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in points[shape])
        return _tag("polygon", points=corners, fill=colour)
    if shape == "cross":
        d = f"M{x - s:.1f},{y - s:.1f} L{x + s:.1f},{y + s:.1f} M{x + s:.1f},{y - s:.1f} L{x - s:.1f},{y + s:.1f}"
    else:  # plus
        d = f"M{x - s:.1f},{y:.1f} L{x + s:.1f},{y:.1f} M{x:.1f},{y - s:.1f} L{x:.1f},{y + s:.1f}"
    return _tag("path", d=d, stroke=colour, stroke_width=2.5, fill="none")


def _halo() -> dict[str, object]:
    """A white outline under text drawn over lines or patterns, so it stays readable."""
    return {"stroke": PAPER, "stroke_width": 4, "paint_order": "stroke", "stroke_linejoin": "round"}


# -- Heat map ----------------------------------------------------------------------------------


def heat_map(matrix: RelationMatrix, *, chart_id: str = "heat-map") -> Markup:
    """The relation matrix as a heat map: rows rate columns; each cell the index and its
    strength band; hidden cells hatched with a dash and a note; unmapped cells empty."""
    units = matrix.units
    count = len(units)
    cell, left, top = 78, 230, 190
    cells = {(c.unit_id, c.counterpart_id): c for c in matrix.cells}
    danish = {c.band: c.band_da for c in matrix.cells if c.band and c.band_da}
    bands = ranked_bands((c.band, c.index) for c in matrix.cells if c.shown)
    body = [_tag("defs", _patterns(chart_id))]
    body.append(_text(8, 20, _("Rows: the unit that rates"), font_size=13, fill=MUTED))
    body.append(_text(8, 38, _("Columns: the unit it rates"), font_size=13, fill=MUTED))
    for position, unit in enumerate(units):
        # Long names go over two lines (the full name is the tooltip and in the table).
        x = left + position * cell + cell / 2
        body.append(
            _name_text(
                x - 4, top - 10, unit.name, NAME_LENGTH, transform=f"rotate(-45 {_plain(x - 4)} {top - 10})"
            )
        )
        y = top + position * cell + cell / 2
        body.append(_name_text(left - 10, y + 5, unit.name, NAME_LENGTH, text_anchor="end"))
    hidden_notes: set[str] = set()
    for row, rater in enumerate(units):
        for column, counterpart in enumerate(units):
            x, y = left + column * cell, top + row * cell
            found = cells.get((rater.unit_id, counterpart.unit_id))
            frame = {"x": x, "y": y, "width": cell, "height": cell, "stroke": PAPER, "stroke_width": 2}
            if rater.unit_id == counterpart.unit_id:
                body.append(_tag("rect", fill="#e6e9ee", **frame))
                continue
            if found is None:
                body.append(_tag("rect", fill=PAPER, **{**frame, "stroke": LINE, "stroke_width": 1}))
                continue
            about = _("%(unit)s about %(counterpart)s", unit=rater.name, counterpart=counterpart.name)
            if not found.shown or found.index is None:
                note = hidden_label(found.raters_label)
                hidden_notes.add(note)
                body.append(
                    _tag(
                        "g",
                        _tooltip(f"{about}: {note}")
                        + _tag("rect", fill=f"url(#{chart_id}-hatch)", **frame)
                        + _text(
                            x + cell / 2,
                            y + cell / 2 + 8,
                            DASH,
                            text_anchor="middle",
                            font_size=24,
                            font_weight=700,
                            **_halo(),
                        ),
                        class_="suppressed-cell",
                    )
                )
                continue
            rank = bands.index(found.band) if found.band in bands else 0
            label = band_label(found.band, found.band_da)
            body.append(
                _tag(
                    "g",
                    _tooltip(f"{about}: {figure(found.index)} ({label})")
                    + _tag("rect", fill=_spread(BAND_FILLS, rank, len(bands)), **frame)
                    + _text(
                        x + cell / 2,
                        y + cell / 2 + 2,
                        figure(found.index),
                        text_anchor="middle",
                        font_size=17,
                        font_weight=700,
                    )
                    + _text(x + cell / 2, y + cell / 2 + 20, label, text_anchor="middle", font_size=12),
                )
            )
    legend_y = top + count * cell + 30
    legend_x = 8.0
    for rank, band in enumerate(bands):
        label = band_label(band, danish.get(band))
        body.append(
            _tag(
                "rect",
                x=legend_x,
                y=legend_y - 14,
                width=18,
                height=18,
                fill=_spread(BAND_FILLS, rank, len(bands)),
                stroke=MUTED,
            )
        )
        body.append(_text(legend_x + 24, legend_y, label))
        legend_x += 40 + 8 * len(label)
    lines = [*sorted(hidden_notes), _("Empty: not mapped"), _("Grey: the unit itself")]
    for offset, note in enumerate(lines):
        y = legend_y + 26 * (offset + 1)
        if offset < len(hidden_notes):
            body.append(
                _tag("rect", x=8, y=y - 14, width=18, height=18, fill=f"url(#{chart_id}-hatch)", stroke=MUTED)
            )
            body.append(_text(34, y, f"{DASH} {note}"))
        else:
            body.append(_text(8, y, note, fill=MUTED))
    width = max(left + count * cell + 170, 560)
    height = legend_y + 26 * len(lines) + 20
    title = _("Relation matrix: %(title)s", title=matrix.title)
    return _svg(chart_id, width, height, title, _matrix_description(matrix), "".join(body))


def _matrix_description(matrix: RelationMatrix) -> str:
    overall = matrix.overall_index
    text = _(
        "Index of each unit's relations (rows) towards the units it rates (columns). "
        "%(shown)s relations shown, %(hidden)s not shown. Overall index %(index)s.",
        shown=overall.cells_shown,
        hidden=overall.cells_left_out,
        index=figure(overall.mean),
    )
    weakest = sorted((c for c in matrix.cells if c.shown and c.index), key=lambda c: Decimal(c.index or "0"))
    if weakest:
        names = {u.unit_id: u.name for u in matrix.units}
        lowest = weakest[0]
        text += " " + _(
            "Weakest: %(unit)s about %(counterpart)s, %(index)s.",
            unit=names.get(lowest.unit_id, ""),
            counterpart=names.get(lowest.counterpart_id, ""),
            index=figure(lowest.index),
        )
    return text


# -- Networks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrow:
    """One directed edge of a network: its style key, width and words."""

    from_unit: UUID
    to_unit: UUID
    style: str
    width: float
    words: str
    label: str = ""


@dataclass(frozen=True)
class EdgeStyle:
    colour: str
    dash: str
    label: str


def _node_positions(count: int, cx: float, cy: float, radius: float) -> list[tuple[float, float, float]]:
    """(x, y, angle) of each node, clockwise from the top."""
    positions = []
    for position in range(count):
        angle = -math.pi / 2 + 2 * math.pi * position / max(count, 1)
        positions.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle), angle))
    return positions


def _label(x: float, y: float, lines: Sequence[str], anchor: str, size: float, sin: float) -> str:
    """A node's name, one tspan a line; a name above its node grows upwards."""
    step = size * 1.15
    top = y - step * (len(lines) - 1) if sin < -0.3 else (y if sin > 0.3 else y - step * (len(lines) - 1) / 2)
    spans = "".join(
        _tag("tspan", escape(line), x=round(x, 1), y=round(top + step * at, 1))
        for at, line in enumerate(lines)
    )
    return _tag("text", spans, x=round(x, 1), y=round(top, 1), text_anchor=anchor, font_size=size, **_halo())


def _network(
    chart_id: str,
    nodes: Sequence[UnitName],
    arrows: Sequence[Arrow],
    styles: Mapping[str, EdgeStyle],
    title: str,
    description: str,
    notes: Sequence[str],
    label_size: float = 15,
) -> Markup:
    # Larger names (a projector) are broken over two lines and drawn at their size: the chart
    # is only as wide as its names need.
    large = label_size > 15
    radius, node = (175.0 if large else 205.0), 22.0
    line_length = 16 if large else 30
    if large:
        widest = max((len(line) for n in nodes for line in _name_lines(n.name, line_length)), default=8)
        width = 2 * (radius + node + 16 + 0.6 * label_size * widest)
        cx, cy = width / 2, radius + 3 * label_size + 20
    else:
        width = 960.0
        cx, cy = 480.0, 290.0
    places = _node_positions(len(nodes), cx, cy, radius)
    where = {n.unit_id: (x, y) for n, (x, y, _a) in zip(nodes, places, strict=True)}
    markers = "".join(
        _tag(
            "marker",
            _tag("path", d="M0,0 L12,6 L0,12 z", fill=style.colour),
            id=f"{chart_id}-arrow-{key}",
            viewBox="0 0 12 12",
            refX=0,
            refY=6,
            markerWidth=12,
            markerHeight=12,
            markerUnits="userSpaceOnUse",
            orient="auto",
        )
        for key, style in styles.items()
    )
    body = [_tag("defs", markers)]
    edges, labels = [], []
    for arrow in arrows:
        if arrow.from_unit not in where or arrow.to_unit not in where or arrow.from_unit == arrow.to_unit:
            continue
        (ax, ay), (bx, by) = where[arrow.from_unit], where[arrow.to_unit]
        length = math.hypot(bx - ax, by - ay) or 1.0
        ux, uy = (bx - ax) / length, (by - ay) / length
        # Both directions of a tie are drawn side by side: each to the right of its own travel.
        ox, oy = -uy * 7, ux * 7
        start = (ax + ux * (node + 3) + ox, ay + uy * (node + 3) + oy)
        end = (bx - ux * (node + 15) + ox, by - uy * (node + 15) + oy)
        style = styles[arrow.style]
        edges.append(
            _tag(
                "g",
                _tooltip(arrow.words)
                + _tag(
                    "line",
                    x1=round(start[0], 1),
                    y1=round(start[1], 1),
                    x2=round(end[0], 1),
                    y2=round(end[1], 1),
                    stroke=style.colour,
                    stroke_width=round(arrow.width, 1),
                    stroke_dasharray=style.dash,
                    marker_end=f"url(#{chart_id}-arrow-{arrow.style})",
                ),
            )
        )
        if arrow.label:
            lx, ly = ax + (bx - ax) * 0.3 + ox * 2.2, ay + (by - ay) * 0.3 + oy * 2.2
            labels.append(
                _text(
                    round(lx, 1),
                    round(ly + 4, 1),
                    arrow.label,
                    text_anchor="middle",
                    font_size=12,
                    font_weight=700,
                    **_halo(),
                )
            )
    body.extend(edges)
    body.extend(labels)
    # Each node is named beside it; it carries no number of its own.
    for unit, (x, y, angle) in zip(nodes, places, strict=True):
        cos, sin = math.cos(angle), math.sin(angle)
        lx, ly = x + (node + 10) * cos, y + (node + 10) * sin + label_size / 3
        anchor = "start" if cos > 0.3 else ("end" if cos < -0.3 else "middle")
        ly += label_size * 0.7 if sin > 0.3 else (-label_size * 0.4 if sin < -0.3 else 0)
        body.append(
            _tag(
                "g",
                _tooltip(unit.name)
                + _tag(
                    "circle",
                    cx=round(x, 1),
                    cy=round(y, 1),
                    r=node,
                    fill="#e6eef7",
                    stroke=INK,
                    stroke_width=2,
                )
                + _label(
                    lx,
                    ly,
                    _name_lines(unit.name, line_length) if large else [_short(unit.name, 30)],
                    anchor,
                    label_size,
                    sin,
                ),
            )
        )
    if not nodes:
        body.append(_text(cx, cy, _("No units yet."), text_anchor="middle", fill=MUTED))
    legend_y = cy + radius + 50 + 2 * label_size
    legend_size = max(13.0, label_size * 0.8)
    x = 10.0
    for key, style in styles.items():
        body.append(
            _tag(
                "line",
                x1=x,
                y1=legend_y - 5,
                x2=x + 44,
                y2=legend_y - 5,
                stroke=style.colour,
                stroke_width=4,
                stroke_dasharray=style.dash,
                marker_end=f"url(#{chart_id}-arrow-{key})",
            )
        )
        body.append(_text(x + 64, legend_y, style.label, font_size=legend_size))
        x += 90 + legend_size * 0.6 * len(style.label)
        if x > width - 160:
            x, legend_y = 10.0, legend_y + legend_size * 2
    line = legend_size * 2
    for offset, note in enumerate(notes, start=1):
        body.append(_text(10, legend_y + line * offset, note, fill=MUTED, font_size=legend_size))
    height = legend_y + line * len(notes) + 20
    return _svg(chart_id, width, height, title, description, "".join(body))


def relation_network(matrix: RelationMatrix, *, chart_id: str = "network") -> Markup:
    """The shown relations as a network: units on a circle, an arrow from the unit that rates
    to the unit it rates, coloured and dashed by strength band, as wide as the index."""
    bands = ranked_bands((e.band, e.index) for e in matrix.edges)
    danish = {c.band: c.band_da for c in matrix.cells if c.band and c.band_da}
    styles = {
        str(rank): EdgeStyle(
            _spread(BAND_STROKES, rank, len(bands)),
            _spread(BAND_DASHES, rank, len(bands)),
            band_label(band, danish.get(band)),
        )
        for rank, band in enumerate(bands)
    }
    names = {n.unit_id: n.name for n in matrix.nodes}
    small = len(matrix.edges) <= 16
    arrows = [
        Arrow(
            e.from_unit,
            e.to_unit,
            str(bands.index(e.band)) if e.band in bands else "0",
            1.0 + 1.5 * max(float(Decimal(e.index)) - 1.0, 0.0),
            _(
                "%(unit)s about %(counterpart)s: %(index)s (%(band)s)",
                unit=names.get(e.from_unit, ""),
                counterpart=names.get(e.to_unit, ""),
                index=figure(e.index),
                band=band_label(e.band, danish.get(e.band or "")),
            ),
            figure(e.index) if small else "",
        )
        for e in matrix.edges
        if e.index
    ]
    left_out = matrix.overall_index.cells_left_out
    notes = [_("Arrow: from the unit that rates to the unit it rates; wider is a higher index.")]
    if left_out:
        notes.append(_("Relations not shown (anonymity threshold or not rated): %(count)s.", count=left_out))
    description = _(
        "Units: %(units)s. Rated relations between them: %(edges)s, drawn by strength band.",
        units=len(matrix.nodes),
        edges=len(arrows),
    )
    if styles:
        counts = {k: sum(1 for a in arrows if a.style == k) for k in styles}
        description += " " + "; ".join(f"{styles[k].label}: {counts[k]}" for k in styles) + "."
    return _network(
        chart_id,
        matrix.nodes,
        arrows,
        styles,
        _("Network of relations: %(title)s", title=matrix.title),
        description,
        notes,
    )


@dataclass(frozen=True)
class CardLine:
    """A dance card as the board draws it: from, to, status."""

    from_unit: UUID
    to_unit: UUID
    status: str


_CARD_ORDER = (
    CardStatus.ACCEPTED.value,
    CardStatus.SENT.value,
    CardStatus.DECLINED.value,
    CardStatus.WITHDRAWN.value,
)


def card_network(
    nodes: Sequence[UnitName],
    cards: Sequence[CardLine],
    *,
    chart_id: str = "card-network",
    label_size: float = 15,
) -> Markup:
    """Dance cards flying between units: an arrow from the sending unit to the one invited,
    styled by the card's status (accepted solid, sent dashed, declined dotted, withdrawn
    dash-dotted); several cards the same way are drawn once, with their number."""
    styles = {s: EdgeStyle(*CARD_STYLES[s], card_status_label(s)) for s in _CARD_ORDER}
    names = {n.unit_id: n.name for n in nodes}
    grouped: dict[tuple[UUID, UUID], list[str]] = {}
    for card in cards:
        grouped.setdefault((card.from_unit, card.to_unit), []).append(card.status)
    arrows = []
    for (sender, receiver), statuses in grouped.items():
        shown = min(statuses, key=lambda s: _CARD_ORDER.index(s) if s in _CARD_ORDER else len(_CARD_ORDER))
        words = _(
            "%(sender)s invited %(receiver)s: %(statuses)s",
            sender=names.get(sender, ""),
            receiver=names.get(receiver, ""),
            statuses=", ".join(card_status_label(s) for s in statuses),
        )
        arrows.append(
            Arrow(
                sender,
                receiver,
                shown if shown in styles else CardStatus.SENT.value,
                2.5 + len(statuses),
                words,
                str(len(statuses)) if len(statuses) > 1 else "",
            )
        )
    counted = {s: sum(1 for c in cards if c.status == s) for s in styles}
    description = _(
        "Units: %(units)s. Dance cards between them: %(cards)s.", cards=len(cards), units=len(nodes)
    )
    if cards:
        description += " " + "; ".join(f"{styles[s].label}: {counted[s]}" for s in styles) + "."
    notes = [_("Arrow: from the unit that sends the card to the unit it invites.")]
    title = _("Dance cards between units")
    return _network(chart_id, nodes, arrows, styles, title, description, notes, label_size)


# -- Weakest ties ------------------------------------------------------------------------------


def weakest_ties_chart(
    ties: Sequence[WeakTie], scale_max: int = 5, *, scale_min: int = 1, chart_id: str = "weakest-ties"
) -> Markup:
    """The weakest shown relations as horizontal bars, each labelled with its units, index and
    band. The axis runs over the rating scale, from its lowest value, not from zero."""
    bands = ranked_bands((t.band, t.index) for t in ties)
    left, bar_width, row = 360, 420, 34
    span = max(scale_max - scale_min, 1)

    def x_of(value: float) -> float:
        return left + bar_width * (min(max(value, scale_min), scale_max) - scale_min) / span

    body = []
    for tick in range(scale_min, scale_max + 1):
        x = x_of(tick)
        body.append(_tag("line", x1=round(x, 1), y1=10, x2=round(x, 1), y2=20 + row * len(ties), stroke=LINE))
        body.append(
            _text(
                round(x, 1), 34 + row * len(ties), str(tick), text_anchor="middle", fill=MUTED, font_size=12
            )
        )
    for position, tie in enumerate(ties):
        y = 16 + position * row
        value = float(Decimal(tie.index))
        rank = bands.index(tie.band) if tie.band in bands else 0
        label = band_label(tie.band)
        # A relation at the scale's lowest value still shows a sliver of a bar.
        end = max(x_of(value), left + 3)
        body.append(
            _text(
                left - 10,
                y + 17,
                _short(f"{tie.unit_name} \u2192 {tie.counterpart_name}", 44),
                text_anchor="end",
                font_size=13,
            )
        )
        body.append(
            _tag(
                "rect",
                x=left,
                y=y,
                width=round(end - left, 1),
                height=24,
                fill=_spread(BAND_FILLS, rank, len(bands)),
                stroke=INK,
                stroke_width=1,
            )
        )
        body.append(_text(round(end + 8, 1), y + 17, f"{figure(tie.index)} {label}", font_size=13))
    height = 50 + row * len(ties)
    description = "; ".join(
        f"{t.unit_name} \u2192 {t.counterpart_name}: {figure(t.index)} ({band_label(t.band)})" for t in ties
    ) or _("No rated relations yet.")
    return _svg(chart_id, 920, height, _("The weakest relations"), description, "".join(body))


# -- Line chart across the years ---------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    key: str
    name: str
    colour: str
    dash: str
    marker: str
    width: float


def _day(moment: date | datetime) -> date:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).date()
    return moment


def _value_of(point: RelationPoint, key: str) -> str | None:
    return point.index if key == "index" else point.means.get(key)


def _mean_of(values: Sequence[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def relation_line_chart(
    history: RelationHistory,
    dimensions: Sequence[tuple[str, str]],
    *,
    today: date,
    scale: tuple[int, int] = (1, 5),
    chart_id: str = "relation-history",
) -> Markup:
    """One relation across the years: its index (thick) and each dimension (thin, each with its
    own dash and marker and its name at the line's end), one point per engagement (the mean when
    a reorganisation brings several ratings into one), gaps where a rating is not shown,
    reorganisations marked, and the agreements made on the relation on a timeline below with
    their check-ins."""
    low, high = scale
    left, right, top, plot_h = 70.0, 640.0, 30.0, 300.0
    by_engagement: dict[UUID, list[RelationPoint]] = {}
    for point in history.points:
        by_engagement.setdefault(point.engagement_id, []).append(point)
    days = [points[0].theme_day for points in by_engagement.values()]
    agreement_days = [_day(a.made_at) for a in history.agreements if a.made_at]
    check_days = [_day(c.at) for a in history.agreements for c in a.check_ins]
    everything = days + agreement_days + check_days + ([today] if agreement_days else [])
    first = min(everything, default=today)
    last = max(everything, default=today)
    first, last = first - timedelta(days=60), last + timedelta(days=60)
    if (last - first).days < 365:
        middle = first + (last - first) / 2
        first, last = middle - timedelta(days=183), middle + timedelta(days=183)
    span = (last - first).days or 1

    def x_of(day: date) -> float:
        return round(left + (right - left) * (day - first).days / span, 1)

    def y_of(value: Decimal) -> float:
        return round(top + plot_h * (1 - (float(value) - low) / max(high - low, 1)), 1)

    body = [_tag("defs", _patterns(chart_id))]
    for tick in range(low, high + 1):
        y = y_of(Decimal(tick))
        body.append(_tag("line", x1=left, y1=y, x2=right, y2=y, stroke=LINE))
        body.append(_text(left - 12, y + 5, str(tick), text_anchor="end", fill=MUTED, font_size=13))
    bottom = top + plot_h
    for year in range(first.year, last.year + 2):
        day = date(year, 1, 1)
        if first <= day <= last:
            x = x_of(day)
            body.append(_tag("line", x1=x, y1=top, x2=x, y2=bottom + 6, stroke=LINE, stroke_dasharray="2 3"))
            body.append(_text(x, bottom + 22, str(year), text_anchor="middle", fill=MUTED, font_size=13))
    body.append(_tag("line", x1=left, y1=bottom, x2=right, y2=bottom, stroke=INK))
    series = [_Series("index", _("Index"), INK, "", "circle", 4.0)] + [
        _Series(
            key,
            name,
            DIMENSION_COLOURS[i % len(DIMENSION_COLOURS)],
            DIMENSION_DASHES[i % len(DIMENSION_DASHES)],
            MARKERS[i % len(MARKERS)],
            1.8,
        )
        for i, (key, name) in enumerate(dimensions)
    ]
    ordered = sorted(by_engagement.values(), key=lambda points: points[0].theme_day)
    ends: list[tuple[float, _Series]] = []
    drawn_later: list[str] = []
    for line in reversed(series):  # the index drawn last, on top
        runs: list[list[tuple[float, float, Decimal]]] = [[]]
        for points in ordered:
            shown = [p for p in points if not p.suppressed]
            values = [Decimal(v) for p in shown if (v := _value_of(p, line.key))]
            mean = _mean_of(values)
            if mean is None:
                runs.append([])
                continue
            runs[-1].append((x_of(points[0].theme_day), y_of(mean), mean))
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y, _v) in enumerate(run))
                body.append(
                    _tag(
                        "path",
                        d=path,
                        fill="none",
                        stroke=line.colour,
                        stroke_width=line.width,
                        stroke_dasharray=line.dash,
                    )
                )
            for x, y, value in run:
                mark = _marker_shape(line.marker, x, y, line.colour, 6 if line.key == "index" else 4.5)
                body.append(_tag("g", _tooltip(f"{line.name}: {as_number(value, 2)}") + mark))
                if line.key == "index":
                    drawn_later.append(
                        _text(
                            x,
                            y - 12,
                            as_number(value, 2),
                            text_anchor="middle",
                            font_size=14,
                            font_weight=700,
                            **_halo(),
                        )
                    )
        last_run = next((r for r in reversed(runs) if r), None)
        if last_run:
            ends.append((last_run[-1][1], line))
    body.extend(drawn_later)
    # Names at the right, in the order of the lines' last values, spread so that none overlap.
    ends.sort(key=lambda item: item[0])
    placed: list[float] = []
    for y, line in ends:
        label_y = max(y, placed[-1] + 17) if placed else y
        placed.append(label_y)
        body.append(
            _tag("line", x1=right + 4, y1=y, x2=right + 24, y2=label_y, stroke=line.colour, stroke_width=1)
        )
        body.append(_marker_shape(line.marker, right + 32, label_y, line.colour, 4.5))
        body.append(
            _text(
                right + 42,
                label_y + 5,
                line.name,
                font_size=13,
                font_weight=700 if line.key == "index" else None,
            )
        )
    # Gaps and reorganisations.
    previous = None
    for points in ordered:
        x = x_of(points[0].theme_day)
        if all(p.suppressed for p in points):
            note = hidden_label(points[0].raters_label)
            body.append(
                _tag(
                    "g",
                    _tooltip(note)
                    + _tag(
                        "rect", x=x - 12, y=bottom - 34, width=24, height=28, fill=f"url(#{chart_id}-hatch)"
                    )
                    + _text(
                        x, bottom - 13, DASH, text_anchor="middle", font_size=20, font_weight=700, **_halo()
                    ),
                )
            )
        continuity = next((p.continuity for p in points if p.continuity != "same"), "same")
        if previous is not None and continuity != previous:
            bx = round((x + x_of(ordered[ordered.index(points) - 1][0].theme_day)) / 2, 1)
            body.append(
                _tag(
                    "line",
                    x1=bx,
                    y1=top - 10,
                    x2=bx,
                    y2=bottom,
                    stroke=MUTED,
                    stroke_width=2,
                    stroke_dasharray="6 4",
                )
            )
            body.append(
                _text(
                    bx,
                    top - 14,
                    _("Reorganised"),
                    text_anchor="middle",
                    font_size=12,
                    fill=MUTED,
                    font_weight=700,
                )
            )
        previous = continuity
    # The agreements' timeline.
    lane_top = bottom + 46
    body.append(_text(8, lane_top, _("Agreements on this relation"), font_size=13, font_weight=700))
    for number, agreement in enumerate(history.agreements, start=1):
        y = lane_top + LANE * number - 12
        tag = f"A{number}"
        body.append(_text(8, y + 5, tag, font_size=13, font_weight=700))
        if agreement.made_at is None:
            continue
        x = x_of(_day(agreement.made_at))
        body.append(
            _tag("line", x1=x, y1=top, x2=x, y2=y, stroke="#0077BB", stroke_width=1, stroke_dasharray="1 3")
        )
        status = agreement_status_label(agreement.status)
        made = _("%(tag)s made %(day)s: %(status)s", tag=tag, day=as_date(agreement.made_at), status=status)
        body.append(_tag("g", _tooltip(made) + _marker_shape("diamond", x, y, "#0077BB", 7)))
        body.append(_text(x + 10, y - 7, status, font_size=12, **_halo()))
        for check in agreement.check_ins:
            cx = x_of(_day(check.at))
            words = _(
                "Check-in %(day)s: %(status)s", day=as_date(check.at), status=check_in_label(check.status)
            )
            body.append(_tag("line", x1=x, y1=y, x2=cx, y2=y, stroke="#0077BB", stroke_width=1))
            body.append(_tag("g", _tooltip(words) + _marker_shape("circle", cx, y, "#117733", 5)))
            body.append(
                _text(cx, y + 18, check_in_label(check.status), text_anchor="middle", font_size=12, **_halo())
            )
    if not history.agreements:
        body.append(_text(8, lane_top + 24, _("No agreements on this relation."), fill=MUTED, font_size=13))
    height = lane_top + LANE * max(len(history.agreements), 1) + 30
    title = _(
        "%(unit)s about %(counterpart)s across the years",
        unit=history.unit_name,
        counterpart=history.counterpart_name,
    )
    return _svg(chart_id, 900, height, title, _history_description(history, ordered), "".join(body))


def _history_description(history: RelationHistory, ordered: Sequence[Sequence[RelationPoint]]) -> str:
    parts = []
    for points in ordered:
        shown = [Decimal(p.index) for p in points if not p.suppressed and p.index]
        mean = _mean_of(shown)
        value = as_number(mean, 2) if mean is not None else hidden_label(points[0].raters_label)
        parts.append(f"{as_date(points[0].theme_day)}: {value}")
    text = _("Index by theme day: %(points)s.", points="; ".join(parts) or DASH)
    if history.agreements:
        text += " " + _(
            "Agreements on the relation: %(statuses)s.",
            statuses=", ".join(agreement_status_label(a.status) for a in history.agreements),
        )
    return text


# -- Follow-through ----------------------------------------------------------------------------


def follow_through_chart(items: Sequence[FollowThrough], *, chart_id: str = "follow-through") -> Markup:
    """How agreements were followed through at 6, 12 and 24 months: one stacked bar per horizon
    of the agreements old enough for it, split by their latest check-in by then, each part
    patterned and labelled with its share."""
    left, bar, row = 150.0, 600.0, 64
    keys = list(FOLLOW_THROUGH_FILLS)
    body = [_tag("defs", _patterns(chart_id))]
    for position, item in enumerate(items):
        y = 20 + position * row
        body.append(
            _text(
                left - 12,
                y + 20,
                _("%(months)s months", months=item.months),
                text_anchor="end",
                font_weight=700,
            )
        )
        body.append(
            _text(
                left - 12,
                y + 38,
                _("Agreements: %(count)s", count=item.agreements),
                text_anchor="end",
                fill=MUTED,
                font_size=12,
            )
        )
        if not item.agreements:
            body.append(
                _tag(
                    "rect", x=left, y=y, width=bar, height=36, fill=PAPER, stroke=LINE, stroke_dasharray="4 3"
                )
            )
            body.append(_text(left + 12, y + 24, _("No agreements old enough yet"), fill=MUTED, font_size=13))
            continue
        x = left
        for key in keys:
            share = Decimal(item.shares.get(key, "0"))
            if share <= 0:
                continue
            width = round(bar * float(share), 1)
            colour, pattern = FOLLOW_THROUGH_FILLS[key]
            words = f"{check_in_label(key)}: {as_percent(float(share))} ({item.counts.get(key, 0)})"
            parts = _tooltip(words) + _tag(
                "rect", x=x, y=y, width=width, height=36, fill=colour, stroke=PAPER, stroke_width=1.5
            )
            if pattern:
                parts += _tag("rect", x=x, y=y, width=width, height=36, fill=f"url(#{chart_id}-{pattern})")
            if width >= 44:
                parts += _text(
                    round(x + width / 2, 1),
                    y + 24,
                    as_percent(float(share)),
                    text_anchor="middle",
                    font_size=13,
                    font_weight=700,
                    **_halo(),
                )
            body.append(_tag("g", parts))
            x += width
    legend_y = 30 + len(items) * row
    x = 10.0
    for key in keys:
        colour, pattern = FOLLOW_THROUGH_FILLS[key]
        body.append(_tag("rect", x=x, y=legend_y - 14, width=18, height=18, fill=colour, stroke=MUTED))
        if pattern:
            body.append(
                _tag("rect", x=x, y=legend_y - 14, width=18, height=18, fill=f"url(#{chart_id}-{pattern})")
            )
        label = check_in_label(key)
        body.append(_text(x + 24, legend_y, label, font_size=13))
        x += 44 + 8 * len(label)
    description = " ".join(
        _("%(months)s months: agreements %(count)s", months=i.months, count=i.agreements)
        + (
            " ("
            + ", ".join(
                f"{check_in_label(k)} {as_percent(float(Decimal(i.shares[k])))}"
                for k in keys
                if k in i.shares
            )
            + ")."
            if i.agreements
            else "."
        )
        for i in items
    )
    return _svg(chart_id, 800, legend_y + 24, _("Follow-through of agreements"), description, "".join(body))


# -- Cards per tie (tables need no chart; kept for the dashboard's summary) ----------------------


def cards_total(ties: Sequence[CardsOnTie]) -> dict[str, int]:
    """Cards by status over every tie."""
    totals: dict[str, int] = {}
    for tie in ties:
        for status, count in tie.by_status.items():
            totals[status] = totals.get(status, 0) + count
    return totals


# Helpers the dashboard and board templates call (passed in their context).
TEMPLATE_HELPERS = {
    "figure": figure,
    "signed": signed,
    "band_label": band_label,
    "hidden_label": hidden_label,
    "continuity_label": continuity_label,
}
