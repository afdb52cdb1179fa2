"""The relation matrix: unit by unit, every mapped directed relation per dimension and as
index, with means over the shown cells only and the network of shown ties (the `dashboards/`
engagement page, the report and the exports)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import msgspec

from projections.documents import EngagementOut, OrganisationUnits, RelationOut
from projections.queries.names import UnitName, name_of, named, names_at
from projections.queries.shared import hidden_label_of, is_shown, mean


class MatrixCell(msgspec.Struct):
    """One directed relation: how `unit_id` rates its collaboration with `counterpart_id`.

    When `shown` is false there are no numbers: `raters` is None and `raters_label` says why.
    """

    unit_id: UUID
    counterpart_id: UUID
    shown: bool
    raters: int | None
    raters_label: str | None
    means: dict[str, str]
    index: str | None
    band: str | None
    band_da: str | None


class Aggregate(msgspec.Struct):
    """A mean over the shown cells only; `cells_left_out` counts the cells not shown."""

    mean: str | None
    cells_shown: int
    cells_left_out: int


class UnitAggregate(msgspec.Struct):
    unit_id: UUID
    name: str
    index: Aggregate


class Tie(msgspec.Struct):
    """Both directions of a tie between two units (None where not shown or not mapped)."""

    unit_a: UUID
    unit_b: UUID
    a_to_b: str | None
    b_to_a: str | None


class NetworkEdge(msgspec.Struct):
    from_unit: UUID
    to_unit: UUID
    index: str
    band: str | None


class RelationMatrix(msgspec.Struct):
    engagement_id: UUID
    title: str
    phase: str
    rating_mode: str
    min_group_size: int
    dimensions: list[str]
    units: list[UnitName]
    cells: list[MatrixCell]
    rows: list[UnitAggregate]
    columns: list[UnitAggregate]
    dimension_means: dict[str, Aggregate]
    overall_index: Aggregate
    raters_in_shown_cells: int | None  # None when no cell is shown
    ties: list[Tie]
    nodes: list[UnitName]
    edges: list[NetworkEdge]


def _cell(view: RelationOut, hidden_label: str) -> MatrixCell:
    if not is_shown(view):
        return MatrixCell(view.unit_id, view.counterpart_id, False, None, hidden_label, {}, None, None, None)
    return MatrixCell(
        view.unit_id,
        view.counterpart_id,
        True,
        view.raters,
        None,
        dict(view.means),
        view.index,
        view.band,
        view.band_da,
    )


def _aggregate(cells: list[MatrixCell], value: str) -> Aggregate:
    """The mean of `value` ("index" or a dimension key) over the shown cells only."""
    shown = [c for c in cells if c.shown]
    figures = [Decimal(c.means[value] if value != "index" else c.index or "") for c in shown]
    return Aggregate(mean(figures), len(shown), len(cells) - len(shown))


def _ties(cells: list[MatrixCell]) -> list[Tie]:
    index = {(c.unit_id, c.counterpart_id): c.index for c in cells}
    pairs = sorted({tuple(sorted((c.unit_id, c.counterpart_id), key=str)) for c in cells}, key=str)
    return [Tie(a, b, index.get((a, b)), index.get((b, a))) for a, b in pairs]


def relation_matrix(
    engagement: EngagementOut, organisation: OrganisationUnits, moment: datetime | None = None
) -> RelationMatrix:
    """Unit by unit: every mapped directed relation per dimension and as index, row and column
    means, dimension means and an overall index — all over shown cells only — and the network
    of shown ties. Suppressed cells show no numbers and are only counted as left out."""
    names = names_at(organisation, moment)
    label = hidden_label_of(engagement)
    cells = [_cell(v, label) for v in engagement.relation_views]
    dimensions = [d.key for d in engagement.instrument.dimensions]
    shown = [c for c in cells if c.shown]

    def per_unit(pick: str) -> list[UnitAggregate]:
        return [
            UnitAggregate(
                u, name_of(names, u), _aggregate([c for c in cells if getattr(c, pick) == u], "index")
            )
            for u in engagement.unit_ids
        ]

    return RelationMatrix(
        engagement_id=engagement.engagement_id,
        title=engagement.title,
        phase=engagement.phase.value,
        rating_mode=engagement.rating_mode.value,
        min_group_size=engagement.min_group_size,
        dimensions=dimensions,
        units=named(names, engagement.unit_ids),
        cells=cells,
        rows=per_unit("unit_id"),
        columns=per_unit("counterpart_id"),
        dimension_means={key: _aggregate(cells, key) for key in dimensions},
        overall_index=_aggregate(cells, "index"),
        raters_in_shown_cells=sum(c.raters or 0 for c in shown) if shown else None,
        ties=_ties(cells),
        nodes=named(names, engagement.unit_ids),
        edges=[NetworkEdge(c.unit_id, c.counterpart_id, c.index or "", c.band) for c in shown],
    )
