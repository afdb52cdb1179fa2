"""The relation matrix as a heat map (the dashboards' engagement page): rows rate columns, each
cell its index and strength band, hidden cells hatched with a dash."""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup

from projections.queries import RelationMatrix
from services.web.charts.svg import (
    BAND_FILLS,
    LINE,
    MUTED,
    NAME_LENGTH,
    PAPER,
    element,
    halo,
    image,
    name_text,
    patterns,
    plain,
    ranked_bands,
    spread,
    text_at,
    tooltip,
)
from services.web.charts.words import DASH, band_label, figure, hidden_label
from services.web.i18n import gettext as _


def heat_map(matrix: RelationMatrix, *, chart_id: str = "heat-map") -> Markup:
    """The relation matrix as a heat map: rows rate columns; each cell the index and its
    strength band; hidden cells hatched with a dash and a note; unmapped cells empty."""
    units = matrix.units
    count = len(units)
    cell, left, top = 78, 230, 190
    cells = {(c.unit_id, c.counterpart_id): c for c in matrix.cells}
    danish = {c.band: c.band_da for c in matrix.cells if c.band and c.band_da}
    bands = ranked_bands((c.band, c.index) for c in matrix.cells if c.shown)
    body = [element("defs", patterns(chart_id))]
    body.append(text_at(8, 20, _("Rows: the unit that rates"), font_size=13, fill=MUTED))
    body.append(text_at(8, 38, _("Columns: the unit it rates"), font_size=13, fill=MUTED))
    for position, unit in enumerate(units):
        # Long names go over two lines (the full name is the tooltip and in the table).
        x = left + position * cell + cell / 2
        body.append(
            name_text(
                x - 4, top - 10, unit.name, NAME_LENGTH, transform=f"rotate(-45 {plain(x - 4)} {top - 10})"
            )
        )
        y = top + position * cell + cell / 2
        body.append(name_text(left - 10, y + 5, unit.name, NAME_LENGTH, text_anchor="end"))
    hidden_notes: set[str] = set()
    for row, rater in enumerate(units):
        for column, counterpart in enumerate(units):
            x, y = left + column * cell, top + row * cell
            found = cells.get((rater.unit_id, counterpart.unit_id))
            frame = {"x": x, "y": y, "width": cell, "height": cell, "stroke": PAPER, "stroke_width": 2}
            if rater.unit_id == counterpart.unit_id:
                body.append(element("rect", fill="#e6e9ee", **frame))
                continue
            if found is None:
                body.append(element("rect", fill=PAPER, **{**frame, "stroke": LINE, "stroke_width": 1}))
                continue
            about = _("%(unit)s about %(counterpart)s", unit=rater.name, counterpart=counterpart.name)
            if not found.shown or found.index is None:
                note = hidden_label(found.raters_label)
                hidden_notes.add(note)
                body.append(
                    element(
                        "g",
                        tooltip(f"{about}: {note}")
                        + element("rect", fill=f"url(#{chart_id}-hatch)", **frame)
                        + text_at(
                            x + cell / 2,
                            y + cell / 2 + 8,
                            DASH,
                            text_anchor="middle",
                            font_size=24,
                            font_weight=700,
                            **halo(),
                        ),
                        class_="suppressed-cell",
                    )
                )
                continue
            rank = bands.index(found.band) if found.band in bands else 0
            label = band_label(found.band, found.band_da)
            body.append(
                element(
                    "g",
                    tooltip(f"{about}: {figure(found.index)} ({label})")
                    + element("rect", fill=spread(BAND_FILLS, rank, len(bands)), **frame)
                    + text_at(
                        x + cell / 2,
                        y + cell / 2 + 2,
                        figure(found.index),
                        text_anchor="middle",
                        font_size=17,
                        font_weight=700,
                    )
                    + text_at(x + cell / 2, y + cell / 2 + 20, label, text_anchor="middle", font_size=12),
                )
            )
    legend_y = top + count * cell + 30
    legend_x = 8.0
    for rank, band in enumerate(bands):
        label = band_label(band, danish.get(band))
        body.append(
            element(
                "rect",
                x=legend_x,
                y=legend_y - 14,
                width=18,
                height=18,
                fill=spread(BAND_FILLS, rank, len(bands)),
                stroke=MUTED,
            )
        )
        body.append(text_at(legend_x + 24, legend_y, label))
        legend_x += 40 + 8 * len(label)
    lines = [*sorted(hidden_notes), _("Empty: not mapped"), _("Grey: the unit itself")]
    for offset, note in enumerate(lines):
        y = legend_y + 26 * (offset + 1)
        if offset < len(hidden_notes):
            body.append(
                element(
                    "rect", x=8, y=y - 14, width=18, height=18, fill=f"url(#{chart_id}-hatch)", stroke=MUTED
                )
            )
            body.append(text_at(34, y, f"{DASH} {note}"))
        else:
            body.append(text_at(8, y, note, fill=MUTED))
    width = max(left + count * cell + 170, 560)
    height = legend_y + 26 * len(lines) + 20
    title = _("Relation matrix: %(title)s", title=matrix.title)
    return image(chart_id, width, height, title, _matrix_description(matrix), "".join(body))


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
