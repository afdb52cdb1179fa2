"""The SVG every chart is drawn with: elements with escaped text, the frame that makes a chart
an image with a title and a description, fills that carry meaning without colour (hatching,
lines, dots, cross-hatching), marker shapes, unit names broken over lines, and the
colour-blind-safe palettes (Paul Tol's) the strength bands are drawn in.

Text is escaped once, here, where it enters the markup.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
INK = "#1d2433"
MUTED = "#4a5568"
LINE = "#c9d1dc"
PAPER = "#ffffff"
NAME_LENGTH = 26  # a unit's name on a chart label, in characters a line

# Weakest to strongest; spread over however many bands the pinned instrument has.
BAND_FILLS = ("#EE8866", "#FFAABB", "#EEDD88", "#99DDFF", "#77AADD")  # light: ink text on them
BAND_STROKES = ("#CC3311", "#AA6600", "#767676", "#009988", "#0077BB")  # lines on white, >= 3:1
BAND_DASHES = ("6 4", "2 3", "9 3 2 3", "12 3", "")  # the strongest band is drawn solid


# -- Bands ------------------------------------------------------------------------------------


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


def spread(palette: Sequence[str], rank: int, count: int) -> str:
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
        parts.append(f" {name}={quoteattr(plain(value))}")
    return "".join(parts)


def plain(value: object) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def element(name: str, content: str = "", /, **attributes: object) -> str:
    if content:
        return f"<{name}{_attributes(attributes)}>{content}</{name}>"
    return f"<{name}{_attributes(attributes)}/>"


def text_at(x: float, y: float, words: str, /, **attributes: object) -> str:
    return element("text", escape(words), x=x, y=y, **attributes)


def tooltip(words: str) -> str:
    return f"<title>{escape(words)}</title>"


def shortened(name: str, length: int = NAME_LENGTH) -> str:
    return name if len(name) <= length else name[: length - 1].rstrip() + "\u2026"


def name_lines(name: str, length: int) -> list[str]:
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
    return [shortened(line, length + 4) for line in lines] or [""]


def _hyphenated(word: str, length: int) -> list[str]:
    """A word too long for one line over two, broken with a hyphen: after a joining "s" when
    there is one (Danish compounds: "Rehabiliterings-teamet"), else at `length`."""
    joint = word.rfind("s", 6, length)
    cut = joint + 1 if joint > 0 else length
    return [word[:cut] + "-", word[cut:]]


def name_text(x: float, y: float, name: str, length: int, /, **attributes: object) -> str:
    """A unit's name as a chart label: on two lines when it is long (`name_lines`), centred on
    `y`, with the full name as its tooltip."""
    lines = name_lines(name, length)
    step = 15
    top = y - step * (len(lines) - 1) / 2
    spans = "".join(
        element("tspan", escape(line), x=round(x, 1), y=round(top + step * at, 1))
        for at, line in enumerate(lines)
    )
    return element("text", tooltip(name) + spans, x=round(x, 1), y=round(top, 1), **attributes)


def image(chart_id: str, width: float, height: float, title: str, description: str, body: str) -> Markup:
    head = (
        f'<svg xmlns="{SVG_NS}"'
        + _attributes(
            {
                "class": "chart",
                "id": chart_id,
                "role": "img",
                "aria_labelledby": f"{chart_id}-title {chart_id}-desc",
                "viewBox": f"0 0 {plain(width)} {plain(height)}",
                "width": width,
                "height": height,
                "font_size": 14,
            }
        )
        + ">"
    )
    labels = element("title", escape(title), id=f"{chart_id}-title") + element(
        "desc", escape(description), id=f"{chart_id}-desc"
    )
    return Markup(head + labels + body + "</svg>")  # noqa: S704 - every text part is escaped above


def patterns(chart_id: str) -> str:
    """Fills that carry meaning without colour: hatching, lines, dots, cross-hatching."""

    def pattern(name: str, inner: str, size: int = 8) -> str:
        return element(
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
            element("rect", width=8, height=8, fill="#f3f5f8")
            + element("line", x1=0, y1=0, x2=0, y2=8, stroke="#6b7685", stroke_width=2),
        )
        + pattern(
            "lines", element("line", x1=0, y1=0, x2=0, y2=8, stroke=INK, stroke_width=1, stroke_opacity=0.35)
        )
        + pattern("dots", element("circle", cx=4, cy=4, r=1.4, fill=INK, fill_opacity=0.45))
        + pattern(
            "cross",
            element("path", d="M0,0 L8,8 M8,0 L0,8", stroke=INK, stroke_width=1, stroke_opacity=0.4),
        )
    )


def marker_shape(shape: str, x: float, y: float, colour: str, size: float = 5) -> str:
    s = size
    if shape == "circle":
        return element("circle", cx=x, cy=y, r=s, fill=colour, stroke=PAPER, stroke_width=1.5)
    if shape == "square":
        return element("rect", x=x - s, y=y - s, width=2 * s, height=2 * s, fill=colour)
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
        return element("polygon", points=corners, fill=colour)
    if shape == "cross":
        d = f"M{x - s:.1f},{y - s:.1f} L{x + s:.1f},{y + s:.1f} M{x + s:.1f},{y - s:.1f} L{x - s:.1f},{y + s:.1f}"
    else:  # plus
        d = f"M{x - s:.1f},{y:.1f} L{x + s:.1f},{y:.1f} M{x:.1f},{y - s:.1f} L{x:.1f},{y + s:.1f}"
    return element("path", d=d, stroke=colour, stroke_width=2.5, fill="none")


def halo() -> dict[str, object]:
    """A white outline under text drawn over lines or patterns, so it stays readable."""
    return {"stroke": PAPER, "stroke_width": 4, "paint_order": "stroke", "stroke_linejoin": "round"}
