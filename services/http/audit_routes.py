"""The audit trail and decision lineage, for auditors and everyone else who may read a tenant.

The trail is one row per event: who did what under which role, when it happened and when it
was recorded, on which command, caused by what. It pages by position (keyset: pass the
`next_after` of one page as `after` for the next) and exports whole as CSV or JSON lines.
Lineage follows the recorded causes from a decision back to the ratings that motivated it,
and from a rating on to what came of it. Read from the projections, never from the events.
The auditor's pages (services/web/audit_pages.py) read through the same functions.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.exceptions import ValidationException
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from domain.errors import NotFound
from projections.audit import AuditFilter, AuditRow
from projections.backends import ViewBackend
from projections.lineage import LineageNode, NodeKind
from services.access import AUDIT
from services.http.problems import QUERY_ERRORS
from services.http.reads import known_tenant

Req = Request[Any, Any, Any]
READ_ERRORS = QUERY_ERRORS
PAGE_DEFAULT = 100
PAGE_MAX = 500
# The exports read the trail in pages of this many rows, one page at a time.
EXPORT_PAGE = 500
LINEAGE_DEPTH = 20
CSV_COLUMNS = (
    "position",
    "aggregate_id",
    "aggregate_type",
    "version",
    "event_type",
    "actor_id",
    "actor_role",
    "occurred_at",
    "recorded_at",
    "command_name",
    "command_id",
    "correlation_id",
    "caused_by",
    "details",
)

_jsonl = msgspec.json.Encoder()


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


AGGREGATE_ID = "Only events of this aggregate (an engagement, the organisation, ...)."
AGGREGATE_TYPE = "Only events of aggregates of this type, e.g. `Engagement` or `Organisation`."
ACTOR_ID = "Only events recorded by this user."
EVENT_TYPE = (
    "Only events of this type, e.g. `RatingSubmitted`; repeat the parameter (or separate with "
    "commas) for several."
)
TIME = "ISO 8601 with a time zone."
AFTER = "The `next_after` of the previous page: rows after this position. From the start when absent."

AggregateId = Annotated[UUID | None, QueryParameter(description=AGGREGATE_ID)]
AggregateType = Annotated[str | None, QueryParameter(description=AGGREGATE_TYPE, min_length=1)]
ActorId = Annotated[UUID | None, QueryParameter(description=ACTOR_ID)]
EventType = Annotated[list[str] | None, QueryParameter(description=EVENT_TYPE)]
OccurredFrom = Annotated[
    datetime | None, QueryParameter(description=f"Events that happened at or after this moment. {TIME}")
]
OccurredTo = Annotated[
    datetime | None, QueryParameter(description=f"Events that happened before this moment. {TIME}")
]
RecordedFrom = Annotated[
    datetime | None, QueryParameter(description=f"Events recorded at or after this moment. {TIME}")
]
RecordedTo = Annotated[
    datetime | None, QueryParameter(description=f"Events recorded before this moment. {TIME}")
]
After = Annotated[int | None, QueryParameter(description=AFTER, ge=0, le=2**63 - 1)]
Limit = Annotated[int, QueryParameter(description="Rows per page.", ge=1, le=PAGE_MAX)]
Depth = Annotated[
    int, QueryParameter(description="How many cause links to follow each way.", ge=1, le=LINEAGE_DEPTH)
]


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
    """The filter the query parameters ask for; 400 naming each time given without a zone."""
    moments = {
        "occurred_from": occurred_from,
        "occurred_to": occurred_to,
        "recorded_from": recorded_from,
        "recorded_to": recorded_to,
    }
    naive = [name for name, moment in moments.items() if moment is not None and moment.tzinfo is None]
    if naive:
        raise ValidationException(
            f"{', '.join(naive)} need{'s' if len(naive) == 1 else ''} a time zone",
            extra=[{"key": name, "source": "query", "message": "add a time zone, e.g. Z"} for name in naive],
        )
    outside = [name for name, moment in moments.items() if moment is not None and not _representable(moment)]
    if outside:
        raise ValidationException(
            "times must lie between the years 1 and 9999 in UTC",
            extra=[{"key": name, "source": "query", "message": "out of range"} for name in outside],
        )
    types = tuple(
        dict.fromkeys(part.strip() for value in event_type or () for part in value.split(",") if part.strip())
    )
    if any(not EVENT_TYPE_NAME.fullmatch(t) for t in types):
        raise ValidationException(
            "event_type names events, e.g. DanceCardSent",
            extra=[{"key": "event_type", "source": "query", "message": "letters only, e.g. DanceCardSent"}],
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


def _csv_line(row: AuditRow) -> list[str]:
    return [
        str(row.position),
        str(row.aggregate_id),
        row.aggregate_type,
        str(row.version),
        row.event_type,
        str(row.actor_id),
        row.actor_role,
        row.occurred_at.isoformat(),
        row.recorded_at.isoformat(),
        row.command_name,
        str(row.command_id),
        row.correlation_id,
        " ".join(row.caused_by),
        bytes(row.details).decode(),
    ]


async def _csv(pages: AsyncIterator[list[AuditRow]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue().encode()
    async for page in pages:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_csv_line(row) for row in page)
        yield buffer.getvalue().encode()


async def _jsonlines(pages: AsyncIterator[list[AuditRow]]) -> AsyncIterator[bytes]:
    async for page in pages:
        yield b"".join(_jsonl.encode(row) + b"\n" for row in page)


async def _export(
    request: Req,
    tenant_id: UUID,
    filters: AuditFilter,
    encode: Callable[[AsyncIterator[list[AuditRow]]], AsyncIterator[bytes]],
    media_type: str,
    extension: str,
) -> Stream:
    """The whole trail `filters` select, once the views have caught up, streamed page by page
    as `encode` writes it, as a download named `audit-<tenant id>.<extension>`."""
    container = await known_tenant(request, tenant_id)
    await container.projections.settle(tenant_id)
    return Stream(
        encode(trail_in_pages(container.views, tenant_id, filters)),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="audit-{tenant_id}.{extension}"'},
    )


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
    request: Req, tenant_id: UUID, filters: AuditFilter, after: int | None, limit: int
) -> AuditPage:
    """One page of the trail `filters` select, after position `after`, once the views have
    caught up; `next_after` is set when more rows follow."""
    container = await known_tenant(request, tenant_id)
    await container.projections.settle(tenant_id)
    rows = await container.views.audit(tenant_id, filters, after, limit + 1)
    more = len(rows) > limit
    items = rows[:limit]
    return AuditPage(items=items, next_after=items[-1].position if more else None)


async def lineage_of(
    request: Req, tenant_id: UUID, kind: NodeKind, entity_id: str, depth: int = LINEAGE_DEPTH
) -> Lineage:
    """The lineage of the node `kind:entity_id`, `depth` cause links each way; 404 when the
    lineage holds no such node."""
    node_id = f"{kind.value}:{entity_id}"
    container = await known_tenant(request, tenant_id)
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


class AuditController(Controller):
    path = "/api/v1/tenants/{tenant_id:uuid}"
    tags = ["audit"]

    @get("/audit", opt=AUDIT.opt(), responses=READ_ERRORS)
    async def audit(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        aggregate_id: AggregateId = None,
        aggregate_type: AggregateType = None,
        actor_id: ActorId = None,
        event_type: EventType = None,
        occurred_from: OccurredFrom = None,
        occurred_to: OccurredTo = None,
        recorded_from: RecordedFrom = None,
        recorded_to: RecordedTo = None,
        after: After = None,
        limit: Limit = PAGE_DEFAULT,
    ) -> AuditPage:
        """The audit trail: one row per event, in the order recorded — the aggregate and its
        version, the event type, who acted under which role, when it happened (`occurred_at`,
        which a command may date back) and when it was recorded, the command, the correlation
        id, what caused it (`kind:id`) and the event's own fields (`details`). Every filter given
        must hold. Page on with `after` = `next_after` until it is null."""
        filters = audit_filter(
            aggregate_id=aggregate_id,
            aggregate_type=aggregate_type,
            actor_id=actor_id,
            event_type=event_type,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
            recorded_from=recorded_from,
            recorded_to=recorded_to,
        )
        return await audit_page(request, tenant_id, filters, after, limit)

    @get("/audit/export.csv", opt=AUDIT.opt(), responses=READ_ERRORS, media_type="text/csv")
    async def export_csv(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        aggregate_id: AggregateId = None,
        aggregate_type: AggregateType = None,
        actor_id: ActorId = None,
        event_type: EventType = None,
        occurred_from: OccurredFrom = None,
        occurred_to: OccurredTo = None,
        recorded_from: RecordedFrom = None,
        recorded_to: RecordedTo = None,
    ) -> Stream:
        """The whole audit trail the filters select as CSV (UTF-8, a header row, the columns of
        the JSON rows; `caused_by` space-separated, `details` as JSON), streamed as it is read."""
        filters = audit_filter(
            aggregate_id=aggregate_id,
            aggregate_type=aggregate_type,
            actor_id=actor_id,
            event_type=event_type,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
            recorded_from=recorded_from,
            recorded_to=recorded_to,
        )
        return await _export(request, tenant_id, filters, _csv, "text/csv; charset=utf-8", "csv")

    @get(
        "/audit/export.jsonl",
        opt=AUDIT.opt(),
        responses=READ_ERRORS,
        media_type="application/jsonl",
    )
    async def export_jsonl(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        aggregate_id: AggregateId = None,
        aggregate_type: AggregateType = None,
        actor_id: ActorId = None,
        event_type: EventType = None,
        occurred_from: OccurredFrom = None,
        occurred_to: OccurredTo = None,
        recorded_from: RecordedFrom = None,
        recorded_to: RecordedTo = None,
    ) -> Stream:
        """The whole audit trail the filters select as JSON lines: one row per line, exactly as
        the items of `GET /audit`, streamed as it is read."""
        filters = audit_filter(
            aggregate_id=aggregate_id,
            aggregate_type=aggregate_type,
            actor_id=actor_id,
            event_type=event_type,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
            recorded_from=recorded_from,
            recorded_to=recorded_to,
        )
        return await _export(request, tenant_id, filters, _jsonlines, "application/jsonl", "jsonl")

    @get("/lineage/{kind:str}/{entity_id:str}", opt=AUDIT.opt(), responses=READ_ERRORS)
    async def lineage(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        kind: FromPath[NodeKind],
        entity_id: FromPath[str],
        depth: Depth = LINEAGE_DEPTH,
    ) -> Lineage:
        """The lineage of one node: back from a decision, agreement, proposal, dialogue, card
        answer or card to the ratings that motivated it (ancestors), and on from a rating or any
        other node to what came of it (descendants) — each with who recorded it under which
        role and when it happened — and the cause links between them.

        `entity_id` is the entity's id; for a decision it is `<agreement or proposal id>:<the
        engagement version that recorded it>`, for a card answer `<card id>:accepted` or
        `<card id>:declined`, as in the node ids the lineage returns."""
        return await lineage_of(request, tenant_id, kind, entity_id, depth)
