"""Anchoring a tenant's hash-chain head in the control plane, outside the tenant's own store
(docs/audit-verification.md): the projectors hand this to the read model as its `Anchor`."""

from __future__ import annotations

from uuid import UUID

from services.controlplane import ControlPlane, system_provenance


def anchor_head(control: ControlPlane, tenant_id: UUID, position: int, digest: bytes) -> bool:
    """Anchors a tenant's chain head in the control plane as the platform."""
    provenance = system_provenance("AnchorChainHead", tenant_id=tenant_id)
    return bool(control.record_chain_head(tenant_id, position, digest.hex(), provenance))
