"""The projector's logic, written once: a batch of a tenant's events → the document, audit and
lineage changes to commit together with the new position. No I/O here; stores do that."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper

from projections.audit import AuditRow, audit_row
from projections.folds import EngagementFold, OrganisationFold
from projections.lineage import LineageNode, lineage_nodes

ORGANISATION = "organisation"
ENGAGEMENT = "engagement"

_body_encoder = msgspec.json.Encoder()


class Recorded(msgspec.Struct, frozen=True):
    """One event of a tenant's log and its position (notification id) in it."""

    position: int
    event: Any


class Document(msgspec.Struct, frozen=True):
    """A read-model document: `body` is the JSON queries return, `state` what the fold resumes from."""

    key: str
    kind: str
    aggregate_id: UUID
    state: bytes
    body: bytes
    position: int


class Batch(msgspec.Struct):
    """Everything one batch changes; a store commits it in one transaction with `position`."""

    after: int
    position: int
    documents: list[Document]
    audit: list[AuditRow]
    lineage: list[LineageNode]


def document_key(event: Any) -> tuple[str, str] | None:
    aggregate = type(event).__qualname__.partition(".")[0]
    if aggregate == "Engagement":
        return f"{ENGAGEMENT}:{event.originator_id}", ENGAGEMENT
    if aggregate == "Organisation":
        return f"{ORGANISATION}:{event.originator_id}", ORGANISATION
    return None


def keys_touched(records: Iterable[Recorded]) -> set[str]:
    return {key[0] for r in records if (key := document_key(r.event)) is not None}


def project(
    after: int, records: Sequence[Recorded], states: Mapping[str, bytes], mapper: Mapper[UUID]
) -> Batch:
    """Apply `records` (positions after `after`, in order) to the documents whose persisted
    states are given; returns the batch to commit."""
    folds: dict[str, tuple[str, UUID, EngagementFold | OrganisationFold, int]] = {}
    audit: list[AuditRow] = []
    lineage: list[LineageNode] = []
    position = after
    for record in records:
        position = record.position
        event = record.event
        audit.append(audit_row(record.position, event))
        lineage.extend(lineage_nodes(record.position, event))
        found = document_key(event)
        if found is None:
            continue
        key, kind = found
        if key not in folds:
            folds[key] = (
                kind,
                event.originator_id,
                _restore(kind, states.get(key), event.originator_id, mapper),
                0,
            )
        kind, aggregate_id, fold, _ = folds[key]
        fold.apply(event)
        folds[key] = (kind, aggregate_id, fold, record.position)
    documents = [
        Document(key, kind, aggregate_id, fold.dump(mapper), _body_encoder.encode(fold.render()), at)
        for key, (kind, aggregate_id, fold, at) in folds.items()
    ]
    return Batch(after, position, documents, audit, lineage)


def _restore(
    kind: str, state: bytes | None, aggregate_id: UUID, mapper: Mapper[UUID]
) -> EngagementFold | OrganisationFold:
    if kind == ENGAGEMENT:
        return EngagementFold() if state is None else EngagementFold.load(state, aggregate_id, mapper)
    return OrganisationFold() if state is None else OrganisationFold.load(state, aggregate_id, mapper)


class EventSource(Protocol):
    """A tenant's notification log, read in order after a position."""

    def read(self, after: int, limit: int) -> list[Recorded]: ...


class ViewStore(Protocol):
    """Where a tenant's read models live. `commit` writes a batch and its position in one
    transaction, and refuses (raises `PositionMoved`) unless the stored position is `batch.after`."""

    def position(self) -> int: ...

    def states(self, keys: Iterable[str]) -> dict[str, bytes]: ...

    def commit(self, batch: Batch) -> None: ...


class PositionMoved(RuntimeError):
    """Another worker committed these events first; the batch is dropped, nothing is applied twice."""


def catch_up(
    source: EventSource,
    store: ViewStore,
    mapper: Mapper[UUID],
    batch_size: int = 500,
    changed: set[str] | None = None,
) -> int:
    """Bring the store up to the end of the log; returns how many events were applied and adds
    the keys of the documents it changed to `changed`."""
    applied = 0
    while True:
        after = store.position()
        records = source.read(after, batch_size)
        if not records:
            return applied
        batch = project(after, records, store.states(keys_touched(records)), mapper)
        store.commit(batch)
        applied += len(records)
        if changed is not None:
            changed.update(d.key for d in batch.documents)
