"""The tenant's hash chain for auditors: verify it, or export it to verify offline.

Each event's digest covers its stored form and the digest before it (projections/chain.py);
the projector records the digests beside the views and the control plane anchors the head
now and then. `verify` recomputes the chain from the event store and names the first event
that does not match; the export carries every chained event with its digest, and the anchors,
for deploy/tools/verify_audit_export.py (standard library only). See docs/audit-verification.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import Stream

from projections.verify import Verdict
from services.access import AUDIT
from services.bootstrap import Container
from services.readmodel.verify import chain_export, verify_then_catch_up
from services.requests.problems import QUERY_ERRORS
from services.requests.reads import known_tenant

Req = Request[Any, Any, Any]
READ_ERRORS = QUERY_ERRORS


async def _pages(container: Container, tenant_id: UUID) -> AsyncIterator[bytes]:
    pages: Iterator[bytes] = await container.offloop(chain_export, container, tenant_id)
    while True:
        page = await container.offloop(next, pages, b"")
        if not page:
            return
        yield page


class ChainController(Controller):
    path = "/api/v1/tenants/{tenant_id:uuid}/audit"
    tags = ["audit"]

    @get("/verify", opt=AUDIT.opt(), responses=READ_ERRORS)
    async def verify(self, request: Req, tenant_id: FromPath[UUID]) -> Verdict:
        """Recomputes the tenant's hash chain from its stored events and compares it with the
        recorded digests and the heads anchored in the control plane. `intact` says whether it
        matched; otherwise `first_bad` names the first position that does not, and why:
        `altered` (the event differs from its digest; a reorder shows as altered positions),
        `missing` (a chained event row is gone), `unexpected` (a row inside the chained range
        has no digest: inserted) or `anchor` (events and digests were rewritten together; the
        change lies after `after_anchor`). An intact chain's head is anchored."""
        container = await known_tenant(request, tenant_id)
        # Every event is checked before the views catch up (and chain what they had not reached).
        return await container.offloop(verify_then_catch_up, container, tenant_id)

    @get(
        "/export/chain.jsonl",
        opt=AUDIT.opt(),
        responses=READ_ERRORS,
        media_type="application/jsonl",
    )
    async def export_chain(self, request: Req, tenant_id: FromPath[UUID]) -> Stream:
        """Every chained event as stored, one per line — `position`, `originator_id`,
        `originator_version`, `topic`, `state_b64` (the stored state, base64) and `digest`
        (hex) — then a last line with `tenant_id` and the anchored heads (`anchors`: position,
        digest, at). Verify it offline with deploy/tools/verify_audit_export.py."""
        container = await known_tenant(request, tenant_id)
        # Chains whatever the projector has not reached yet, so the whole log is covered.
        await container.offloop(container.projections.catch_up_now, tenant_id)
        return Stream(
            _pages(container, tenant_id),
            media_type="application/jsonl",
            headers={"Content-Disposition": f'attachment; filename="chain-{tenant_id}.jsonl"'},
        )
