"""A decision's lineage as a picture and as a list: each step in words (what it was, who
recorded it under which role, when), laid out in layers from the first cause at the top to
the last consequence at the bottom, with an arrow from each cause to what it led to.

The layout is computed here and drawn by the template as SVG; the same steps make the list
that is the picture's text alternative.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from services.web.audit.words import Names
from services.web.i18n import as_date, as_number
from services.web.i18n import gettext as _

BOX_WIDTH = 280
BOX_HEIGHT = 112
GAP_X = 28
GAP_Y = 56
MARGIN = 12
LINE_CHARS = 38
SUMMARY_LINES = 2


@dataclass(frozen=True)
class Step:
    """One lineage node in words."""

    node_id: str
    kind: str
    kind_label: str
    entity_id: str
    engagement_id: str
    summary: str
    details: list[str]
    actor: str
    role: str
    occurred_at: datetime
    recorded_at: datetime | None
    position: int
    parents: list[str]
    focus: bool


@dataclass(frozen=True)
class Box:
    step: Step
    x: int
    y: int
    lines: list[str]

    @property
    def centre(self) -> int:
        return self.x + BOX_WIDTH // 2


@dataclass(frozen=True)
class Arrow:
    cause: str
    effect: str
    path: str


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    boxes: list[Box]
    arrows: list[Arrow]
    box_width: int = BOX_WIDTH
    box_height: int = BOX_HEIGHT


def _index(value: str) -> str:
    try:
        return as_number(Decimal(value))
    except InvalidOperation:
        return value


def step_details(kind: str, engagement_id: str, details: dict[str, Any], names: Names) -> list[str]:
    """A few lines more than the summary: why a card was sent, on what grounds it was decided."""
    lines: list[str] = []
    if kind == "rating":
        rating = details.get("rating") or {}
        key = (engagement_id, str(rating.get("unit_id")), str(rating.get("counterpart_id")))
        if key in names.relations:
            index, band = names.relations[key]
            lines.append(_("Relation index %(index)s (%(band)s)", index=_index(index), band=band))
    elif kind == "dance_card":
        card = details.get("card") or {}
        if card.get("reason"):
            lines.append(_("Why: %(reason)s", reason=card["reason"]))
        if card.get("hoped_outcome"):
            lines.append(_("Hoped outcome: %(outcome)s", outcome=card["hoped_outcome"]))
    elif kind == "dialogue":
        notes = (details.get("dialogue") or {}).get("notes")
        if notes:
            lines.append(_("Notes: %(notes)s", notes=notes))
    elif kind in ("agreement_decision", "proposal_decision"):
        decision = details.get("decision") or {}
        if decision.get("decided_by"):
            lines.append(_("Decided by %(who)s", who=decision["decided_by"]))
        if decision.get("rationale"):
            lines.append(_("Rationale: %(rationale)s", rationale=decision["rationale"]))
        if decision.get("owner"):
            lines.append(_("Owner: %(owner)s", owner=decision["owner"]))
        if decision.get("due"):
            lines.append(_("Due: %(due)s", due=_date(decision["due"])))
        if decision.get("deferred_until"):
            lines.append(_("Deferred until %(day)s", day=_date(decision["deferred_until"])))
    elif kind == "check_in":
        note = (details.get("check_in") or {}).get("note")
        if note:
            lines.append(_("Note: %(note)s", note=note))
    return lines


def _date(value: str) -> str:
    try:
        return as_date(datetime.fromisoformat(value))
    except ValueError:
        return value


def _layers(steps: list[Step], parents: dict[str, list[str]]) -> dict[str, int]:
    """Each step's layer: one below its lowest cause (causes come first, so one pass in order
    settles it; the passes after it only guard against a cause recorded later)."""
    layer = dict.fromkeys((s.node_id for s in steps), 0)
    ordered = sorted(steps, key=lambda s: s.position)
    for _pass in range(len(steps)):
        changed = False
        for step in ordered:
            wanted = max((layer[p] + 1 for p in parents[step.node_id]), default=0)
            if wanted != layer[step.node_id] and wanted < len(steps):
                layer[step.node_id] = wanted
                changed = True
        if not changed:
            break
    return layer


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def _wrapped(text: str) -> list[str]:
    lines = textwrap.wrap(text, LINE_CHARS) or [""]
    if len(lines) > SUMMARY_LINES:
        lines = lines[:SUMMARY_LINES]
        lines[-1] = lines[-1][: LINE_CHARS - 1].rstrip() + "\u2026"
    return lines


def layout(steps: list[Step], edges: list[tuple[str, str]]) -> Drawing:
    """The steps in layers, causes above what they led to; `edges` are (effect, cause) pairs."""
    known = {s.node_id for s in steps}
    links = [(effect, cause) for effect, cause in dict.fromkeys(edges) if effect in known and cause in known]
    parents: dict[str, list[str]] = {s.node_id: [] for s in steps}
    for effect, cause in links:
        parents[effect].append(cause)
    layer = _layers(steps, parents)
    rows: dict[int, list[Step]] = {}
    for step in sorted(steps, key=lambda s: s.position):
        rows.setdefault(layer[step.node_id], []).append(step)
    # Each row in the order of its causes' places in the rows above: fewer crossing arrows.
    place: dict[str, int] = {}
    for depth in sorted(rows):
        row = rows[depth]
        row.sort(key=lambda s: (_mean([place[p] for p in parents[s.node_id] if p in place]), s.position))
        place.update({s.node_id: i for i, s in enumerate(row)})
    widest = max((len(row) for row in rows.values()), default=1)
    width = 2 * MARGIN + widest * BOX_WIDTH + (widest - 1) * GAP_X
    boxes: dict[str, Box] = {}
    for depth, row in sorted(rows.items()):
        row_width = len(row) * BOX_WIDTH + (len(row) - 1) * GAP_X
        left = (width - row_width) // 2
        for i, step in enumerate(row):
            x = left + i * (BOX_WIDTH + GAP_X)
            y = MARGIN + depth * (BOX_HEIGHT + GAP_Y)
            boxes[step.node_id] = Box(step, x, y, _wrapped(step.summary))
    arrows = []
    for effect, cause in links:
        start, end = boxes[cause], boxes[effect]
        x1, y1 = start.centre, start.y + BOX_HEIGHT
        x2, y2 = end.centre, end.y - 6  # room for the arrowhead
        bend = (y2 - y1) // 2
        arrows.append(Arrow(cause, effect, f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2}"))
    height = 2 * MARGIN + (max(rows, default=0) + 1) * (BOX_HEIGHT + GAP_Y) - GAP_Y
    return Drawing(width=width, height=height, boxes=list(boxes.values()), arrows=arrows)
