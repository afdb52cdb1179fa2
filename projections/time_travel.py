"""Read models as they stood at a moment, computed from the events up to that moment.

Each aggregate is taken up to (not including) its first event that happened after the moment —
what had happened by then, in the order it was recorded. The same projector code as the live
views, folded in memory: the answer equals a fresh projection of only those events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper

from projections.folds import EngagementFold, OrganisationFold
from projections.projector import ENGAGEMENT, Batch, EventSource, Recorded, document_key, project

PAGE = 1000


def history(source: EventSource) -> Iterator[Recorded]:
    after = 0
    while records := source.read(after, PAGE):
        yield from records
        after = records[-1].position


def prefix(records: Iterator[Recorded], keep: Callable[[Any], bool]) -> list[Recorded]:
    """The records of each aggregate up to its first one that `keep` refuses."""
    stopped: set[UUID] = set()
    kept = []
    for record in records:
        aggregate_id = record.event.originator_id
        if aggregate_id in stopped:
            continue
        if keep(record.event):
            kept.append(record)
        else:
            stopped.add(aggregate_id)
    return kept


def as_of(source: EventSource, mapper: Mapper[UUID], moment: datetime) -> Batch:
    """Every document as it stood at `moment` (by when things happened)."""
    records = prefix(history(source), lambda event: event.provenance.occurred_at <= moment)
    return project(0, records, {}, mapper)


def at_version(source: EventSource, mapper: Mapper[UUID], aggregate_id: UUID, version: int) -> Batch:
    """One aggregate's document as it stood at `version`."""
    records = prefix(
        (r for r in history(source) if r.event.originator_id == aggregate_id),
        lambda event: event.originator_version <= version,
    )
    return project(0, records, {}, mapper)


def documents_at(source: EventSource, keep: Callable[[Any], bool], keys: set[str]) -> dict[str, Any]:
    """Only the documents named by `keys`, as they stood, rendered straight from the fold:
    what a query needs, without the audit rows, lineage and fold states a full batch carries."""
    folds: dict[str, EngagementFold | OrganisationFold] = {}
    for record in prefix(history(source), keep):
        found = document_key(record.event)
        if found is None or found[0] not in keys:
            continue
        key, kind = found
        if key not in folds:
            folds[key] = EngagementFold() if kind == ENGAGEMENT else OrganisationFold()
        folds[key].apply(record.event)
    return {key: fold.render() for key, fold in folds.items()}
