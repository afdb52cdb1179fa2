"""Join codes: how participants without an account act as one unit of one engagement.

A facilitator issues a code per unit table. The store keeps only a keyed digest of the code
(the aggregate's id derives from it), never the code itself, so a leaked store hands out no
usable codes. A code stops working when it expires (with its theme day) or is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvariantViolated
from domain.provenance import Provenance

JOIN_CODE_NAMESPACE = UUID("2e9d4b61-7c3a-5f08-b1e2-6a4c8d0f3b57")
JOIN_CODE_ROSTER_NAMESPACE = UUID("8a1f3c5e-0d2b-5e7a-9c4f-1b3d5e7a9c02")


class JoinCode(Aggregate):
    """One join code: which unit of which engagement its holders act as, and until when."""

    tenant_id: UUID
    engagement_id: UUID
    unit_id: UUID
    digest: str
    expires_at: datetime
    revoked_at: datetime | None

    @staticmethod
    def create_id(digest: str) -> UUID:
        return uuid5(JOIN_CODE_NAMESPACE, digest)

    @classmethod
    def issue(
        cls,
        tenant_id: UUID,
        engagement_id: UUID,
        unit_id: UUID,
        digest: str,
        expires_at: datetime,
        provenance: Provenance,
    ) -> JoinCode:
        if expires_at.tzinfo is None:
            raise InvariantViolated("join_code_expiry_without_zone")
        if expires_at <= provenance.recorded_at:
            raise InvariantViolated("join_code_expired_at_issue", state=f"expires {expires_at.isoformat()}")
        return cls(
            tenant_id=tenant_id,
            engagement_id=engagement_id,
            unit_id=unit_id,
            digest=digest,
            expires_at=expires_at,
            provenance=provenance,
        )

    @event("Issued")
    def __init__(
        self,
        tenant_id: UUID,
        engagement_id: UUID,
        unit_id: UUID,
        digest: str,
        expires_at: datetime,
        provenance: Provenance,
    ) -> None:
        self.tenant_id = tenant_id
        self.engagement_id = engagement_id
        self.unit_id = unit_id
        self.digest = digest
        self.expires_at = expires_at
        self.revoked_at = None

    def usable_at(self, moment: datetime) -> bool:
        """Whether the code lets its holders in at `moment`: not revoked and not expired."""
        return self.revoked_at is None and moment < self.expires_at

    def revoke(self, provenance: Provenance) -> None:
        if self.revoked_at is not None:
            return
        self._revoked(provenance=provenance)

    @event("Revoked")
    def _revoked(self, provenance: Provenance) -> None:
        self.revoked_at = provenance.recorded_at


@dataclass(frozen=True)
class RosterEntry:
    code_id: UUID
    unit_id: UUID


class JoinCodeRoster(Aggregate):
    """Every join code issued for one engagement, so a facilitator can list and revoke them."""

    tenant_id: UUID
    engagement_id: UUID
    entries: tuple[RosterEntry, ...]

    @staticmethod
    def create_id(tenant_id: UUID, engagement_id: UUID) -> UUID:
        return uuid5(JOIN_CODE_ROSTER_NAMESPACE, f"{tenant_id}/{engagement_id}")

    @classmethod
    def open(cls, tenant_id: UUID, engagement_id: UUID, provenance: Provenance) -> JoinCodeRoster:
        return cls(tenant_id=tenant_id, engagement_id=engagement_id, provenance=provenance)

    @event("Opened")
    def __init__(self, tenant_id: UUID, engagement_id: UUID, provenance: Provenance) -> None:
        self.tenant_id = tenant_id
        self.engagement_id = engagement_id
        self.entries = ()

    def add(self, code: JoinCode, provenance: Provenance) -> None:
        if (code.tenant_id, code.engagement_id) != (self.tenant_id, self.engagement_id):
            raise InvariantViolated("join_code_other_engagement")
        self._added(entry=RosterEntry(code.id, code.unit_id), provenance=provenance)

    @event("CodeAdded")
    def _added(self, entry: RosterEntry, provenance: Provenance) -> None:
        self.entries = (*self.entries, entry)

    def codes_of(self, unit_id: UUID) -> tuple[UUID, ...]:
        return tuple(e.code_id for e in self.entries if e.unit_id == unit_id)
