"""A network of units drawn on a circle with arrows between them: the drawing the relation
network and the dance-card network share. Both directions of a tie are drawn side by side;
each arrow style has its own colour, dash pattern and legend entry."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID
from xml.sax.saxutils import escape

from markupsafe import Markup

from projections.queries import UnitName
from services.web.charts.svg import (
    INK,
    MUTED,
    element,
    halo,
    image,
    name_lines,
    shortened,
    text_at,
    tooltip,
)
from services.web.i18n import gettext as _


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
        element("tspan", escape(line), x=round(x, 1), y=round(top + step * at, 1))
        for at, line in enumerate(lines)
    )
    return element(
        "text", spans, x=round(x, 1), y=round(top, 1), text_anchor=anchor, font_size=size, **halo()
    )


def draw_network(
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
        widest = max((len(line) for n in nodes for line in name_lines(n.name, line_length)), default=8)
        width = 2 * (radius + node + 16 + 0.6 * label_size * widest)
        cx, cy = width / 2, radius + 3 * label_size + 20
    else:
        width = 960.0
        cx, cy = 480.0, 290.0
    places = _node_positions(len(nodes), cx, cy, radius)
    where = {n.unit_id: (x, y) for n, (x, y, _a) in zip(nodes, places, strict=True)}
    markers = "".join(
        element(
            "marker",
            element("path", d="M0,0 L12,6 L0,12 z", fill=style.colour),
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
    body = [element("defs", markers)]
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
            element(
                "g",
                tooltip(arrow.words)
                + element(
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
                text_at(
                    round(lx, 1),
                    round(ly + 4, 1),
                    arrow.label,
                    text_anchor="middle",
                    font_size=12,
                    font_weight=700,
                    **halo(),
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
            element(
                "g",
                tooltip(unit.name)
                + element(
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
                    name_lines(unit.name, line_length) if large else [shortened(unit.name, 30)],
                    anchor,
                    label_size,
                    sin,
                ),
            )
        )
    if not nodes:
        body.append(text_at(cx, cy, _("No units yet."), text_anchor="middle", fill=MUTED))
    legend_y = cy + radius + 50 + 2 * label_size
    legend_size = max(13.0, label_size * 0.8)
    x = 10.0
    for key, style in styles.items():
        body.append(
            element(
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
        body.append(text_at(x + 64, legend_y, style.label, font_size=legend_size))
        x += 90 + legend_size * 0.6 * len(style.label)
        if x > width - 160:
            x, legend_y = 10.0, legend_y + legend_size * 2
    line = legend_size * 2
    for offset, note in enumerate(notes, start=1):
        body.append(text_at(10, legend_y + line * offset, note, fill=MUTED, font_size=legend_size))
    height = legend_y + line * len(notes) + 20
    return image(chart_id, width, height, title, description, "".join(body))
