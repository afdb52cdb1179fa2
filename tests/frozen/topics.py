"""Every event topic the domain knows: the events of each aggregate of `domain/` (its `@event`
classes, and `Created` where the aggregate has no creation event of its own), found by walking
the package, so that a new event type is known here the moment it is written."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from eventsourcing.domain import Aggregate, AggregateCreated, DomainEvent
from eventsourcing.utils import get_topic

import domain


def domain_aggregates() -> list[type[Aggregate]]:
    """The aggregates of `domain/`, without the bases that only other aggregates extend."""
    found: list[type[Aggregate]] = []
    for module_info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"{domain.__name__}.{module_info.name}")
        found.extend(
            cls
            for cls in vars(module).values()
            if inspect.isclass(cls) and issubclass(cls, Aggregate) and cls.__module__ == module.__name__
        )
    return [cls for cls in found if not any(other is not cls and issubclass(other, cls) for other in found)]


def _events_of(aggregate: type[Aggregate]) -> list[type[DomainEvent]]:
    nested = [
        kind
        for name, kind in vars(aggregate).items()
        if inspect.isclass(kind) and issubclass(kind, DomainEvent) and name != "Event"
    ]
    named_creation = any(issubclass(kind, AggregateCreated) and kind.__name__ != "Created" for kind in nested)
    return [kind for kind in nested if not (kind.__name__ == "Created" and named_creation)]


def domain_event_topics() -> set[str]:
    return {get_topic(kind) for aggregate in domain_aggregates() for kind in _events_of(aggregate)}
