"""The audit trail: one row per event — who did what, when it happened, when it was recorded,
on whose authority, caused by what."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.provenance import Provenance
from domain.ratings import Rating

# Fields every event carries that the row shows in columns of their own.
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic", "provenance"}
_details_encoder = msgspec.json.Encoder()


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which audit rows to read: every given criterion must hold (none given: every row).

    Time ranges include their start and exclude their end."""

    aggregate_id: UUID | None = None
    aggregate_type: str | None = None
    actor_id: UUID | None = None
    event_types: tuple[str, ...] = ()
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None

    def conditions(self) -> list[tuple[str, object]]:
        """The criteria given, as (criterion, value) in a fixed order; each backend turns a
        criterion into its own SQL. `event_types` comes as one criterion with a tuple."""
        given: list[tuple[str, object]] = [
            (name, getattr(self, name))
            for name in (
                "aggregate_id",
                "aggregate_type",
                "actor_id",
                "occurred_from",
                "occurred_to",
                "recorded_from",
                "recorded_to",
            )
            if getattr(self, name) is not None
        ]
        if self.event_types:
            given.append(("event_types", self.event_types))
        return given


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


def _details(event: Any) -> dict[str, Any]:
    details = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
    rating = details.get("rating")
    if isinstance(rating, Rating) and rating.rater is not None:
        # One participant's scores are shown only aggregated over enough raters; the trail
        # records that a rating was given, not what it said or by which pseudonym.
        details["rating"] = {
            "rating_id": rating.rating_id,
            "unit_id": rating.unit_id,
            "counterpart_id": rating.counterpart_id,
            "scores": "withheld: individual rating",
        }
    return details


def audit_row(position: int, event: Any) -> AuditRow:
    provenance: Provenance = event.provenance
    aggregate_type, _, event_type = type(event).__qualname__.rpartition(".")
    details = _details(event)
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
