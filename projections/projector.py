"""The projector's logic, written once: a batch of a tenant's events → the document, audit and
lineage changes to commit together with the new position. No I/O here; stores do that."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

import msgspec
from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import Mapper, StoredEvent

from projections.audit import AuditRow, audit_row
from projections.chain import ChainLink, chain_digest, genesis
from projections.folds import EngagementFold, OrganisationFold
from projections.lineage import LineageNode, lineage_nodes

ORGANISATION = "organisation"
ENGAGEMENT = "engagement"

_body_encoder = msgspec.json.Encoder()


class Recorded(msgspec.Struct, frozen=True):
    """One event of a tenant's log and its position (notification id) in it; `stored` is the
    row as stored (what the hash chain covers), when the source read one."""

    position: int
    event: Any
    stored: StoredEvent | None = None


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
    # Each event's hash-chain digest (projections/chain.py), committed with the views.
    chain: list[ChainLink] = msgspec.field(default_factory=list)


def document_key(event: Any) -> tuple[str, str] | None:
    aggregate = type(event).__qualname__.partition(".")[0]
    if aggregate == "Engagement":
        return f"{ENGAGEMENT}:{event.originator_id}", ENGAGEMENT
    if aggregate == "Organisation":
        return f"{ORGANISATION}:{event.originator_id}", ORGANISATION
    return None


def keys_touched(records: Iterable[Recorded]) -> set[str]:
    return {key[0] for r in records if (key := document_key(r.event)) is not None}


Fold = EngagementFold | OrganisationFold


class KeptFolds:
    """Folds kept in memory between batches, by document key, each with the state it was
    stored as (docs/adr/0034).

    Loading a fold decodes its whole stored state, which grows with the engagement; on a theme
    day the same engagement is projected again every few commands. A batch whose stored state
    is exactly the one a kept fold was stored as takes that fold instead (the state bytes are
    compared, so a fold another process or a rebuild moved on is never used). A fold is taken
    out while its batch is applied and kept again only once the batch has committed, so a fold
    changed by a batch that did not commit is never seen again."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._folds: OrderedDict[str, tuple[bytes, Fold]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, state: bytes | None) -> Fold | None:
        with self._lock:
            kept = self._folds.pop(key, None)
        return kept[1] if kept is not None and state is not None and kept[0] == state else None

    def keep(self, documents: Iterable[Document], folds: Mapping[str, Fold]) -> None:
        with self._lock:
            for document in documents:
                self._folds[document.key] = (document.state, folds[document.key])
                self._folds.move_to_end(document.key)
            while len(self._folds) > self.size:
                self._folds.popitem(last=False)


# The process's kept folds: what `catch_up` uses unless told otherwise.
KEPT_FOLDS = KeptFolds()


def project(
    after: int,
    records: Sequence[Recorded],
    states: Mapping[str, bytes],
    mapper: Mapper[UUID],
    previous_digest: bytes | None = None,
    kept: KeptFolds | None = None,
    applied_to: dict[str, Fold] | None = None,
) -> Batch:
    """Apply `records` (positions after `after`, in order) to the documents whose persisted
    states are given; returns the batch to commit. Given the chain digest of the event at
    `after` (or the tenant's genesis digest), the batch also carries each record's chain link;
    records read without their stored form are not chained. Folds are taken from `kept` where
    it holds them as stored; the folds applied to are put in `applied_to`."""
    folds: dict[str, tuple[str, UUID, Fold, int]] = {}
    audit: list[AuditRow] = []
    lineage: list[LineageNode] = []
    chain: list[ChainLink] = []
    digest = previous_digest
    position = after
    for record in records:
        position = record.position
        event = record.event
        if digest is not None and record.stored is not None:
            digest = _link(digest, record.position, record.stored)
            chain.append(ChainLink(record.position, digest))
        audit.append(audit_row(record.position, event))
        lineage.extend(lineage_nodes(record.position, event))
        found = document_key(event)
        if found is None:
            continue
        key, kind = found
        if key not in folds:
            state = states.get(key)
            fold = kept.take(key, state) if kept is not None else None
            if fold is None:
                fold = _restore(kind, state, event.originator_id, mapper)
            folds[key] = (kind, event.originator_id, fold, 0)
        kind, aggregate_id, fold, _ = folds[key]
        fold.apply(event)
        folds[key] = (kind, aggregate_id, fold, record.position)
    documents = [
        Document(key, kind, aggregate_id, fold.dump(mapper), _body_encoder.encode(fold.render()), at)
        for key, (kind, aggregate_id, fold, at) in folds.items()
    ]
    if applied_to is not None:
        applied_to.update((key, fold) for key, (_, _, fold, _) in folds.items())
    return Batch(after, position, documents, audit, lineage, chain)


def _link(previous: bytes, position: int, stored: StoredEvent) -> bytes:
    return chain_digest(
        previous, position, stored.originator_id, stored.originator_version, stored.topic, stored.state
    )


def _restore(kind: str, state: bytes | None, aggregate_id: UUID, mapper: Mapper[UUID]) -> Fold:
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

    def last_digest(self) -> ChainLink | None:
        """The last chain link committed (None before the first)."""
        ...


class PositionMoved(RuntimeError):
    """Another worker committed these events first; the batch is dropped, nothing is applied twice."""


def catch_up(
    source: EventSource,
    store: ViewStore,
    mapper: Mapper[UUID],
    batch_size: int = 500,
    changed: set[str] | None = None,
    kept: KeptFolds | None = KEPT_FOLDS,
) -> int:
    """Bring the store up to the end of the log; returns how many events were applied and adds
    the keys of the documents it changed to `changed`. Folds are kept in `kept` between batches
    (None: every batch loads its folds from their stored states)."""
    applied = 0
    while True:
        after = store.position()
        records = source.read(after, batch_size)
        if not records:
            return applied
        backfill, digest = _chain_start(source, store, after, batch_size, records)
        folds: dict[str, Fold] = {}
        try:
            batch = project(after, records, store.states(keys_touched(records)), mapper, digest, kept, folds)
        except OriginatorVersionError:
            # The documents read were newer than `after`: another worker committed in between.
            if store.position() != after:
                raise PositionMoved(f"the views moved on from position {after}") from None
            raise
        batch.chain[:0] = backfill
        store.commit(batch)
        if kept is not None:
            kept.keep(batch.documents, folds)
        applied += len(records)
        if changed is not None:
            changed.update(d.key for d in batch.documents)


def _chain_start(
    source: EventSource, store: ViewStore, after: int, batch_size: int, records: Sequence[Recorded]
) -> tuple[list[ChainLink], bytes | None]:
    """Where the next batch's chain starts: the digest of the event at `after`, and the links
    of any events up to `after` that are not chained yet (views projected before the chain
    existed, or by a reader without stored rows), to commit with the batch. None when the
    records carry no stored rows."""
    if records[0].stored is None:
        return [], None
    head = store.last_digest()
    at, digest = (head.position, head.digest) if head is not None else (0, genesis(source_tenant(source)))
    links: list[ChainLink] = []
    while at < after:
        older = [r for r in source.read(at, batch_size) if r.position <= after and r.stored is not None]
        if not older:
            break
        for record in older:
            if record.stored is not None:
                digest = _link(digest, record.position, record.stored)
                links.append(ChainLink(record.position, digest))
                at = record.position
    return links, digest


def source_tenant(source: object) -> UUID | None:
    """The tenant whose log `source` reads, when it knows (the backends' sources do)."""
    tenant_id = getattr(source, "tenant_id", None)
    return tenant_id if isinstance(tenant_id, UUID) else None
