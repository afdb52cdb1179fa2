"""A tenant's hash chain verified against its event store and the heads anchored in the control
plane, and its auditor export: the pure verification (projections/verify.py) wired to the
container's view backend and control plane."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError

from domain.chain_anchor import ChainAnchor
from projections.decoding import decode_at
from projections.verify import ChainStore, StoredLog, Verdict, export_lines, verify_log
from services.bootstrap import Container
from services.readmodel.anchors import anchor_head


def _parts(container: Container, tenant_id: UUID) -> tuple[StoredLog, ChainStore]:
    source = container.views.source_for(tenant_id)
    store = container.views.store_for(tenant_id)
    if not isinstance(source, StoredLog) or not isinstance(store, ChainStore):
        raise TypeError("this view backend keeps no hash chain")
    return source, store


def anchors_of(container: Container, tenant_id: UUID) -> list[ChainAnchor]:
    return list(container.control.chain_anchors(tenant_id))


def verify_tenant(container: Container, tenant_id: UUID, *, anchor: bool = True) -> Verdict:
    """Blocking: verifies one tenant's chain; when intact, anchors the verified head in the
    control plane (unless `anchor` is False)."""
    source, store = _parts(container, tenant_id)
    anchors = anchors_of(container, tenant_id)
    mapper = getattr(source, "mapper", None)
    decode = (lambda position, stored: decode_at(mapper, position, stored)) if mapper is not None else None
    verdict = verify_log(
        source, store, [(a.position, bytes.fromhex(a.digest)) for a in anchors], tenant_id, decode
    )
    if anchor and verdict.intact and verdict.verified_to > 0:
        anchor_head(container.control, tenant_id, verdict.verified_to, bytes.fromhex(verdict.digest))
    return verdict


def verify_then_catch_up(container: Container, tenant_id: UUID, *, anchor: bool = True) -> Verdict:
    """Blocking: verifies the tenant's log first, every event up to the end of it decoded, so
    that nothing unchecked is projected or chained; only when that is intact are the views
    caught up, and what the catch-up chained verified (and anchored) in turn."""
    verdict = verify_tenant(container, tenant_id, anchor=anchor)
    if not verdict.intact or verdict.pending == 0:
        return verdict
    # A row written since the check that does not decode stops the catch-up there; verifying
    # again names it.
    with contextlib.suppress(MapperDeserialisationError):
        container.projections.catch_up_now(tenant_id)
    return verify_tenant(container, tenant_id, anchor=anchor)


def chain_export(container: Container, tenant_id: UUID) -> Iterator[bytes]:
    """Blocking iterator: the tenant's auditor export (projections.verify.export_lines)."""
    source, store = _parts(container, tenant_id)
    return export_lines(source, store, anchors_of(container, tenant_id), tenant_id)
