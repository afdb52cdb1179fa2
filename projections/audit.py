"""The audit trail: one row per event — who did what, when it happened, when it was recorded,
on whose authority, caused by what."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.provenance import Provenance

# Fields every event carries that the row shows in columns of their own.
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic", "provenance"}
_details_encoder = msgspec.json.Encoder()


class AuditRow(msgspec.Struct, frozen=True):
    position: int
    aggregate_id: UUID
    aggregate_type: str
    version: int
    event_type: str
    actor_id: UUID
    actor_role: str
    occurred_at: datetime
    recorded_at: datetime
    command_name: str
    command_id: UUID
    correlation_id: str
    caused_by: list[str]
    details: msgspec.Raw


def audit_row(position: int, event: Any) -> AuditRow:
    provenance: Provenance = event.provenance
    aggregate_type, _, event_type = type(event).__qualname__.rpartition(".")
    details = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
    return AuditRow(
        position=position,
        aggregate_id=event.originator_id,
        aggregate_type=aggregate_type,
        version=event.originator_version,
        event_type=event_type,
        actor_id=provenance.actor_id,
        actor_role=provenance.actor_role.value,
        occurred_at=provenance.occurred_at,
        recorded_at=provenance.recorded_at,
        command_name=provenance.command_name,
        command_id=provenance.command_id,
        correlation_id=provenance.correlation_id,
        caused_by=[f"{c.kind}:{c.id}" for c in provenance.caused_by],
        details=msgspec.Raw(_details_encoder.encode(details)),
    )
