"""The read model decodes an event at its position through the mapper's own positional decode
when it has one (the legacy watermark applies there), else as the library does."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from eventsourcing.persistence import StoredEvent

from projections.decoding import decode_at


class _Plain:
    def to_domain_event(self, stored: StoredEvent) -> Any:
        return ("plain", stored.originator_version)


class _Positional(_Plain):
    def to_domain_event_at(self, position: int, stored: StoredEvent) -> Any:
        return ("at", position, stored.originator_version)


STORED = StoredEvent(uuid4(), 3, "topic", b"state")


def test_a_mapper_that_decodes_at_a_position_is_given_the_position() -> None:
    assert decode_at(_Positional(), 42, STORED) == ("at", 42, 3)  # type: ignore[arg-type]


def test_a_mapper_without_a_positional_decode_decodes_as_the_library_does() -> None:
    assert decode_at(_Plain(), 42, STORED) == ("plain", 3)  # type: ignore[arg-type]
