"""One relation across the years (the dashboards' relation page): its index and dimensions as
lines over the engagements' theme days, gaps where a rating is not shown, reorganisations
marked, and the agreements made on the relation on a timeline below with their check-ins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from markupsafe import Markup

from projections.queries import RelationHistory, RelationPoint
from services.web.charts.svg import (
    INK,
    LINE,
    MUTED,
    element,
    halo,
    image,
    marker_shape,
    patterns,
    text_at,
    tooltip,
)
from services.web.charts.words import DASH, hidden_label
from services.web.i18n import as_date, as_number
from services.web.i18n import gettext as _
from services.web.labels import agreement_status_label, check_in_label

LANE = 46  # the height of one agreement's row on the timeline
DIMENSION_COLOURS = ("#332288", "#117733", "#CC6677", "#999933", "#882255", "#009988", "#AA4499")
DIMENSION_DASHES = ("6 3", "2 3", "9 3 2 3", "4 2", "12 3", "1 2", "8 2 2 2")
MARKERS = ("square", "triangle", "diamond", "cross", "down", "plus", "star")


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

    body = [element("defs", patterns(chart_id))]
    for tick in range(low, high + 1):
        y = y_of(Decimal(tick))
        body.append(element("line", x1=left, y1=y, x2=right, y2=y, stroke=LINE))
        body.append(text_at(left - 12, y + 5, str(tick), text_anchor="end", fill=MUTED, font_size=13))
    bottom = top + plot_h
    for year in range(first.year, last.year + 2):
        day = date(year, 1, 1)
        if first <= day <= last:
            x = x_of(day)
            body.append(
                element("line", x1=x, y1=top, x2=x, y2=bottom + 6, stroke=LINE, stroke_dasharray="2 3")
            )
            body.append(text_at(x, bottom + 22, str(year), text_anchor="middle", fill=MUTED, font_size=13))
    body.append(element("line", x1=left, y1=bottom, x2=right, y2=bottom, stroke=INK))
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
                    element(
                        "path",
                        d=path,
                        fill="none",
                        stroke=line.colour,
                        stroke_width=line.width,
                        stroke_dasharray=line.dash,
                    )
                )
            for x, y, value in run:
                mark = marker_shape(line.marker, x, y, line.colour, 6 if line.key == "index" else 4.5)
                body.append(element("g", tooltip(f"{line.name}: {as_number(value, 2)}") + mark))
                if line.key == "index":
                    drawn_later.append(
                        text_at(
                            x,
                            y - 12,
                            as_number(value, 2),
                            text_anchor="middle",
                            font_size=14,
                            font_weight=700,
                            **halo(),
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
            element("line", x1=right + 4, y1=y, x2=right + 24, y2=label_y, stroke=line.colour, stroke_width=1)
        )
        body.append(marker_shape(line.marker, right + 32, label_y, line.colour, 4.5))
        body.append(
            text_at(
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
                element(
                    "g",
                    tooltip(note)
                    + element(
                        "rect", x=x - 12, y=bottom - 34, width=24, height=28, fill=f"url(#{chart_id}-hatch)"
                    )
                    + text_at(
                        x, bottom - 13, DASH, text_anchor="middle", font_size=20, font_weight=700, **halo()
                    ),
                )
            )
        continuity = next((p.continuity for p in points if p.continuity != "same"), "same")
        if previous is not None and continuity != previous:
            bx = round((x + x_of(ordered[ordered.index(points) - 1][0].theme_day)) / 2, 1)
            body.append(
                element(
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
                text_at(
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
    body.append(text_at(8, lane_top, _("Agreements on this relation"), font_size=13, font_weight=700))
    for number, agreement in enumerate(history.agreements, start=1):
        y = lane_top + LANE * number - 12
        tag = f"A{number}"
        body.append(text_at(8, y + 5, tag, font_size=13, font_weight=700))
        if agreement.made_at is None:
            continue
        x = x_of(_day(agreement.made_at))
        body.append(
            element(
                "line", x1=x, y1=top, x2=x, y2=y, stroke="#0077BB", stroke_width=1, stroke_dasharray="1 3"
            )
        )
        status = agreement_status_label(agreement.status)
        made = _("%(tag)s made %(day)s: %(status)s", tag=tag, day=as_date(agreement.made_at), status=status)
        body.append(element("g", tooltip(made) + marker_shape("diamond", x, y, "#0077BB", 7)))
        body.append(text_at(x + 10, y - 7, status, font_size=12, **halo()))
        for check in agreement.check_ins:
            cx = x_of(_day(check.at))
            words = _(
                "Check-in %(day)s: %(status)s", day=as_date(check.at), status=check_in_label(check.status)
            )
            body.append(element("line", x1=x, y1=y, x2=cx, y2=y, stroke="#0077BB", stroke_width=1))
            body.append(element("g", tooltip(words) + marker_shape("circle", cx, y, "#117733", 5)))
            body.append(
                text_at(
                    cx, y + 18, check_in_label(check.status), text_anchor="middle", font_size=12, **halo()
                )
            )
    if not history.agreements:
        body.append(text_at(8, lane_top + 24, _("No agreements on this relation."), fill=MUTED, font_size=13))
    height = lane_top + LANE * max(len(history.agreements), 1) + 30
    title = _(
        "%(unit)s about %(counterpart)s across the years",
        unit=history.unit_name,
        counterpart=history.counterpart_name,
    )
    return image(chart_id, 900, height, title, _history_description(history, ordered), "".join(body))


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
