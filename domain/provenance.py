from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from domain.roles import Role


@dataclass(frozen=True)
class Cause:
    """A link in a decision's lineage: the thing (rating, dance card, dialogue, ...) that led here."""

    kind: str
    id: UUID


@dataclass(frozen=True)
class Provenance:
    """Who did what on whose authority, when it happened and when it was recorded, and why.

    Carried by every event. Built outside the domain (the domain reads no clock and no
    request context) and extended by aggregates with the causes they know of.
    """

    actor_id: UUID
    actor_role: Role
    tenant_id: UUID
    occurred_at: datetime
    recorded_at: datetime
    command_id: UUID
    command_name: str
    correlation_id: str
    caused_by: tuple[Cause, ...] = ()

    def because_of(self, *causes: Cause) -> Provenance:
        return replace(self, caused_by=self.caused_by + tuple(c for c in causes if c not in self.caused_by))
