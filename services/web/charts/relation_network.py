"""The shown relations of an engagement as a network (the dashboards' engagement page): an
arrow from the unit that rates to the unit it rates, styled by strength band, as wide as the
index."""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup

from projections.queries import RelationMatrix
from services.web.charts.network import Arrow, EdgeStyle, draw_network
from services.web.charts.svg import BAND_DASHES, BAND_STROKES, ranked_bands, spread
from services.web.charts.words import band_label, figure
from services.web.i18n import gettext as _


def relation_network(matrix: RelationMatrix, *, chart_id: str = "network") -> Markup:
    """The shown relations as a network: units on a circle, an arrow from the unit that rates
    to the unit it rates, coloured and dashed by strength band, as wide as the index."""
    bands = ranked_bands((e.band, e.index) for e in matrix.edges)
    danish = {c.band: c.band_da for c in matrix.cells if c.band and c.band_da}
    styles = {
        str(rank): EdgeStyle(
            spread(BAND_STROKES, rank, len(bands)),
            spread(BAND_DASHES, rank, len(bands)),
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
    return draw_network(
        chart_id,
        matrix.nodes,
        arrows,
        styles,
        _("Network of relations: %(title)s", title=matrix.title),
        description,
        notes,
    )
