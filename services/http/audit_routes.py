"""The audit trail and decision lineage, for auditors and everyone else who may read a tenant.

The trail is one row per event: who did what under which role, when it happened and when it
was recorded, on which command, caused by what. It pages by position (keyset: pass the
`next_after` of one page as `after` for the next) and exports whole as CSV or JSON lines.
Lineage follows the recorded causes from a decision back to the ratings that motivated it,
and from a rating on to what came of it. Read from the projections, never from the events.
The auditor's pages (services/web/audit/pages.py) read through the same functions.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.exceptions import ValidationException
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from projections.audit import AuditFilter, AuditRow
from projections.lineage import NodeKind
from services.access import AUDIT
from services.requests.commands import container_of
from services.requests.problems import QUERY_ERRORS
from services.requests.reads import known_tenant
from services.usecases import audit
from services.usecases.audit import (
    LINEAGE_DEPTH,
    PAGE_DEFAULT,
    PAGE_MAX,
    AuditPage,
    FilterRefused,
    Lineage,
    audit_page,
    lineage_of,
    trail_in_pages,
)

Req = Request[Any, Any, Any]
READ_ERRORS = QUERY_ERRORS
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


def audit_filter(**asked: Any) -> AuditFilter:
    """The filter the query parameters ask for; 400 naming each parameter that cannot be asked."""
    try:
        return audit.audit_filter(**asked)
    except FilterRefused as refused:
        raise ValidationException(refused.detail, extra=refused.problems) from None


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
        return await audit_page(container_of(request), tenant_id, filters, after, limit)

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
        return await lineage_of(container_of(request), tenant_id, kind, entity_id, depth)
