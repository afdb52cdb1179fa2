"""Anchors of a tenant's hash chain, kept in the control plane, out of the tenant's own store.

A tenant's events form a hash chain (projections/chain.py) recorded beside its read models.
Whoever can rewrite the tenant's store could rewrite the events and their chain together;
the chain heads recorded here, in another store, are what such a rewrite no longer matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvariantViolated
from domain.provenance import Provenance

CHAIN_ANCHOR_NAMESPACE = UUID("5c0f6a1e-2b7d-5c93-9e4a-1d8b3f6c7a20")
DIGEST_HEX_LENGTH = 64


@dataclass(frozen=True)
class ChainAnchor:
    """The chain's digest (hex) at `position`, as recorded at `at`."""

    position: int
    digest: str
    at: datetime


def _checked_digest(digest: str) -> str:
    digest = digest.lower()
    if len(digest) != DIGEST_HEX_LENGTH or any(c not in "0123456789abcdef" for c in digest):
        raise InvariantViolated("digest_invalid", length=DIGEST_HEX_LENGTH, digest=digest)
    return digest


class ChainAnchors(Aggregate):
    """Every chain head recorded for one tenant, in position order.

    A head at a position already anchored must carry the same digest: two digests for one
    position mean the tenant's events changed after the first was recorded.
    """

    tenant_id: UUID
    anchors: tuple[ChainAnchor, ...]

    @staticmethod
    def create_id(tenant_id: UUID) -> UUID:
        return uuid5(CHAIN_ANCHOR_NAMESPACE, str(tenant_id))

    @classmethod
    def open(cls, tenant_id: UUID, provenance: Provenance) -> ChainAnchors:
        return cls(tenant_id=tenant_id, provenance=provenance)

    @event("Opened")
    def __init__(self, tenant_id: UUID, provenance: Provenance) -> None:
        self.tenant_id = tenant_id
        self.anchors = ()

    def at_position(self, position: int) -> ChainAnchor | None:
        for anchor in self.anchors:
            if anchor.position == position:
                return anchor
        return None

    def record(self, position: int, digest: str, provenance: Provenance) -> bool:
        """Anchors the chain head; False when there is nothing new (a head at or before the
        last one anchored). Raises InvariantViolated for a different digest at an anchored position."""
        if position < 1:
            raise InvariantViolated("chain_position_invalid", position=position)
        digest = _checked_digest(digest)
        known = self.at_position(position)
        if known is not None:
            if known.digest != digest:
                raise InvariantViolated(
                    "chain_head_reanchored",
                    position=position,
                    state=f"anchored {known.digest} at {known.at.isoformat()}",
                )
            return False
        if self.anchors and position < self.anchors[-1].position:
            return False
        self._recorded(position=position, digest=digest, provenance=provenance)
        return True

    @event("HeadRecorded")
    def _recorded(self, position: int, digest: str, provenance: Provenance) -> None:
        self.anchors = (*self.anchors, ChainAnchor(position, digest, provenance.recorded_at))
