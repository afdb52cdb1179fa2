"""The audit trail and decision lineage, read from the projections (never from the events).

The trail is one row per event: who did what under which role, when it happened and when it
was recorded, on which command, caused by what. It pages by position (keyset: the `next_after`
of one page is the `after` of the next). Lineage follows the recorded causes from a decision
back to the ratings that motivated it, and from a rating on to what came of it. The API
(`services/http/audit_routes.py`) and the auditor's pages both read through these functions.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.errors import NotFound
from projections.audit import AuditFilter, AuditRow
from projections.backends import ViewBackend
from projections.lineage import LineageNode, NodeKind
from services.bootstrap import Container
from services.usecases.reads import known_tenant

PAGE_DEFAULT = 100
PAGE_MAX = 500
# The exports read the trail in pages of this many rows, one page at a time.
EXPORT_PAGE = 500
LINEAGE_DEPTH = 20


class FilterRefused(ValueError):
    """A filter that cannot be asked: `detail` says why, `problems` name each field (`key`,
    `source`, `message`), as the adapters report them."""

    def __init__(self, detail: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = problems


class AuditPage(msgspec.Struct, frozen=True):
    """A page of the audit trail. `next_after` is the `after` of the next page; null on the last."""

    items: list[AuditRow]
    next_after: int | None


class LineageNodeOut(msgspec.Struct, frozen=True):
    """One step of a lineage: a rating, card, card answer, dialogue, agreement, proposal,
    decision or check-in; who recorded it under which role, when it happened, and its causes
    (`parents`, as node ids)."""

    node_id: str
    kind: str
    entity_id: str
    engagement_id: UUID
    label: str
    actor_id: UUID
    actor_role: str
    occurred_at: datetime
    position: int
    parents: list[str]


class LineageEdge(msgspec.Struct, frozen=True):
    """`child` was caused by `parent` (both node ids)."""

    child: str
    parent: str


class Lineage(msgspec.Struct, frozen=True):
    """A node with its ancestors (what led to it, nearest first) and its descendants (what came
    of it, nearest first), and every cause link walked either way."""

    node: LineageNodeOut
    ancestors: list[LineageNodeOut]
    descendants: list[LineageNodeOut]
    edges: list[LineageEdge]


EVENT_TYPE_NAME = re.compile(r"[A-Za-z]{1,80}")


def _representable(moment: datetime) -> bool:
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return False
    return True


def audit_filter(
    *,
    aggregate_id: UUID | None,
    aggregate_type: str | None,
    actor_id: UUID | None,
    event_type: list[str] | None,
    occurred_from: datetime | None,
    occurred_to: datetime | None,
    recorded_from: datetime | None,
    recorded_to: datetime | None,
) -> AuditFilter:
    """The filter asked for; `FilterRefused` naming each time given without a zone or out of
    range, and event types that are no event names."""
    moments = {
        "occurred_from": occurred_from,
        "occurred_to": occurred_to,
        "recorded_from": recorded_from,
        "recorded_to": recorded_to,
    }
    naive = [name for name, moment in moments.items() if moment is not None and moment.tzinfo is None]
    if naive:
        raise FilterRefused(
            f"{', '.join(naive)} need{'s' if len(naive) == 1 else ''} a time zone",
            [{"key": name, "source": "query", "message": "add a time zone, e.g. Z"} for name in naive],
        )
    outside = [name for name, moment in moments.items() if moment is not None and not _representable(moment)]
    if outside:
        raise FilterRefused(
            "times must lie between the years 1 and 9999 in UTC",
            [{"key": name, "source": "query", "message": "out of range"} for name in outside],
        )
    types = tuple(
        dict.fromkeys(part.strip() for value in event_type or () for part in value.split(",") if part.strip())
    )
    if any(not EVENT_TYPE_NAME.fullmatch(t) for t in types):
        raise FilterRefused(
            "event_type names events, e.g. DanceCardSent",
            [{"key": "event_type", "source": "query", "message": "letters only, e.g. DanceCardSent"}],
        )
    return AuditFilter(
        aggregate_id=aggregate_id,
        aggregate_type=aggregate_type,
        actor_id=actor_id,
        event_types=types,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        recorded_from=recorded_from,
        recorded_to=recorded_to,
    )


async def trail_in_pages(
    views: ViewBackend, tenant_id: UUID, filters: AuditFilter
) -> AsyncIterator[list[AuditRow]]:
    """The whole trail `filters` select, a page at a time, each page read when it is wanted."""
    after: int | None = None
    while True:
        page = await views.audit(tenant_id, filters, after, EXPORT_PAGE)
        if page:
            yield page
        if len(page) < EXPORT_PAGE:
            return
        after = page[-1].position


def _node_out(node: LineageNode) -> LineageNodeOut:
    return LineageNodeOut(
        node_id=node.node_id,
        kind=node.kind,
        entity_id=node.node_id.partition(":")[2],
        engagement_id=node.engagement_id,
        label=node.label,
        actor_id=node.actor_id,
        actor_role=node.actor_role,
        occurred_at=node.occurred_at,
        position=node.position,
        parents=node.parents,
    )


def _reached(start: str, links: list[tuple[str, str]], forwards: bool) -> list[str]:
    """The node ids the links reach from `start`, nearest first (the links come nearest first)."""
    ids = [child if forwards else parent for child, parent in links]
    return [node_id for node_id in dict.fromkeys(ids) if node_id != start]


async def audit_page(
    container: Container, tenant_id: UUID, filters: AuditFilter, after: int | None, limit: int
) -> AuditPage:
    """One page of the trail `filters` select, after position `after`, once the views have
    caught up; `next_after` is set when more rows follow."""
    await known_tenant(container, tenant_id)
    await container.projections.settle(tenant_id)
    rows = await container.views.audit(tenant_id, filters, after, limit + 1)
    more = len(rows) > limit
    items = rows[:limit]
    return AuditPage(items=items, next_after=items[-1].position if more else None)


async def lineage_of(
    container: Container, tenant_id: UUID, kind: NodeKind, entity_id: str, depth: int = LINEAGE_DEPTH
) -> Lineage:
    """The lineage of the node `kind:entity_id`, `depth` cause links each way; 404 when the
    lineage holds no such node."""
    node_id = f"{kind.value}:{entity_id}"
    await known_tenant(container, tenant_id)
    await container.projections.settle(tenant_id)
    views = container.views
    found = await views.lineage(tenant_id, [node_id])
    if not found:
        raise NotFound("no_lineage_node", kind=kind.value, entity=entity_id)
    up = await views.lineage_ancestors(tenant_id, node_id, depth)
    down = await views.lineage_descendants(tenant_id, node_id, depth)
    ancestor_ids = _reached(node_id, up, forwards=False)
    descendant_ids = _reached(node_id, down, forwards=True)
    nodes = {n.node_id: n for n in await views.lineage(tenant_id, ancestor_ids + descendant_ids)}
    return Lineage(
        node=_node_out(found[0]),
        ancestors=[_node_out(nodes[i]) for i in ancestor_ids if i in nodes],
        descendants=[_node_out(nodes[i]) for i in descendant_ids if i in nodes],
        edges=[LineageEdge(child, parent) for child, parent in dict.fromkeys(up + down)],
    )
