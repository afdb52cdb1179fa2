"""Decoding the event at a position of a tenant's log.

A tenant's stored states are sealed to their event's identity (services/persistence/binding.py,
docs/adr/0019); states written before binding existed are accepted only at positions up to the
tenant's legacy watermark. So a reader that knows an event's position hands it to the mapper,
and a state found unbound after the watermark is named as such: the chain's verification
reports it as a state copied from another row (projections/verify.py).
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent


class UnboundCiphertext(MapperDeserialisationError):
    """A stored state encrypted without its event's identity where only bound ones are
    accepted: after the tenant's legacy events, so copied there from another row."""


def decode_at(mapper: Mapper[UUID], position: int, stored: StoredEvent) -> DomainEventProtocol[UUID]:
    """The event at `position` of a tenant's log, decoded by `mapper`. A mapper with
    `to_domain_event_at` (services/persistence/binding.py's `BoundMapper`) applies the legacy
    watermark to the position. Asked by attribute, not by a runtime protocol check: this runs
    for every event projected, and the attribute costs a fraction of one."""
    at_position = getattr(mapper, "to_domain_event_at", None)
    if at_position is not None:
        decoded: DomainEventProtocol[UUID] = at_position(position, stored)
        return decoded
    return mapper.to_domain_event(stored)
