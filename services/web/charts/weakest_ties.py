"""The weakest relations as horizontal bars (the dashboards' engagement page), on an axis over
the rating scale."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup

from projections.queries import WeakTie
from services.web.charts.svg import (
    BAND_FILLS,
    INK,
    LINE,
    MUTED,
    element,
    image,
    ranked_bands,
    shortened,
    spread,
    text_at,
)
from services.web.charts.words import band_label, figure
from services.web.i18n import gettext as _


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
        body.append(
            element("line", x1=round(x, 1), y1=10, x2=round(x, 1), y2=20 + row * len(ties), stroke=LINE)
        )
        body.append(
            text_at(
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
            text_at(
                left - 10,
                y + 17,
                shortened(f"{tie.unit_name} \u2192 {tie.counterpart_name}", 44),
                text_anchor="end",
                font_size=13,
            )
        )
        body.append(
            element(
                "rect",
                x=left,
                y=y,
                width=round(end - left, 1),
                height=24,
                fill=spread(BAND_FILLS, rank, len(bands)),
                stroke=INK,
                stroke_width=1,
            )
        )
        body.append(text_at(round(end + 8, 1), y + 17, f"{figure(tie.index)} {label}", font_size=13))
    height = 50 + row * len(ties)
    description = "; ".join(
        f"{t.unit_name} \u2192 {t.counterpart_name}: {figure(t.index)} ({band_label(t.band)})" for t in ties
    ) or _("No rated relations yet.")
    return image(chart_id, 920, height, _("The weakest relations"), description, "".join(body))
