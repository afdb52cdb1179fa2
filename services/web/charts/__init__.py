"""Charts drawn on the server as SVG: no script, readable without colour.

Each builder is a pure function of a read-model answer (`projections/queries/`) or plain
values, and returns markup ready for a template. Every chart is an image with a title and a
description (`role="img"`, `aria-labelledby`); colours come from colour-blind-safe palettes
(Paul Tol's) and never carry meaning alone: values, labels, dash patterns, marker shapes and
hatching say the same. Text is escaped once, where it enters the markup (`svg.py`). Pages put a
table of the same numbers next to each chart.

Hidden ratings (below the anonymity threshold, or not rated) arrive without numbers and are
drawn as hatched cells with a dash or gaps; nothing here can bring a number back.

One module a chart, named for what it draws, beside the template area that shows it:
- `templates/dashboards/`: `heat_map`, `relation_network`, `weakest_ties`, `relation_history`,
  `follow_through`;
- `templates/board/`: `card_network`.
The network drawing both networks share is `network`; the SVG they are all drawn with is
`svg`; the words and figures the charts, their tables and the exports share are `words`.
"""

from __future__ import annotations

from services.web.charts.card_network import CARD_STYLES, CardLine, card_network
from services.web.charts.follow_through import FOLLOW_THROUGH_FILLS, follow_through_chart
from services.web.charts.heat_map import heat_map
from services.web.charts.network import Arrow, EdgeStyle
from services.web.charts.relation_history import relation_line_chart
from services.web.charts.relation_network import relation_network
from services.web.charts.svg import ranked_bands
from services.web.charts.weakest_ties import weakest_ties_chart
from services.web.charts.words import (
    DASH,
    TEMPLATE_HELPERS,
    band_label,
    cards_total,
    continuity_label,
    figure,
    hidden_label,
    signed,
)

__all__ = [
    "CARD_STYLES",
    "DASH",
    "FOLLOW_THROUGH_FILLS",
    "TEMPLATE_HELPERS",
    "Arrow",
    "CardLine",
    "EdgeStyle",
    "band_label",
    "card_network",
    "cards_total",
    "continuity_label",
    "figure",
    "follow_through_chart",
    "heat_map",
    "hidden_label",
    "ranked_bands",
    "relation_line_chart",
    "relation_network",
    "signed",
    "weakest_ties_chart",
]
